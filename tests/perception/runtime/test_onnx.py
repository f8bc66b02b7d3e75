"""ONNX export and sessions: parity at two shapes, atomic output, providers reported,
and missing or corrupt models refused with what to do."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.runtime import (  # noqa: E402
    PROVIDER_ORDER,
    create_session,
    export_onnx,
)


def small_net():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.GELU(),
                              torch.nn.Conv2d(8, 2, 1)).eval()
    for parameter in net.parameters():  # re-drawn: default init hides parity errors
        torch.nn.init.normal_(parameter, std=0.5)
    return net


def test_an_export_matches_torch_at_two_shapes(tmp_path):
    net = small_net()
    path = export_onnx(net, (torch.randn(2, 3, 16, 16),), tmp_path / "net.onnx",
                       input_names=["x"], output_names=["y"],
                       dynamic_axes={"x": {0: "b", 2: "h", 3: "w"}, "y": {0: "b", 2: "h",
                                                                          3: "w"}})
    session = create_session(path)
    assert session.provider in PROVIDER_ORDER and session.input_names == ["x"]
    for shape in ((1, 3, 20, 24), (3, 3, 9, 31)):
        x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
        with torch.no_grad():
            expected = net(torch.from_numpy(x)).numpy()
        got = session.run({"x": x})["y"]
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()
    assert [p.name for p in tmp_path.iterdir()] == ["net.onnx"]  # no scratch left behind


def test_a_failed_export_leaves_nothing_and_says_so(tmp_path):
    class Unexportable(torch.nn.Module):
        """Stands in for an operator the exporter cannot convert."""

        def forward(self, x):
            if torch.jit.is_tracing():
                raise RuntimeError("Exporting the operator 'aten::mystery' is not supported")
            return x

    with pytest.raises(PerceptionError, match="ONNX export to .* failed"):
        export_onnx(Unexportable(), (torch.randn(1, 3),), tmp_path / "bad.onnx",
                    input_names=["x"], output_names=["y"])
    assert list(tmp_path.iterdir()) == []


def test_missing_and_corrupt_models_say_to_export_again(tmp_path):
    with pytest.raises(PerceptionError, match="spatial-vqa models export"):
        create_session(tmp_path / "none.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage")
    with pytest.raises(PerceptionError, match="cannot be loaded.*export it again"):
        create_session(corrupt)


def test_unavailable_providers_are_refused_by_name(tmp_path):
    path = export_onnx(small_net(), (torch.randn(1, 3, 8, 8),), tmp_path / "n.onnx",
                       input_names=["x"], output_names=["y"])
    with pytest.raises(PerceptionError, match="none of the providers"):
        create_session(path, providers=["NoSuchExecutionProvider"])


def test_weights_past_the_inline_limit_go_to_a_data_file_beside_the_graph(tmp_path,
                                                                        monkeypatch):
    """Depth Pro's 3.8 GB cannot sit in one protobuf: the graph keeps a reference to
    <name>.data (tested with a small limit; the logic is the same at 2 GB)."""
    from spatial_vqa_ros.perception.runtime import onnx as runtime_onnx

    net = small_net()
    x = torch.randn(1, 3, 12, 12)
    monkeypatch.setattr(runtime_onnx, "MAX_INLINE_BYTES", 100)
    path = export_onnx(net, (x,), tmp_path / "net.onnx", input_names=["x"],
                       output_names=["y"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx", "net.onnx.data"]
    weight_bytes = 4 * sum(p.numel() for p in net.parameters())
    assert (tmp_path / "net.onnx.data").stat().st_size >= weight_bytes
    with torch.no_grad():
        expected = net(x).numpy()
    got = create_session(path).run({"x": x.numpy()})["y"]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(runtime_onnx, "MAX_INLINE_BYTES", 1_800_000_000)
    export_onnx(net, (x,), path, input_names=["x"], output_names=["y"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx"]  # no stale data file
    np.testing.assert_allclose(create_session(path).run({"x": x.numpy()})["y"], expected,
                               rtol=1e-5, atol=1e-5)


def test_sessions_take_their_thread_count_from_the_environment(tmp_path, monkeypatch):
    """How the ray engine keeps N actors on N cores: each session's thread count."""
    from spatial_vqa_ros.perception.runtime.onnx import THREADS_ENV, default_threads

    path = export_onnx(small_net(), (torch.randn(1, 3, 8, 8),), tmp_path / "n.onnx",
                       input_names=["x"], output_names=["y"])
    monkeypatch.setenv(THREADS_ENV, "1")
    assert default_threads() == 1
    session = create_session(path, providers=["CPUExecutionProvider"])
    assert session.session.get_session_options().intra_op_num_threads == 1
    explicit = create_session(path, providers=["CPUExecutionProvider"], threads=2)
    assert explicit.session.get_session_options().intra_op_num_threads == 2
    monkeypatch.delenv(THREADS_ENV)
    assert default_threads() == 0
    for bad in ("-1", "two", "1.5"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(PerceptionError, match="SPATIAL_VQA_ORT_THREADS must be"):
            default_threads()

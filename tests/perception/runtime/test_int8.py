"""int8 graphs (``runtime.int8``): made from the float graph once, kept beside it with a
note of their source, made again when the float graph changes, never left half-written,
and close to the float graph's outputs."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.runtime import int8  # noqa: E402
from spatial_vqa_ros.perception.runtime.int8 import check_precision, int8_graph  # noqa: E402


def save_matmul_graph(path, seed=0):
    """x (2, 64) -> relu(x @ W1) @ W2, W random: a graph dynamic quantisation rewrites."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w1 = numpy_helper.from_array(rng.standard_normal((64, 128)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.standard_normal((128, 16)).astype(np.float32), "w2")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("MatMul", ["r", "w2"], ["y"])], "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 16])], [w1, w2])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, path)
    return path


def run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_the_int8_graph_is_int8_close_to_the_float_one_and_made_once(tmp_path):
    graph = save_matmul_graph(tmp_path / "model.onnx")
    made = int8_graph(graph)
    assert made == tmp_path / "model.int8.onnx"
    ops = {node.op_type for node in onnx.load(made).graph.node}
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops, ops
    x = np.random.default_rng(1).standard_normal((2, 64)).astype(np.float32)
    want, got = run(graph, x), run(made, x)
    assert not np.array_equal(got, want)
    assert np.abs(got - want).max() <= 0.05 * np.abs(want).max()
    before = made.stat().st_mtime_ns
    assert int8_graph(graph) == made and made.stat().st_mtime_ns == before  # kept


def test_a_new_export_of_the_float_graph_makes_the_int8_graph_again(tmp_path):
    graph = save_matmul_graph(tmp_path / "model.onnx", seed=0)
    made = int8_graph(graph)
    x = np.ones((2, 64), np.float32)
    first = run(made, x)
    save_matmul_graph(graph, seed=5)  # other weights, as a new export writes
    os.utime(graph, ns=(graph.stat().st_atime_ns, graph.stat().st_mtime_ns + 10**9))
    assert not np.allclose(run(int8_graph(graph), x), first)
    note = json.loads((tmp_path / "model.int8.onnx.json").read_text())
    assert note["mtime_ns"] == graph.stat().st_mtime_ns


def test_an_int8_graph_without_its_note_is_not_trusted(tmp_path):
    graph = save_matmul_graph(tmp_path / "model.onnx")
    made = int8_graph(graph)
    made.write_bytes(b"half written")  # a crash between the graph and its note
    (tmp_path / "model.int8.onnx.json").unlink()
    int8_graph(graph)
    assert run(made, np.ones((2, 64), np.float32)).shape == (2, 16)


def test_a_failed_quantisation_says_so_and_leaves_nothing(tmp_path, monkeypatch):
    graph = save_matmul_graph(tmp_path / "model.onnx")
    from onnxruntime import quantization

    def killed(source, target, **kwargs):
        with open(target, "wb") as half:
            half.write(b"partial")
        raise MemoryError("killed")

    monkeypatch.setattr(quantization, "quantize_dynamic", killed)
    with pytest.raises(PerceptionError, match="int8 quantisation of .* failed \\(MemoryError"):
        int8_graph(graph)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_a_missing_graph_and_an_unknown_precision_are_refused(tmp_path):
    with pytest.raises(PerceptionError, match="no ONNX model at .*models export"):
        int8_graph(tmp_path / "none.onnx")
    assert check_precision("int8") == "int8"
    with pytest.raises(PerceptionError, match="precision must be one of"):
        check_precision("fp16")
    assert int8.PRECISIONS == ("fp32", "int8")

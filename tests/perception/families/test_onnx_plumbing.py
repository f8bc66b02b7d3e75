"""The ONNX Runtime plumbing every family shares: export-if-missing, the fixed-input
export check, and the proof that the ONNX Runtime path builds no torch model (each
family's adapter runs from a saved export with transformers model construction
patched to raise)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.families import descriptors
from spatial_vqa_ros.perception.families.export_info import EXPORT_INFO
from spatial_vqa_ros.perception.families.onnx_plumbing import (
    EncoderDecoderShim,
    OrtModelShim,
    adopt_shim,
    check_encoder_input,
    check_size,
    graph_module,
    open_fixed_input_export,
    open_or_export,
)
from spatial_vqa_ros.perception.types import SensorInputs


def test_open_or_export_exports_only_when_asked_and_the_open_refused():
    calls = []

    def refuse_then_open():
        calls.append("open")
        if "export" not in calls:
            raise PerceptionError("no export: export it")
        return "opened"

    assert open_or_export(refuse_then_open, lambda: calls.append("export"),
                          export_missing=True) == "opened"
    assert calls == ["open", "export", "open"]
    calls.clear()
    with pytest.raises(PerceptionError, match="no export: export it"):
        open_or_export(refuse_then_open, lambda: calls.append("export"), export_missing=False)
    assert calls == ["open"]


def test_a_bad_size_is_refused_by_name():
    assert check_size(("48", 64)) == (48, 64)
    with pytest.raises(PerceptionError, match=r"must be \(height, width\), got 5"):
        check_size(5)
    with pytest.raises(PerceptionError, match="must be positive"):
        check_size((0, 4))


def write_record(onnx_dir, model_dir, **fields):
    onnx_dir.mkdir(parents=True, exist_ok=True)
    (onnx_dir / EXPORT_INFO).write_text(json.dumps({"family": "sam", "source_files": {},
                                                    "source": str(model_dir), **fields}))


def test_a_fixed_input_export_of_another_size_or_without_one_says_to_export_again(tmp_path):
    options = {"family": "sam", "label": "SAM", "pixel_size_hw": (128, 128),
               "graphs": (), "providers": None, "threads": 0}
    write_record(tmp_path / "onnx", tmp_path, pixel_size_hw=[256, 256])
    with pytest.raises(PerceptionError, match="takes 256x256 images.*makes 128x128.*export"):
        open_fixed_input_export(tmp_path, tmp_path / "onnx", **options)
    write_record(tmp_path / "onnx", tmp_path, pixel_size_hw="big")
    with pytest.raises(PerceptionError, match="is not a SAM export record"):
        open_fixed_input_export(tmp_path, tmp_path / "onnx", **options)
    write_record(tmp_path / "onnx", tmp_path, pixel_size_hw=[128, 128])
    assert open_fixed_input_export(tmp_path, tmp_path / "onnx", **options)[1] == ()


def test_graph_module_holds_the_model_in_eval_mode_and_calls_the_translation():
    torch = pytest.importorskip("torch")
    linear = torch.nn.Linear(3, 2).train()
    graph = graph_module(linear, lambda model, x, y: (model(x) + y, x.sum()))
    assert not graph.training and not linear.training  # traced as at inference
    assert graph.model is linear  # its weights are the graph's initialisers
    assert [name for name, _ in graph.named_parameters()] == ["model.weight", "model.bias"]
    x, y = torch.ones(1, 3), torch.full((1, 2), 2.0)
    out, total = graph(x, y)
    assert torch.equal(out, linear(x) + y) and float(total) == 3.0


class FakeSession:
    path = "/models/sam/onnx/image_encoder.onnx"


def test_an_encoder_shim_counts_nothing_yet_and_refuses_an_image_of_another_size():
    shim = EncoderDecoderShim(FakeSession(), FakeSession(), {"pixel_size_hw": [64, 64]})
    assert (shim.pixel_size_hw, shim.decoder_calls, shim.to("cuda")) == ((64, 64), 0, shim)
    check_encoder_input(np.zeros((1, 3, 64, 64)), shim.pixel_size_hw, shim.encoder)
    with pytest.raises(PerceptionError, match=r"made a 48x32 image, the ONNX encoder at "
                       r"/models/sam/onnx/image_encoder.onnx takes 64x64 .*export again"):
        check_encoder_input(np.zeros((1, 3, 32, 48)), shim.pixel_size_hw, shim.encoder)


# --- the ONNX Runtime path builds no torch model -------------------------------------

#: family -> (the conftest fixture of its tiny snapshot, export/load options)
FAMILIES = {"sam": ("sam_dir", {}), "sam2": ("sam2_dir", {}),
            "depth_pro": ("depth_pro_dir", {}),
            "depth_anything": ("da_metric_dir", {"size_hw": (48, 64)}),
            "owlv2": ("owlv2_dir", {})}


@pytest.fixture
def no_model_construction(monkeypatch):
    """transformers model classes that refuse to be built or loaded."""
    transformers = pytest.importorskip("transformers")

    def refuse(*args, **kwargs):
        raise AssertionError("a transformers model was constructed")

    monkeypatch.setattr(transformers.PreTrainedModel, "__init__", refuse)
    monkeypatch.setattr(transformers.PreTrainedModel, "from_pretrained", classmethod(refuse))
    return refuse


def run_once(adapter, role):
    rng = np.random.default_rng(0)
    inputs = SensorInputs(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    if role == "depth":
        return adapter.estimate(inputs).depth_m.shape
    if role == "detector":
        return adapter.detect(inputs, ["box", "ball"]).xyxy.shape[1:]
    boxes = np.array([[4.0, 5.0, 30.0, 40.0], [20.0, 10.0, 60.0, 44.0]])
    return adapter.segment(inputs, boxes, None).shape


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_onnx_runtime_adapter_runs_from_a_saved_export_without_a_torch_model(
        family, request, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    model_dir = request.getfixturevalue(FAMILIES[family][0])
    options = FAMILIES[family][1]
    descriptor = descriptors()[family]
    descriptor.resolve(descriptor.export.exporter)(model_dir, tmp_path / "onnx", **options)
    role = descriptor.roles[0]
    expected = run_once(descriptor.resolve(descriptor.export.adapter).from_pretrained(
        model_dir, tmp_path / "onnx", **options), role)

    request.getfixturevalue("no_model_construction")
    # the patch bites: the torch adapter cannot load (it may wrap the refusal in its own)
    with pytest.raises((AssertionError, PerceptionError),
                       match="a transformers model was constructed"):
        descriptor.adapter_class(role).from_pretrained(model_dir)
    adapter = descriptor.resolve(descriptor.export.adapter).from_pretrained(
        model_dir, tmp_path / "onnx", **options)
    assert run_once(adapter, role) == expected


def test_an_adopted_shim_gives_the_adapter_its_model_torch_adapter_record_and_provider():
    class Session:
        provider = "CUDAExecutionProvider"

    class Adapter:
        pass

    adapter, shim, torch_adapter = Adapter(), OrtModelShim(), object()
    record = {"family": "sam"}
    adopt_shim(adapter, shim, torch_adapter, record, Session())
    assert adapter.model is shim and adapter._torch_adapter is torch_adapter
    assert adapter.record is record and adapter.provider == "CUDAExecutionProvider"

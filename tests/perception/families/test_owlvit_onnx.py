"""OWL-ViT on ONNX Runtime: the exported graph equals the torch model, the ORT adapter
gives the torch adapter's detections, and the ONNX path builds no transformers model.

The tiny OWL-ViT snapshot (conftest) is exported once through :func:`export` and compared
at two image sizes and two prompt counts (the query count is the graph's dynamic
dimension; the processor resizes every image to the one input size).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain  # noqa: E402
from spatial_vqa_ros.perception.families.owlvit.adapter import OwlViTDetector  # noqa: E402
from spatial_vqa_ros.perception.families.owlvit.onnx_adapter import (  # noqa: E402
    OwlViTOnnxDetector,
    export,
)
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402

PROMPTS = ("a cat", "remote control", "book", "can")
#: (image height, width, prompts)
SHAPES = [(48, 80, PROMPTS[:1]), (90, 40, PROMPTS)]


@pytest.fixture(scope="module")
def onnx_dir(owlvit_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("owlvit-onnx")
    paths = export(owlvit_dir, out)
    assert [p.name for p in paths] == ["model.onnx", "export.json"]
    return out


@pytest.fixture(scope="module")
def torch_detector(owlvit_dir):
    return OwlViTDetector.from_pretrained(owlvit_dir, score_threshold=0.0)


def image(height: int, width: int, seed: int = 0) -> SensorInputs:
    return SensorInputs(np.random.default_rng(seed).integers(0, 256, (height, width, 3),
                                                             np.uint8))


def relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("shape", SHAPES)
def test_the_graph_gives_the_torch_models_logits_and_boxes(owlvit_dir, onnx_dir, torch_detector,
                                                           shape):
    height, width, prompts = shape
    ort = OwlViTOnnxDetector.from_pretrained(owlvit_dir, onnx_dir)
    encoded = torch_detector.processor(text=[list(prompts)], images=image(height, width).rgb,
                                       return_tensors="pt")
    with torch.inference_mode():
        expected = torch_detector.model(**encoded)
    got = ort.session.run({k: v.numpy() for k, v in encoded.items()})
    assert got["logits"].shape == expected.logits.shape == (1, 16, len(prompts))
    assert relative_error(got["logits"], expected.logits.numpy()) <= 1e-4
    assert relative_error(got["pred_boxes"], expected.pred_boxes.numpy()) <= 1e-4
    for output in (expected.logits.numpy(), expected.pred_boxes.numpy()):
        # outputs that vary 100x the tolerance: not a vacuous match
        assert np.ptp(output) > 100 * 1e-4 * np.abs(output).max()


@pytest.mark.parametrize("shape", SHAPES)
def test_the_onnx_detector_gives_the_torch_detectors_detections(owlvit_dir, onnx_dir,
                                                                torch_detector, shape):
    height, width, prompts = shape
    inputs = image(height, width, seed=5)
    ort = OwlViTOnnxDetector.from_pretrained(owlvit_dir, onnx_dir, score_threshold=0.0)
    assert ort.name == f"owlvit:{owlvit_dir.name}:onnxruntime:{ort.provider}"
    expected, got = torch_detector.detect(inputs, prompts), ort.detect(inputs, prompts)
    assert len(got) == len(expected) > 0 and got.labels == expected.labels
    np.testing.assert_allclose(got.xyxy, expected.xyxy, atol=1e-3)
    np.testing.assert_allclose(got.scores, expected.scores, rtol=1e-4)


def test_the_onnx_path_builds_no_transformers_model(owlvit_dir, onnx_dir, monkeypatch):
    inputs = image(40, 56)
    expected = OwlViTOnnxDetector.from_pretrained(owlvit_dir, onnx_dir).detect(inputs, PROMPTS)

    def refuse(*args, **kwargs):
        raise AssertionError("a transformers model was constructed")

    monkeypatch.setattr(transformers.PreTrainedModel, "__init__", refuse)
    monkeypatch.setattr(transformers.PreTrainedModel, "from_pretrained", classmethod(refuse))
    with pytest.raises(AssertionError, match="a transformers model was constructed"):
        OwlViTDetector.from_pretrained(owlvit_dir)
    got = OwlViTOnnxDetector.from_pretrained(owlvit_dir, onnx_dir).detect(inputs, PROMPTS)
    np.testing.assert_array_equal(got.xyxy, expected.xyxy)


def test_a_missing_export_says_to_export_and_export_missing_makes_it(owlvit_dir, tmp_path):
    snapshot = shutil.copytree(owlvit_dir, tmp_path / "owlvit")
    with pytest.raises(PerceptionError, match=r"no owlvit ONNX export at .*onnx .*export it "
                       "with 'spatial-vqa models export'"):
        OwlViTOnnxDetector.from_pretrained(snapshot)
    detector = OwlViTOnnxDetector.from_pretrained(snapshot, export_missing=True)
    assert (snapshot / "onnx" / "model.onnx").is_file()
    assert len(detector.detect(image(32, 32), PROMPTS)) > 0


def test_an_export_for_another_input_size_is_refused(owlvit_dir, onnx_dir, tmp_path):
    snapshot = shutil.copytree(owlvit_dir, tmp_path / "owlvit")
    shutil.copytree(onnx_dir, snapshot / "onnx")
    settings = json.loads((snapshot / "processor_config.json").read_text())
    square = {"height": 32, "width": 32}
    settings["image_processor"].update(size=square, crop_size=square)
    (snapshot / "processor_config.json").write_text(json.dumps(settings))
    with pytest.raises(PerceptionError, match=r"takes 64x64 images, the snapshot .* makes "
                       "32x32: export again"):
        OwlViTOnnxDetector.from_pretrained(snapshot)


def test_build_chain_runs_owlvit_on_onnx_runtime(owlvit_dir, onnx_dir, tmp_path):
    snapshot = shutil.copytree(owlvit_dir, tmp_path / "owlvit")
    shutil.copytree(onnx_dir, snapshot / "onnx")
    chain = build_chain(PerceptionSpec(detector="owlvit", detector_model=str(snapshot),
                                       segmenter="depth_box", perception_runtime="onnxruntime",
                                       perception_device="cpu", detector_score_threshold=0.01))
    assert isinstance(chain.detector, OwlViTOnnxDetector)
    assert chain.detector.provider == "CPUExecutionProvider"
    assert chain.detector.score_threshold == pytest.approx(0.01)


def test_precision_int8_runs_the_int8_graph_near_the_float_one(owlvit_dir, tmp_path):
    out = tmp_path / "onnx"
    shutil.copytree(onnx_dir_of(owlvit_dir, tmp_path), out)
    inputs, prompts = image(48, 80, seed=2), PROMPTS[:2]
    float_detector = OwlViTOnnxDetector.from_pretrained(owlvit_dir, out, score_threshold=0.0)
    int8 = OwlViTOnnxDetector.from_pretrained(owlvit_dir, out, score_threshold=0.0,
                                              precision="int8")
    assert int8.name == f"owlvit:{owlvit_dir.name}:onnxruntime:{int8.provider}:int8"
    assert int8.session.path == out / "model.int8.onnx"
    assert (out / "model.int8.onnx.json").is_file()
    encoded = float_detector.processor(text=[list(prompts)], images=inputs.rgb,
                                       return_tensors="pt")
    feeds = {k: v.numpy() for k, v in encoded.items()}
    want, got = float_detector.session.run(feeds), int8.session.run(feeds)
    assert not np.array_equal(got["logits"], want["logits"])  # really another graph
    # int8 weights and activations: within a few percent of the float graph's range
    assert relative_error(got["pred_boxes"], want["pred_boxes"]) <= 0.05
    assert relative_error(got["logits"], want["logits"]) <= 0.1
    with pytest.raises(PerceptionError, match="precision must be one of"):
        OwlViTOnnxDetector.from_pretrained(owlvit_dir, out, precision="fp16")


def onnx_dir_of(owlvit_dir, tmp_path):
    """A fresh export of the tiny snapshot (the module's export stays untouched)."""
    out = tmp_path / "fresh"
    export(owlvit_dir, out)
    return out

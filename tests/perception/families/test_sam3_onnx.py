"""SAM 3 on ONNX Runtime: two tiny random Sam3Models of different input sizes (112 and
168 px: the processor fixes the size, so each size is its own model) exported as image
encoder + text encoder + prompt/mask decoder; every graph output equals torch's within
1e-4 relative to its largest value, for 1 and 3 prompts through the same graphs (the
prompt axis is dynamic); the detections equal the torch adapter's; frame and prompts
are encoded once while they stay; the transformers model is never built; a missing,
stale or resized export says to export again; through the chain one model fills both
roles."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

from tiny_sam3 import save_tiny_sam3, tiny_sam3_lite_text  # noqa: E402

from spatial_vqa_ros.core.camera import CameraIntrinsics  # noqa: E402
from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain  # noqa: E402
from spatial_vqa_ros.perception.families.processing import resize_then_normalize  # noqa: E402
from spatial_vqa_ros.perception.families.sam3.adapter import (  # noqa: E402
    Sam3Detector,
    _repeated,
    tokenize,
)
from spatial_vqa_ros.perception.families.sam3.onnx_adapter import (  # noqa: E402
    LEVELS,
    OUTPUTS,
    Sam3OnnxDetector,
    export,
)
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402

PROMPTS = ["cup", "red mug", "chair"]
SIZES = (112, 168)


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s}px")
def snapshot(request, tmp_path_factory):
    """A tiny SAM 3 of input ``size`` with its export in ``<snapshot>/onnx``."""
    directory = save_tiny_sam3(tmp_path_factory.mktemp("sam3") / "sam3-tiny",
                               size=request.param)
    export(directory, directory / "onnx")
    return directory


@pytest.fixture(scope="module")
def pair(snapshot):
    return (Sam3Detector.from_pretrained(snapshot),
            Sam3OnnxDetector.from_pretrained(snapshot, snapshot / "onnx"))


def _rgb(seed: int = 0, size_hw=(60, 80)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size_hw, 3), dtype=np.uint8)


def relative_error(got, expected) -> float:
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("prompts", [PROMPTS[:1], PROMPTS], ids=["1prompt", "3prompts"])
def test_every_graph_output_equals_torch_within_1e4(pair, prompts):
    torch_sam3, onnx_sam3 = pair
    pixels = resize_then_normalize(_rgb(1), torch_sam3.processing)
    _, _, ids, mask = tokenize(torch_sam3.tokenizer, prompts)
    with torch.inference_mode():
        vision = torch_sam3.model.get_vision_features(pixels)
        text = torch_sam3.model.get_text_features(input_ids=ids, attention_mask=mask,
                                                  return_dict=True)
        expected = torch_sam3.model(vision_embeds=_repeated(vision, len(prompts)),
                                    text_embeds=text, attention_mask=mask)
    got_vision = onnx_sam3.model.get_vision_features(pixels)
    for level in range(LEVELS):
        assert relative_error(got_vision.fpn_hidden_states[level],
                              vision.fpn_hidden_states[level]) <= 1e-4
    got_text = onnx_sam3.model.get_text_features(input_ids=ids, attention_mask=mask)
    assert relative_error(got_text.pooler_output, text.pooler_output) <= 1e-4
    got = onnx_sam3.model(vision_embeds=_repeated(got_vision, len(prompts)),
                          text_embeds=got_text, attention_mask=mask)
    side = torch_sam3.processing.size_hw[0] // 14 * 4
    assert got.pred_masks.shape[0] == len(prompts) and got.pred_masks.shape[-1] == side
    inside = float((expected.pred_masks > 0).float().mean())
    assert 0.05 < inside < 0.95, "re-drawn weights give masks that are neither empty nor full"
    for name in OUTPUTS:
        assert getattr(got, name).shape == getattr(expected, name).shape
        assert relative_error(getattr(got, name), getattr(expected, name)) <= 1e-4, name


@pytest.mark.parametrize("size_hw", [(60, 80), (90, 47)])
def test_detections_equal_the_torch_adapter(pair, size_hw):
    torch_sam3, onnx_sam3 = pair
    torch_sam3.score_threshold = onnx_sam3._torch_adapter.score_threshold = 0.2
    inputs = SensorInputs(_rgb(2, size_hw))
    expected = torch_sam3.detect(inputs, PROMPTS)
    got = onnx_sam3.detect(inputs, PROMPTS)
    assert len(expected) > 0 and got.labels == expected.labels
    assert np.abs(got.scores - expected.scores).max() <= 1e-5
    assert np.abs(got.xyxy - expected.xyxy).max() <= 1e-3 * max(size_hw)
    assert got.masks.shape == (len(expected), *size_hw)
    assert (got.masks != expected.masks).mean() <= 1e-3  # pixels at the threshold only


def test_the_frame_and_the_prompts_are_encoded_once_and_all_prompts_decoded_together(
        snapshot):
    detector = Sam3OnnxDetector.from_pretrained(snapshot, snapshot / "onnx",
                                                score_threshold=0.0)
    rgb = _rgb(3)
    first = detector.detect(SensorInputs(rgb), PROMPTS)
    again = detector.detect(SensorInputs(rgb.copy()), PROMPTS)
    assert (detector.encoder_calls, detector.text_calls, detector.model.decoder_calls) == (
        1, 1, 2)
    np.testing.assert_array_equal(first.masks, again.masks)
    detector.detect(SensorInputs(rgb), ["chair"])
    assert (detector.encoder_calls, detector.text_calls) == (1, 2)


def test_loading_and_running_never_build_the_transformers_model(snapshot, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the ONNX Runtime path built a transformers SAM 3 model")

    for name in ("Sam3Model", "Sam3LiteTextModel"):
        monkeypatch.setattr(getattr(transformers, name), "__init__", refuse)
    detector = Sam3OnnxDetector.from_pretrained(snapshot, snapshot / "onnx",
                                                score_threshold=0.0)
    assert len(detector.detect(SensorInputs(_rgb()), PROMPTS)) > 0


def test_a_lite_text_snapshot_exports_and_detects_as_its_torch_adapter(tmp_path):
    directory = save_tiny_sam3(tmp_path / "sam3-lite", tiny_sam3_lite_text())
    export(directory, directory / "onnx")
    onnx_sam3 = Sam3OnnxDetector.from_pretrained(directory, directory / "onnx",
                                                 score_threshold=0.0)
    assert onnx_sam3.model.text_encoder.input_names == ["input_ids"]  # reads no mask
    inputs = SensorInputs(_rgb(5))
    expected = Sam3Detector.from_pretrained(directory, score_threshold=0.0).detect(
        inputs, PROMPTS)
    got = onnx_sam3.detect(inputs, PROMPTS)
    assert len(expected) > 0 and got.labels == expected.labels
    assert np.abs(got.scores - expected.scores).max() <= 1e-5
    assert (got.masks != expected.masks).mean() <= 1e-3


def test_the_export_record_and_files(snapshot):
    out = snapshot / "onnx"
    assert sorted(p.name for p in out.iterdir()) == [
        "decoder.onnx", "export.json", "image_encoder.onnx", "text_encoder.onnx"]
    record = json.loads((out / "export.json").read_text())
    side = json.loads((snapshot / "preprocessor_config.json").read_text())["size"]["height"]
    assert record["family"] == "sam3" and record["opset"] == 18
    assert record["pixel_size_hw"] == [side, side] and record["text_tokens"] == 32


def test_an_export_of_another_snapshot_or_input_size_is_refused(snapshot, tmp_path):
    other = tmp_path / "sam3-tiny"
    shutil.copytree(snapshot, other)
    (other / "model.safetensors").write_bytes(b"other weights")
    with pytest.raises(PerceptionError, match="another snapshot.*model.safetensors differ"):
        Sam3OnnxDetector.from_pretrained(other, snapshot / "onnx")
    resized = tmp_path / "resized"
    shutil.copytree(snapshot, resized)
    config = json.loads((resized / "preprocessor_config.json").read_text())
    side = config["size"]["height"]
    config["size"] = {"height": 224, "width": 224}
    (resized / "preprocessor_config.json").write_text(json.dumps(config))
    with pytest.raises(PerceptionError, match=f"takes {side}x{side} images.*makes 224x224"):
        Sam3OnnxDetector.from_pretrained(resized, snapshot / "onnx")


def test_a_missing_export_is_refused_or_made_when_asked(tmp_path):
    directory = save_tiny_sam3(tmp_path / "sam3-tiny")
    with pytest.raises(PerceptionError, match="no sam3 ONNX export.*models export"):
        Sam3OnnxDetector.from_pretrained(directory, tmp_path / "onnx")
    detector = Sam3OnnxDetector.from_pretrained(directory, tmp_path / "onnx",
                                                export_missing=True, score_threshold=0.0)
    assert detector.detect(SensorInputs(_rgb()), ["cup"]).masks.shape[1:] == (60, 80)


def test_a_missing_snapshot_says_how_to_get_the_weights(tmp_path):
    with pytest.raises(PerceptionError, match="SAM 3 model not found.*facebook/sam3"):
        Sam3OnnxDetector.from_pretrained(tmp_path / "nothing", tmp_path / "onnx")


def test_box_prompts_are_refused_as_on_torch(pair):
    with pytest.raises(PerceptionError, match="sam3 segments only what it detects itself"):
        pair[1].segment(SensorInputs(_rgb()), np.array([[0, 0, 5, 5]], np.float32), None)


def test_on_onnxruntime_one_model_fills_both_roles_through_the_chain(snapshot):
    chain = build_chain(PerceptionSpec(depth_estimator="sensor", detector="sam3",
                                       segmenter="sam3", detector_model=str(snapshot),
                                       detector_score_threshold=0.2,
                                       perception_runtime="onnxruntime",
                                       perception_device="cpu"))
    assert isinstance(chain.detector, Sam3OnnxDetector)
    assert chain.segmenter is chain.detector
    depth = np.full((60, 80), 2.0, np.float32)
    camera = CameraIntrinsics(80, 60, 60.0, 60.0, 39.5, 29.5)
    result = chain.run(SensorInputs(_rgb(4), camera, depth), PROMPTS)
    assert len(result.observations) > 0 and "segment" not in result.timings_s
    assert result.provenance.segmenter == chain.detector.name
    assert chain.detector.name.startswith("sam3:sam3-tiny@onnxruntime:")

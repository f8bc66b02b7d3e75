"""OWLv2 on ONNX Runtime: the exported graph equals the torch model, and the ORT adapter
gives the torch adapter's detections.

A tiny randomly initialised ``Owlv2ForObjectDetection`` (PERCEPTION.md's config, weights
re-drawn so scores and boxes vary) is saved with an ``Owlv2Processor`` whose CLIP
tokenizer has a hand-written vocabulary, exported once through :func:`export` (the real
loading code, no network), and compared at two image sizes and two prompt counts (the
query count is the graph's dynamic dimension; the image size is fixed by the processor).
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
from spatial_vqa_ros.perception.families.owlv2.adapter import Owlv2Detector  # noqa: E402
from spatial_vqa_ros.perception.families.owlv2.onnx_adapter import (  # noqa: E402
    Owlv2OnnxDetector,
    export,
)
from spatial_vqa_ros.perception.protocols import Detector  # noqa: E402
from spatial_vqa_ros.perception.runtime import PROVIDER_ORDER  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402

PROMPTS = ("a cat", "remote control", "book", "can")
TEXT_LEN = 16
SIDE = 64
#: (image height, width, prompts): the processor resizes every image to SIDE x SIDE, so
#: the graph's dynamic dimension is the number of queries.
SHAPES = [(48, 80, PROMPTS[:1]), (90, 40, PROMPTS)]


@pytest.fixture(scope="module")
def onnx_dir(owlv2_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("owlv2-onnx")
    assert export(owlv2_dir, out) == out / "model.onnx"
    return out


@pytest.fixture(scope="module")
def torch_detector(owlv2_dir):
    return Owlv2Detector.from_pretrained(owlv2_dir, score_threshold=0.0)


def image(height: int, width: int, seed: int = 0) -> SensorInputs:
    return SensorInputs(np.random.default_rng(seed).integers(0, 256, (height, width, 3),
                                                             np.uint8))


def relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("shape", SHAPES)
def test_the_graph_gives_the_torch_models_logits_and_boxes(owlv2_dir, onnx_dir, torch_detector,
                                                           shape):
    height, width, prompts = shape
    ort = Owlv2OnnxDetector.from_pretrained(owlv2_dir, onnx_dir)
    encoded = torch_detector.processor(text=[list(prompts)], images=image(height, width).rgb,
                                       return_tensors="pt")
    with torch.inference_mode():
        expected = torch_detector.model(**encoded)
    got = ort.session.run({k: v.numpy() for k, v in encoded.items()})
    queries = len(prompts)
    assert got["logits"].shape == expected.logits.shape == (1, (SIDE // 16) ** 2, queries)
    assert got["pred_boxes"].shape == expected.pred_boxes.shape
    # re-drawn weights: outputs vary over patches (default init gives near-constants)
    assert expected.logits.std() > 0.03 and expected.pred_boxes.std() > 0.1
    assert relative_error(got["logits"], expected.logits.numpy()) <= 1e-4
    assert relative_error(got["pred_boxes"], expected.pred_boxes.numpy()) <= 1e-4


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("nms_threshold", [None, 0.3])
def test_the_detections_equal_the_torch_adapters(owlv2_dir, onnx_dir, torch_detector, shape,
                                                 nms_threshold):
    height, width, prompts = shape
    inputs = image(height, width, seed=1)
    expected = Owlv2Detector(torch_detector.model, torch_detector.processor, score_threshold=0.0,
                             nms_threshold=nms_threshold).detect(inputs, prompts)
    found = Owlv2OnnxDetector.from_pretrained(owlv2_dir, onnx_dir, score_threshold=0.0,
                                              nms_threshold=nms_threshold).detect(inputs,
                                                                                  prompts)
    assert len(expected) >= 3 and found.labels == expected.labels
    np.testing.assert_allclose(found.xyxy, expected.xyxy, atol=1e-3)
    np.testing.assert_allclose(found.scores, expected.scores, rtol=1e-4)
    assert found.xyxy.dtype == found.scores.dtype == np.float32


def test_the_score_threshold_is_the_torch_adapters(owlv2_dir, onnx_dir, torch_detector):
    inputs = image(60, 100, seed=2)
    cut = float(np.median(Owlv2Detector(torch_detector.model, torch_detector.processor,
                                        score_threshold=0.0, nms_threshold=None)
                          .detect(inputs, PROMPTS).scores))
    expected = Owlv2Detector(torch_detector.model, torch_detector.processor,
                             score_threshold=cut, nms_threshold=None).detect(inputs, PROMPTS)
    found = Owlv2OnnxDetector.from_pretrained(owlv2_dir, onnx_dir, score_threshold=cut,
                                              nms_threshold=None).detect(inputs, PROMPTS)
    assert len(found) > 0 and (found.scores > cut).all() and found.labels == expected.labels


def test_it_is_a_detector_named_by_snapshot_runtime_and_provider(owlv2_dir, onnx_dir):
    detector = Owlv2OnnxDetector.from_pretrained(owlv2_dir, onnx_dir)
    assert isinstance(detector, Detector)
    assert detector.provider in PROVIDER_ORDER
    assert detector.name == f"owlv2:{owlv2_dir.name}:onnxruntime:{detector.provider}"


def test_all_prompts_of_a_frame_go_through_one_run(owlv2_dir, onnx_dir):
    detector = Owlv2OnnxDetector.from_pretrained(owlv2_dir, onnx_dir)
    calls, run = [], detector.session.run
    detector.session.run = lambda feeds: calls.append(feeds["input_ids"].shape) or run(feeds)
    detector.detect(image(48, 64), [*PROMPTS, "cup", "mug"])
    assert calls == [(6, TEXT_LEN)]


def test_the_export_record_says_what_was_exported_from_what(owlv2_dir, onnx_dir):
    record = json.loads((onnx_dir / "export.json").read_text())
    assert record["family"] == "owlv2" and record["source"] == str(owlv2_dir.resolve())
    assert "config.json" in record["source_files"]
    assert (record["image_size"], record["max_text_tokens"], record["opset"]) == (SIDE,
                                                                                  TEXT_LEN, 18)
    assert record["torch"] == torch.__version__
    assert record["transformers"] == transformers.__version__
    assert sorted(p.name for p in onnx_dir.iterdir()) == ["export.json", "model.onnx"]


def test_an_export_from_another_snapshot_is_refused(owlv2_dir, onnx_dir, tmp_path):
    other = tmp_path / "other-owlv2"
    shutil.copytree(owlv2_dir, other)
    (other / "config.json").write_text((owlv2_dir / "config.json").read_text() + "\n")
    with pytest.raises(PerceptionError, match="another snapshot.*models export"):
        Owlv2OnnxDetector.from_pretrained(other, onnx_dir)


def test_a_missing_or_corrupt_graph_says_to_export_again(owlv2_dir, onnx_dir, tmp_path):
    with pytest.raises(PerceptionError, match="spatial-vqa models export"):
        Owlv2OnnxDetector.from_pretrained(owlv2_dir, tmp_path / "nothing")
    corrupt = shutil.copytree(onnx_dir, tmp_path / "corrupt")
    (corrupt / "model.onnx").write_bytes(b"\x08\x07garbage")
    with pytest.raises(PerceptionError, match="cannot be loaded.*spatial-vqa models export"):
        Owlv2OnnxDetector.from_pretrained(owlv2_dir, corrupt)
    unfinished = shutil.copytree(onnx_dir, tmp_path / "unfinished")
    (unfinished / "export.json").unlink()
    with pytest.raises(PerceptionError, match="no owlv2 ONNX export.*spatial-vqa models export"):
        Owlv2OnnxDetector.from_pretrained(owlv2_dir, unfinished)
    garbled = shutil.copytree(onnx_dir, tmp_path / "garbled")
    (garbled / "export.json").write_text("{")
    with pytest.raises(PerceptionError, match="unreadable.*models export"):
        Owlv2OnnxDetector.from_pretrained(owlv2_dir, garbled)
    fieldless = shutil.copytree(onnx_dir, tmp_path / "fieldless")
    record = json.loads((fieldless / "export.json").read_text())
    del record["max_text_tokens"]
    (fieldless / "export.json").write_text(json.dumps(record))
    with pytest.raises(PerceptionError, match="not an OWLv2 export record.*models export"):
        Owlv2OnnxDetector.from_pretrained(owlv2_dir, fieldless)


def test_a_graph_exported_at_another_image_size_is_refused(owlv2_dir, onnx_dir, tmp_path):
    other = shutil.copytree(onnx_dir, tmp_path / "other-size")
    record = json.loads((other / "export.json").read_text())
    (other / "export.json").write_text(json.dumps({**record, "image_size": 960}))
    with pytest.raises(PerceptionError, match="takes 960 px images.*export it again"):
        Owlv2OnnxDetector.from_pretrained(owlv2_dir, other)


def test_a_missing_snapshot_names_the_pull_command(onnx_dir, tmp_path):
    with pytest.raises(PerceptionError, match="not found at .*spatial-vqa models pull"):
        Owlv2OnnxDetector.from_pretrained(tmp_path / "owlv2_base_ensemble", onnx_dir)
    with pytest.raises(PerceptionError, match="not found at .*spatial-vqa models pull"):
        export(tmp_path / "owlv2_base_ensemble", tmp_path / "out")


def test_a_prompt_longer_than_the_text_encoder_reads_is_refused(owlv2_dir, onnx_dir):
    detector = Owlv2OnnxDetector.from_pretrained(owlv2_dir, onnx_dir)
    with pytest.raises(PerceptionError, match=r"at most 16 tokens.*'a very long remote"):
        detector.detect(image(32, 32), ["book", "a very long remote control"])


def test_it_loads_with_the_hub_offline(owlv2_dir, onnx_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert len(Owlv2OnnxDetector.from_pretrained(owlv2_dir, onnx_dir, score_threshold=0.0)
               .detect(image(40, 56), PROMPTS)) > 0

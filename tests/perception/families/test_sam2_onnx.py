"""SAM2 on ONNX Runtime: a tiny random Sam2Model (weights re-drawn) exported as image
encoder + mask decoder and loaded back from the snapshot + export directory; the three
feature levels, the low-res mask logits and IoU scores equal torch's within 1e-4
(relative to the largest value) for two frames and 1 and 5 boxes, the masks equal the
torch adapter's, a frame is encoded once, a missing, corrupt or stale export says to
export again (the chain run: test_contract.py)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

from tiny_models import SAM2_IMAGE_SIZE  # noqa: E402

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.processing import resize_then_normalize  # noqa: E402
from spatial_vqa_ros.perception.families.sam2.adapter import Sam2Segmenter, scale_boxes  # noqa: E402
from spatial_vqa_ros.perception.families.sam2.onnx_adapter import (  # noqa: E402
    Sam2OnnxSegmenter,
    export,
)
from spatial_vqa_ros.perception.protocols import Segmenter  # noqa: E402
from spatial_vqa_ros.perception.runtime import PROVIDER_ORDER  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402


@pytest.fixture(scope="module")
def exported(sam2_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("sam2-onnx")
    return out, export(sam2_dir, out)


@pytest.fixture(scope="module")
def torch_sam2(sam2_dir):
    return Sam2Segmenter.from_pretrained(sam2_dir)


@pytest.fixture(scope="module")
def onnx_sam2(sam2_dir, exported):
    return Sam2OnnxSegmenter.from_pretrained(sam2_dir, exported[0])


def frame(seed: int = 0, size_hw=(45, 67)) -> SensorInputs:
    rng = np.random.default_rng(seed)
    return SensorInputs(rng.integers(0, 256, (*size_hw, 3), dtype=np.uint8))


def boxes_for(size_hw, n, seed=0):
    rng = np.random.default_rng(seed)
    height, width = size_hw
    x0, y0 = rng.uniform(0, width / 2, n), rng.uniform(0, height / 2, n)
    return np.stack([x0, y0, x0 + rng.uniform(5, width / 2, n),
                     y0 + rng.uniform(5, height / 2, n)], 1).astype(np.float32)


def relative_error(got, expected):
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("size_hw", [(45, 67), (80, 31)])
def test_encoder_and_decoder_equal_torch_for_two_frames_and_box_counts(torch_sam2, onnx_sam2,
                                                                       size_hw):
    inputs = frame(1, size_hw)
    pixels = resize_then_normalize(inputs.rgb, torch_sam2.processing)
    with torch.inference_mode():
        expected_levels = torch_sam2.model.get_image_embeddings(pixels)
    levels = onnx_sam2.model.get_image_embeddings(pixels)
    assert [level.shape for level in levels] == [tuple(e.shape) for e in expected_levels]
    for got, expected in zip(levels, expected_levels):
        assert relative_error(got, expected.numpy()) <= 1e-4
    for n in (1, 5):
        boxes = torch.from_numpy(scale_boxes(boxes_for(size_hw, n, seed=n), size_hw,
                                             torch_sam2.processing.size_hw))[None]
        with torch.inference_mode():
            expected = torch_sam2.model(image_embeddings=expected_levels, input_boxes=boxes,
                                        multimask_output=False)
        got = onnx_sam2.model(image_embeddings=levels, input_boxes=boxes,
                              multimask_output=False)
        side = SAM2_IMAGE_SIZE // 4
        assert got.pred_masks.shape == expected.pred_masks.shape == (1, n, 1, side, side)
        assert expected.pred_masks.std() > 0.5, "re-drawn weights give varied logits"
        assert relative_error(got.pred_masks.numpy(), expected.pred_masks.numpy()) <= 1e-4
        assert relative_error(got.iou_scores.numpy(), expected.iou_scores.numpy()) <= 1e-4


@pytest.mark.parametrize(("size_hw", "n"), [((45, 67), 1), ((80, 31), 5)])
def test_masks_equal_the_torch_adapter(torch_sam2, onnx_sam2, size_hw, n):
    inputs, boxes = frame(2, size_hw), boxes_for(size_hw, n, seed=7)
    got = onnx_sam2.segment(inputs, boxes, None)
    expected = torch_sam2.segment(inputs, boxes, None)
    assert isinstance(onnx_sam2, Segmenter)
    assert got.shape == (n, *size_hw) and 0 < expected.mean() < 1
    assert (got != expected).mean() <= 1e-3  # only pixels within float noise of 0 may differ


def test_the_name_says_the_runtime_and_provider(onnx_sam2):
    assert onnx_sam2.provider in PROVIDER_ORDER
    assert onnx_sam2.name == f"sam2:sam2-tiny@onnxruntime:{onnx_sam2.provider}"


def test_a_frame_is_encoded_once_and_its_boxes_go_through_one_decoder_call(sam2_dir,
                                                                           exported):
    segmenter = Sam2OnnxSegmenter.from_pretrained(sam2_dir, exported[0])
    inputs, boxes = frame(4), boxes_for((45, 67), 4)
    first = segmenter.segment(inputs, boxes, None)
    again = segmenter.segment(inputs, boxes[:2], None)
    assert segmenter.encoder_calls == 1 and segmenter.model.decoder_calls == 2
    np.testing.assert_array_equal(first[:2], again)


def test_the_export_record_and_files(sam2_dir, exported):
    out, paths = exported
    assert [p.name for p in paths] == ["image_encoder.onnx", "mask_decoder.onnx", "export.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    record = json.loads(paths[2].read_text())
    assert record["family"] == "sam2" and record["opset"] == 18
    assert record["pixel_size_hw"] == [SAM2_IMAGE_SIZE] * 2
    assert record["source"] == str(sam2_dir.resolve())


@pytest.mark.parametrize("graph", ["image_encoder.onnx", "mask_decoder.onnx"])
def test_a_corrupt_graph_says_to_export_again(sam2_dir, exported, tmp_path, graph):
    shutil.copytree(exported[0], tmp_path / "onnx")
    (tmp_path / "onnx" / graph).write_bytes(b"\x08\x07 not an onnx model")
    with pytest.raises(PerceptionError, match=f"{graph} cannot be loaded.*models export"):
        Sam2OnnxSegmenter.from_pretrained(sam2_dir, tmp_path / "onnx")


def test_a_missing_export_is_made_when_asked(sam2_dir, tmp_path):
    with pytest.raises(PerceptionError, match="no sam2 ONNX export.*models export"):
        Sam2OnnxSegmenter.from_pretrained(sam2_dir, tmp_path / "onnx")
    segmenter = Sam2OnnxSegmenter.from_pretrained(sam2_dir, tmp_path / "onnx",
                                                  export_missing=True)
    assert segmenter.segment(frame(), boxes_for((45, 67), 2), None).shape == (2, 45, 67)


def test_an_export_of_another_snapshot_or_size_is_refused(sam2_dir, exported, tmp_path):
    snapshot = tmp_path / "sam2-tiny"
    shutil.copytree(sam2_dir, snapshot)
    (snapshot / "model.safetensors").write_bytes(b"other weights")
    with pytest.raises(PerceptionError, match="another snapshot.*model.safetensors differ"):
        Sam2OnnxSegmenter.from_pretrained(snapshot, exported[0])
    resized = tmp_path / "resized"
    shutil.copytree(sam2_dir, resized)
    config = json.loads((resized / "preprocessor_config.json").read_text())
    config["size"] = {"height": 256, "width": 256}
    (resized / "preprocessor_config.json").write_text(json.dumps(config))
    with pytest.raises(PerceptionError, match="takes 128x128 images.*makes 256x256"):
        Sam2OnnxSegmenter.from_pretrained(resized, exported[0])


def test_a_missing_snapshot_says_how_to_get_the_model(exported, tmp_path):
    with pytest.raises(PerceptionError, match="spatial-vqa models pull sam2_hiera_tiny'"):
        Sam2OnnxSegmenter.from_pretrained(tmp_path / "nowhere", exported[0])

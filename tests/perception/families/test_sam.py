"""SAM adapter: a tiny random SamModel saved and loaded back through ``from_pretrained``;
masks equal the processor + model + post_process_masks reference path, boxes are
rescaled exactly as the processor does, and a frame is encoded once (the chain run, lazy
imports and the network block: test_contract.py)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.sam.adapter import SamSegmenter  # noqa: E402
from spatial_vqa_ros.perception.protocols import Segmenter  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402


@pytest.fixture(scope="module")
def segmenter(sam_dir):
    return SamSegmenter.from_pretrained(sam_dir)


def frame(seed: int = 0, size_hw=(45, 67)) -> SensorInputs:
    rng = np.random.default_rng(seed)
    return SensorInputs(rng.integers(0, 256, (*size_hw, 3), dtype=np.uint8))


BOXES = np.array([[2.5, 3, 30, 40], [10, 0, 67, 45], [40, 20, 60, 30]], np.float32)


def reference_masks(sam_dir, inputs: SensorInputs, boxes: np.ndarray):
    """The family's documented path: processor -> model -> post_process_masks."""
    from PIL import Image
    from transformers import SamModel, SamProcessor

    processor = SamProcessor.from_pretrained(sam_dir, local_files_only=True, backend="pil")
    model = SamModel.from_pretrained(sam_dir, local_files_only=True).eval()
    encoded = processor(images=Image.fromarray(inputs.rgb), input_boxes=[boxes.tolist()],
                        return_tensors="pt")
    with torch.inference_mode():
        out = model(**encoded, multimask_output=False)
    masks = processor.post_process_masks(out.pred_masks, encoded["original_sizes"],
                                         encoded["reshaped_input_sizes"])[0][:, 0].numpy()
    return masks, encoded


def test_masks_are_one_bool_mask_per_box_at_the_original_size(segmenter):
    inputs = frame()
    masks = segmenter.segment(inputs, BOXES, None)
    assert isinstance(segmenter, Segmenter)
    assert segmenter.name == "sam:sam-tiny"
    assert masks.shape == (3, 45, 67) and masks.dtype == bool
    assert 0 < masks.mean() < 1, "re-drawn weights should give masks that are not constant"


def test_masks_equal_the_processor_model_post_process_reference(sam_dir, segmenter):
    for seed, size_hw in ((1, (45, 67)), (2, (80, 31))):
        inputs = frame(seed, size_hw)
        height, width = size_hw
        boxes = BOXES * np.array([width / 67, height / 45] * 2, np.float32)
        expected, _ = reference_masks(sam_dir, inputs, boxes)
        got = segmenter.segment(inputs, boxes, None)
        assert 0 < expected.mean() < 1
        np.testing.assert_array_equal(got, expected)


def test_boxes_are_rescaled_exactly_as_the_processor_rescales_them(sam_dir):
    inputs = frame(3, (45, 67))
    _, encoded = reference_masks(sam_dir, inputs, BOXES)
    original_hw = tuple(encoded["original_sizes"][0].tolist())
    resized_hw = tuple(encoded["reshaped_input_sizes"][0].tolist())
    assert resized_hw == (86, 128)  # the longest side to 128, aspect kept
    scaled = SamSegmenter.scale_boxes(BOXES, original_hw, resized_hw)
    np.testing.assert_array_equal(scaled, encoded["input_boxes"][0].numpy())


def test_one_decoder_call_serves_every_box_and_the_frame_is_encoded_once(segmenter):
    fresh = SamSegmenter(segmenter.model, segmenter.processor)
    calls = []
    hook = fresh.model.mask_decoder.register_forward_hook(
        lambda module, args, output: calls.append(1))
    try:
        inputs = frame(4)
        first = fresh.segment(inputs, BOXES, None)
        again = fresh.segment(inputs, BOXES[:2], None)
    finally:
        hook.remove()
    assert fresh.encoder_calls == 1 and len(calls) == 2
    np.testing.assert_array_equal(first[:2], again)  # a cached embedding, same masks
    inputs.rgb[0, 0] += 1  # a camera buffer reused in place is a new frame
    fresh.segment(inputs, BOXES, None)
    assert fresh.encoder_calls == 2
    uncached = SamSegmenter(segmenter.model, segmenter.processor, cache_embedding=False)
    np.testing.assert_array_equal(uncached.segment(inputs, BOXES, None),
                                  fresh.segment(inputs, BOXES, None))


def test_no_boxes_give_no_masks_without_running_the_model(segmenter):
    segmenter = SamSegmenter(segmenter.model, segmenter.processor)
    masks = segmenter.segment(frame(), np.zeros((0, 4), np.float32), None)
    assert masks.shape == (0, 45, 67) and masks.dtype == bool
    assert segmenter.encoder_calls == 0


def test_a_higher_mask_threshold_gives_smaller_masks(segmenter):
    inputs = frame(5)
    default = segmenter.segment(inputs, BOXES, None)
    strict = SamSegmenter(segmenter.model, segmenter.processor, mask_threshold=2.0).segment(
        inputs, BOXES, None)
    assert strict.sum() < default.sum() and not (strict & ~default).any()


@pytest.mark.parametrize("boxes", [np.zeros((2, 3)), np.array([[0, 0, np.nan, 4]])])
def test_malformed_boxes_are_refused(segmenter, boxes):
    with pytest.raises(PerceptionError, match="boxes must be"):
        segmenter.segment(frame(), boxes, None)


def test_a_missing_directory_says_how_to_get_the_model(tmp_path):
    with pytest.raises(PerceptionError, match="not found .*spatial-vqa models pull sam_vit_base'"):
        SamSegmenter.from_pretrained(tmp_path / "nowhere")


def test_a_directory_without_weights_says_how_to_get_the_model(sam_dir, tmp_path):
    for name in ("config.json", "processor_config.json"):
        (tmp_path / name).write_bytes((sam_dir / name).read_bytes())
    with pytest.raises(PerceptionError, match="no weights.*spatial-vqa models pull sam_vit_base'"):
        SamSegmenter.from_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(PerceptionError, match=r"is corrupt \(.*\): run 'spatial-vqa models "
                       "pull sam_vit_base' again"):
        SamSegmenter.from_pretrained(tmp_path)


def test_it_loads_with_the_hub_offline(sam_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    masks = SamSegmenter.from_pretrained(sam_dir).segment(frame(), BOXES, None)
    assert masks.shape == (3, 45, 67)

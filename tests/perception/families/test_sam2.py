"""SAM2 adapter: a tiny random Sam2Model saved and loaded back through the real loading
code; masks equal the model's own one-call path (pixels + boxes -> logits ->
post-processing), a frame is encoded once and its boxes decoded in one call, loading
errors say how to get the weights (the chain run: test_contract.py). The pre-processing
itself is checked against the reference processor's outputs in test_processing.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.processing import resize_then_normalize  # noqa: E402
from spatial_vqa_ros.perception.families.sam2.adapter import (  # noqa: E402
    Sam2Segmenter,
    scale_boxes,
    upscale_masks,
)
from spatial_vqa_ros.perception.protocols import Segmenter  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402

BOXES = np.array([[2.5, 3, 30, 40], [10, 0, 67, 45], [40, 20, 60, 30]], np.float32)


@pytest.fixture(scope="module")
def segmenter(sam2_dir):
    return Sam2Segmenter.from_pretrained(sam2_dir)


def frame(seed: int = 0, size_hw=(45, 67)) -> SensorInputs:
    rng = np.random.default_rng(seed)
    return SensorInputs(rng.integers(0, 256, (*size_hw, 3), dtype=np.uint8))


def one_call_reference(segmenter, inputs: SensorInputs, boxes: np.ndarray) -> np.ndarray:
    """The model's documented single call: pixel_values and input_boxes together."""
    pixels = resize_then_normalize(inputs.rgb, segmenter.processing)
    scaled = scale_boxes(boxes, inputs.size_hw, segmenter.processing.size_hw)
    with torch.inference_mode():
        out = segmenter.model(pixel_values=pixels, input_boxes=torch.from_numpy(scaled)[None],
                              multimask_output=False)
    return upscale_masks(out.pred_masks[0], inputs.size_hw, 0.0)


def test_masks_are_one_bool_mask_per_box_at_the_original_size(segmenter):
    masks = segmenter.segment(frame(), BOXES, None)
    assert isinstance(segmenter, Segmenter)
    assert segmenter.name == "sam2:sam2-tiny"
    assert masks.shape == (3, 45, 67) and masks.dtype == bool
    assert 0 < masks.mean() < 1, "re-drawn weights should give masks that are not constant"


def test_masks_equal_the_models_one_call_path_at_two_sizes(segmenter):
    for seed, size_hw in ((1, (45, 67)), (2, (80, 31))):
        inputs = frame(seed, size_hw)
        boxes = BOXES * np.array([size_hw[1] / 67, size_hw[0] / 45] * 2, np.float32)
        expected = one_call_reference(segmenter, inputs, boxes)
        assert 0 < expected.mean() < 1
        np.testing.assert_array_equal(segmenter.segment(inputs, boxes, None), expected)


def test_one_decoder_call_serves_every_box_and_the_frame_is_encoded_once(segmenter):
    fresh = Sam2Segmenter(segmenter.model, segmenter.processing)
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
    np.testing.assert_array_equal(first[:2], again)
    inputs.rgb[0, 0] += 1  # a camera buffer reused in place is a new frame
    fresh.segment(inputs, BOXES, None)
    assert fresh.encoder_calls == 2
    uncached = Sam2Segmenter(segmenter.model, segmenter.processing, cache_embedding=False)
    np.testing.assert_array_equal(uncached.segment(inputs, BOXES, None),
                                  fresh.segment(inputs, BOXES, None))


def test_no_boxes_give_no_masks_without_running_the_model(segmenter):
    fresh = Sam2Segmenter(segmenter.model, segmenter.processing)
    masks = fresh.segment(frame(), np.zeros((0, 4), np.float32), None)
    assert masks.shape == (0, 45, 67) and fresh.encoder_calls == 0


def test_a_higher_mask_threshold_gives_smaller_masks(segmenter):
    inputs = frame(5)
    default = segmenter.segment(inputs, BOXES, None)
    strict = Sam2Segmenter(segmenter.model, segmenter.processing,
                           mask_threshold=2.0).segment(inputs, BOXES, None)
    assert strict.sum() < default.sum() and not (strict & ~default).any()


@pytest.mark.parametrize("boxes", [np.zeros((2, 3)), np.array([[0, 0, np.inf, 4]])])
def test_malformed_boxes_are_refused(segmenter, boxes):
    with pytest.raises(PerceptionError, match="boxes must be"):
        segmenter.segment(frame(), boxes, None)


def test_build_chain_builds_a_chain_with_sam2_from_a_local_snapshot(sam2_dir):
    from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain

    chain = build_chain(PerceptionSpec(segmenter="sam2", segmenter_model=str(sam2_dir)))
    assert isinstance(chain.segmenter, Sam2Segmenter)


def test_a_missing_directory_says_how_to_get_the_model(tmp_path):
    with pytest.raises(PerceptionError, match="not found.*spatial-vqa models pull "
                       "sam2_hiera_tiny'"):
        Sam2Segmenter.from_pretrained(tmp_path / "nowhere")


def test_incomplete_or_foreign_snapshots_are_refused_clearly(sam2_dir, tmp_path):
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_bytes((sam2_dir / "config.json").read_bytes())
    with pytest.raises(PerceptionError, match="incomplete.*models pull sam2_hiera_tiny'"):
        Sam2Segmenter.from_pretrained(partial)
    (partial / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(PerceptionError, match="preprocessor_config.json"):
        Sam2Segmenter.from_pretrained(partial)
    (partial / "preprocessor_config.json").write_bytes(
        (sam2_dir / "preprocessor_config.json").read_bytes())
    with pytest.raises(PerceptionError, match="partial is corrupt .*models pull "
                       "sam2_hiera_tiny' again"):
        Sam2Segmenter.from_pretrained(partial)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "config.json").write_text(json.dumps({"model_type": "sam"}))
    (foreign / "model.safetensors").write_bytes(b"x")
    with pytest.raises(PerceptionError, match="holds a 'sam' model"):
        Sam2Segmenter.from_pretrained(foreign)


def test_the_spec_device_reaches_the_family_and_an_absent_gpu_is_refused(sam2_dir):
    from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain, torch_device

    auto = build_chain(PerceptionSpec(segmenter="sam2", segmenter_model=str(sam2_dir)))
    assert auto.segmenter.device == ("cuda" if torch.cuda.is_available() else "cpu")
    cpu = build_chain(PerceptionSpec(segmenter="sam2", segmenter_model=str(sam2_dir),
                                     perception_device="cpu"))
    assert cpu.segmenter.device == "cpu"
    with pytest.raises(ValueError, match="perception_device must be auto, cpu, cuda or cuda:N"):
        PerceptionSpec(perception_device="gpu")
    if not torch.cuda.is_available():
        with pytest.raises(PerceptionError, match="perception_device cuda:1 was asked for.*sees 0"):
            torch_device("cuda:1")

"""The SlimSAM checkpoint of the ``sam`` family: a SamModel of SlimSAM-50's shape (ViT-B
pruned to half width) loads by its registry name through the family's own adapter, with
no code of its own. A tiny random SamModel of SlimSAM's shape ratios (``tiny_slimsam``)
stands for the released weights: its masks equal the processor -> model ->
post_process_masks reference, and its ONNX export matches torch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain  # noqa: E402
from spatial_vqa_ros.perception.families import descriptors  # noqa: E402
from spatial_vqa_ros.perception.families.sam.adapter import SamSegmenter  # noqa: E402
from spatial_vqa_ros.perception.models.registry import load_registry  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402

BOXES = np.array([[2.5, 3, 30, 40], [10, 0, 67, 45], [40, 20, 60, 30]], np.float32)


def frame(seed: int = 0, size_hw=(45, 67)) -> SensorInputs:
    rng = np.random.default_rng(seed)
    return SensorInputs(rng.integers(0, 256, (*size_hw, 3), dtype=np.uint8))


def test_slimsam_is_a_registered_checkpoint_of_the_sam_family_with_its_licence():
    checkpoint = {c.name: c for c in descriptors()["sam"].checkpoints}["slimsam_50_uniform"]
    assert (checkpoint.hub_id, checkpoint.licence, checkpoint.role) == (
        "nielsr/slimsam-50-uniform", "apache-2.0", "segmenter")
    entry = load_registry().get("slimsam_50_uniform")
    assert (entry.family, entry.checkpoint) == ("sam", "nielsr/slimsam-50-uniform")


def test_the_tiny_stand_in_has_slimsams_shape_ratios(slimsam_dir):
    vision = transformers.SamConfig.from_pretrained(slimsam_dir).vision_config
    # SlimSAM-50: hidden 384 over 12 heads, MLP 1536, 256 neck channels
    assert vision.mlp_dim / vision.hidden_size == 1536 / 384
    assert vision.hidden_size / vision.output_channels == 384 / 256
    assert vision.num_attention_heads == 12


def test_the_registry_name_builds_the_sam_adapter_and_its_masks_are_the_reference(
        slimsam_dir):
    chain = build_chain(PerceptionSpec(segmenter="sam", segmenter_model="slimsam_50_uniform",
                                       models_dir=str(slimsam_dir.parent),
                                       perception_device="cpu"))
    segmenter = chain.segmenter
    assert isinstance(segmenter, SamSegmenter) and segmenter.name == "sam:slimsam_50_uniform"
    inputs = frame()
    masks = segmenter.segment(inputs, BOXES, None)
    processor = transformers.SamProcessor.from_pretrained(slimsam_dir, backend="pil")
    model = transformers.SamModel.from_pretrained(slimsam_dir).eval()
    encoded = processor(images=inputs.rgb, input_boxes=[BOXES.tolist()], return_tensors="pt")
    with torch.inference_mode():
        out = model(**encoded, multimask_output=False)
    expected = processor.post_process_masks(out.pred_masks, encoded["original_sizes"],
                                            encoded["reshaped_input_sizes"])[0][:, 0].numpy()
    assert masks.shape == (3, 45, 67) and masks.dtype == bool
    np.testing.assert_array_equal(masks, expected)
    assert 0 < masks.mean() < 1  # masks that vary: not a vacuous match


def test_its_onnx_export_matches_torch(slimsam_dir, tmp_path):
    pytest.importorskip("onnxruntime")
    from spatial_vqa_ros.perception.families.sam.onnx_adapter import SamOnnxSegmenter, export

    export(slimsam_dir, tmp_path / "onnx")
    ort = SamOnnxSegmenter.from_pretrained(slimsam_dir, tmp_path / "onnx")
    inputs = frame(seed=1)
    expected = SamSegmenter.from_pretrained(slimsam_dir).segment(inputs, BOXES, None)
    got = ort.segment(inputs, BOXES, None)
    assert (got != expected).mean() < 1e-3

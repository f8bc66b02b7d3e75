"""SAM at a smaller input than its checkpoint's (``input_size``, cpu_light's 512 px):
the position tables are resampled, the processor resizes and pads to the new size, the
box prompts are scaled to it, the masks come back at the frame's size, and the ONNX
export (float and int8) is made at that size and matches torch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.sam.adapter import SamSegmenter  # noqa: E402
from spatial_vqa_ros.perception.families.sam.input_size import (  # noqa: E402
    at_input_size,
    resize_processor,
)
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402

BOXES = np.array([[2.5, 3, 30, 40], [10, 0, 67, 45], [40, 20, 60, 30]], np.float32)
SMALL = 64  # the tiny SlimSAM's own input is 128 (grid 8); 64 gives grid 4


def frame(seed: int = 0, size_hw=(45, 67)) -> SensorInputs:
    rng = np.random.default_rng(seed)
    return SensorInputs(rng.integers(0, 256, (*size_hw, 3), dtype=np.uint8))


def test_the_checkpoints_own_size_changes_nothing(slimsam_dir):
    model = transformers.SamModel.from_pretrained(slimsam_dir).eval()
    assert at_input_size(model, 128) is model
    plain = SamSegmenter.from_pretrained(slimsam_dir)
    same = SamSegmenter.from_pretrained(slimsam_dir, input_size=128)
    assert same.name == plain.name == "sam:slimsam_50_uniform"
    np.testing.assert_array_equal(same.segment(frame(), BOXES, None),
                                  plain.segment(frame(), BOXES, None))


def test_position_tables_are_resampled_to_the_new_grid(slimsam_dir):
    model = transformers.SamModel.from_pretrained(slimsam_dir).eval()
    with torch.no_grad():  # a smooth field: resampling keeps its value range and mean
        ramp = torch.linspace(-1, 1, 8)
        model.vision_encoder.pos_embed.copy_(
            (ramp[:, None] + ramp[None, :])[None, :, :, None].expand_as(
                model.vision_encoder.pos_embed))
    small = at_input_size(model, SMALL)
    pos = small.vision_encoder.pos_embed
    assert pos.shape == (1, 4, 4, model.config.vision_config.hidden_size)
    field = pos[0, :, :, 0]
    assert torch.allclose(field, field.T, atol=1e-6)  # x + y stays symmetric
    assert torch.all(field[1:] > field[:-1]) and abs(float(field.mean().detach())) < 1e-5
    global_layers = model.config.vision_config.global_attn_indexes
    for index, (old, new) in enumerate(zip(model.vision_encoder.layers,
                                           small.vision_encoder.layers)):
        for table in ("rel_pos_h", "rel_pos_w"):
            before, after = getattr(old.attn, table), getattr(new.attn, table)
            if index in global_layers:  # one entry per offset over the grid: 15 -> 7
                assert (before.shape[0], after.shape[0]) == (15, 7)
                assert after.shape[1] == before.shape[1]
            else:  # a 4 x 4 window's table does not depend on the input
                assert torch.equal(after, before)
    assert small.config.prompt_encoder_config.image_embedding_size == 4
    assert small.prompt_encoder.input_image_size == SMALL
    # the windowed layers' tables and every other weight are the checkpoint's
    for name, value in model.state_dict().items():
        if "pos" not in name:
            assert torch.equal(small.state_dict()[name], value), name


def test_the_adapter_at_a_smaller_input_equals_the_processor_reference(slimsam_dir):
    segmenter = SamSegmenter.from_pretrained(slimsam_dir, input_size=SMALL)
    assert segmenter.name == f"sam:slimsam_50_uniform@{SMALL}px"
    inputs = frame()
    masks = segmenter.segment(inputs, BOXES, None)
    assert masks.shape == (3, 45, 67) and 0 < masks.mean() < 1
    # the reference: the resized model and processor, the processor's own box scaling
    from transformers.models.sam.image_processing_pil_sam import SamImageProcessorPil

    processor = transformers.SamProcessor(image_processor=SamImageProcessorPil(
        size={"longest_edge": SMALL}, pad_size={"height": SMALL, "width": SMALL}))
    model = at_input_size(transformers.SamModel.from_pretrained(slimsam_dir).eval(), SMALL)
    encoded = processor(images=inputs.rgb, input_boxes=[BOXES.tolist()], return_tensors="pt")
    assert encoded["pixel_values"].shape[-2:] == (SMALL, SMALL)
    resized = resize_processor(transformers.SamProcessor.from_pretrained(
        slimsam_dir, backend="pil"), SMALL)  # a loaded processor, resized in place
    again = resized(images=inputs.rgb, input_boxes=[BOXES.tolist()], return_tensors="pt")
    for key in ("pixel_values", "input_boxes", "reshaped_input_sizes"):
        assert torch.equal(again[key], encoded[key]), key
    with torch.inference_mode():
        out = model(**encoded, multimask_output=False)
    assert out.pred_masks.shape[-2:] == (SMALL // 4, SMALL // 4)
    expected = processor.post_process_masks(out.pred_masks, encoded["original_sizes"],
                                            encoded["reshaped_input_sizes"])[0][:, 0].numpy()
    np.testing.assert_array_equal(masks, expected)
    # and not the full-size run's masks: the option really changed the model's input
    assert (masks != SamSegmenter.from_pretrained(slimsam_dir).segment(inputs, BOXES,
                                                                       None)).any()


@pytest.mark.parametrize("bad", [20, 8, True, "512", -16])
def test_an_input_size_that_is_not_a_multiple_of_the_patch_is_refused(slimsam_dir, bad):
    with pytest.raises(PerceptionError, match="multiple of the patch size"):
        SamSegmenter.from_pretrained(slimsam_dir, input_size=bad)


def test_the_onnx_export_at_the_smaller_input_matches_torch_and_runs_int8(
        slimsam_dir, tmp_path):
    pytest.importorskip("onnxruntime")
    import shutil

    from spatial_vqa_ros.perception.families.sam.onnx_adapter import SamOnnxSegmenter

    directory = tmp_path / "slimsam_50_uniform"
    shutil.copytree(slimsam_dir, directory)
    cpu = ["CPUExecutionProvider"]
    onnx_dir = directory / "onnx"
    torch_masks = SamSegmenter.from_pretrained(directory, input_size=SMALL).segment(
        frame(), BOXES, None)
    with pytest.raises(PerceptionError, match="export"):  # nothing exported yet
        SamOnnxSegmenter.from_pretrained(directory, onnx_dir, providers=cpu,
                                         input_size=SMALL)
    runtime = SamOnnxSegmenter.from_pretrained(directory, onnx_dir, providers=cpu,
                                               export_missing=True, input_size=SMALL)
    assert runtime.name == f"sam:slimsam_50_uniform@{SMALL}px@onnxruntime:CPUExecutionProvider"
    assert runtime.record["pixel_size_hw"] == [SMALL, SMALL]
    np.testing.assert_array_equal(runtime.segment(frame(), BOXES, None), torch_masks)
    # an export at one input is refused for another, saying to export again
    with pytest.raises(PerceptionError, match=f"takes {SMALL}x{SMALL} images.*export again"):
        SamOnnxSegmenter.from_pretrained(directory, onnx_dir, providers=cpu)
    int8 = SamOnnxSegmenter.from_pretrained(directory, onnx_dir, providers=cpu,
                                            input_size=SMALL, precision="int8")
    assert int8.name.endswith(":int8")
    assert int8.model.encoder.path.name == "image_encoder.int8.onnx"
    assert int8.model.decoder.path.name == "mask_decoder.onnx"  # the decoder stays float
    # int8 moves the tiny random model's logits a little: most pixels agree
    agree = (int8.segment(frame(), BOXES, None) == torch_masks).mean()
    assert agree > 0.9, agree

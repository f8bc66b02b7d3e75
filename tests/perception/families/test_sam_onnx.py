"""SAM on ONNX Runtime: a tiny random SamModel (weights re-drawn, std 0.5) exported as
image encoder + mask decoder and loaded back from the snapshot + export directory; the
embeddings, low-res mask logits and IoU scores equal the torch model's within 1e-4
(relative to the largest value) at two image sizes and for 1 and 5 boxes, the masks
equal the torch adapter's, a frame is encoded once, a missing, corrupt or stale export
says to export again (the chain run and lazy imports: test_contract.py)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.sam.adapter import SamSegmenter  # noqa: E402
from spatial_vqa_ros.perception.families.sam.onnx_adapter import SamOnnxSegmenter, export  # noqa: E402
from spatial_vqa_ros.perception.protocols import Segmenter  # noqa: E402
from spatial_vqa_ros.perception.runtime import PROVIDER_ORDER  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402
from spatial_vqa_ros.synthetic.scoring import render_case  # noqa: E402

IMAGE_SIZE = 128


@pytest.fixture(scope="module")
def exported(sam_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("sam-onnx")
    return out, export(sam_dir, out)


@pytest.fixture(scope="module")
def torch_sam(sam_dir):
    return SamSegmenter.from_pretrained(sam_dir)


@pytest.fixture(scope="module")
def onnx_sam(sam_dir, exported):
    return SamOnnxSegmenter.from_pretrained(sam_dir, exported[0])


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


# --- parity -----------------------------------------------------------------------------

@pytest.mark.parametrize("size_hw", [(45, 67), (80, 31)])
def test_encoder_and_decoder_equal_torch_at_two_sizes_and_box_counts(torch_sam, onnx_sam,
                                                                     size_hw):
    from PIL import Image

    inputs = frame(1, size_hw)
    encoded = torch_sam.processor.image_processor(Image.fromarray(inputs.rgb),
                                                  return_tensors="pt")
    original_hw = tuple(encoded["original_sizes"][0].tolist())
    resized_hw = tuple(encoded["reshaped_input_sizes"][0].tolist())
    with torch.inference_mode():
        expected_embedding = torch_sam.model.get_image_embeddings(encoded["pixel_values"])
    embedding = onnx_sam.model.get_image_embeddings(encoded["pixel_values"])
    assert relative_error(embedding, expected_embedding.numpy()) <= 1e-4
    for n in (1, 5):
        # the torch adapter's boxes (float64) into each model, as the adapters pass them
        boxes = torch.from_numpy(SamSegmenter.scale_boxes(boxes_for(size_hw, n, seed=n),
                                                          original_hw, resized_hw))[None]
        with torch.inference_mode():
            expected = torch_sam.model(image_embeddings=expected_embedding, input_boxes=boxes,
                                       multimask_output=False)
        got = onnx_sam.model(image_embeddings=embedding, input_boxes=boxes,
                             multimask_output=False)
        assert got.pred_masks.shape == expected.pred_masks.shape == (1, n, 1, 32, 32)
        assert got.iou_scores.shape == (1, n, 1)
        assert expected.pred_masks.std() > 1, "re-drawn weights give varied logits"
        assert relative_error(got.pred_masks.numpy(), expected.pred_masks.numpy()) <= 1e-4
        assert relative_error(got.iou_scores.numpy(), expected.iou_scores.numpy()) <= 1e-4


@pytest.mark.parametrize(("size_hw", "n"), [((45, 67), 1), ((80, 31), 5)])
def test_masks_equal_the_torch_adapter(torch_sam, onnx_sam, size_hw, n):
    inputs, boxes = frame(2, size_hw), boxes_for(size_hw, n, seed=7)
    got, expected = onnx_sam.segment(inputs, boxes, None), torch_sam.segment(inputs, boxes, None)
    assert isinstance(onnx_sam, Segmenter)
    assert got.shape == (n, *size_hw) and got.dtype == bool
    assert 0 < expected.mean() < 1
    # binarised logits: only a pixel within float32 noise of the threshold could differ
    assert (got != expected).mean() <= 1e-3


def test_the_name_says_the_runtime_and_provider(onnx_sam):
    assert onnx_sam.provider in PROVIDER_ORDER
    assert onnx_sam.name == f"sam:sam-tiny@onnxruntime:{onnx_sam.provider}"


def test_a_frame_is_encoded_once_and_all_its_boxes_go_through_one_decoder_call(sam_dir,
                                                                               exported):
    segmenter = SamOnnxSegmenter.from_pretrained(sam_dir, exported[0])
    inputs, boxes = frame(4), boxes_for((45, 67), 4)
    first = segmenter.segment(inputs, boxes, None)
    again = segmenter.segment(inputs, boxes[:2], None)
    assert segmenter.encoder_calls == 1 and segmenter.model.decoder_calls == 2
    np.testing.assert_array_equal(first[:2], again)
    assert segmenter.segment(inputs, np.zeros((0, 4), np.float32), None).shape == (0, 45, 67)
    assert segmenter.model.decoder_calls == 2


def test_the_export_record_and_files(sam_dir, exported, onnx_sam):
    out, paths = exported
    assert [p.name for p in paths] == ["image_encoder.onnx", "mask_decoder.onnx", "export.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    record = json.loads(paths[2].read_text())
    assert record["family"] == "sam" and record["opset"] == 18
    assert record["pixel_size_hw"] == [IMAGE_SIZE, IMAGE_SIZE]
    assert record["embedding_shape"] == [1, 32, IMAGE_SIZE // 16, IMAGE_SIZE // 16]
    assert record["source"] == str(sam_dir.resolve())
    assert record["torch"] == torch.__version__
    assert record["transformers"] == transformers.__version__
    # float64 boxes, as torch gets them: in float32 the real-size (ViT-B) logits differ
    # by ~3e-4 relative (the tiny model's larger logits hide it, so the dtype is checked)
    boxes_input = onnx_sam.model.decoder.session.get_inputs()[1]
    assert (boxes_input.name, boxes_input.type) == ("input_boxes", "tensor(double)")


# --- missing, corrupt, stale --------------------------------------------------------------

@pytest.mark.parametrize("graph", ["image_encoder.onnx", "mask_decoder.onnx"])
def test_a_corrupt_graph_says_to_export_again(sam_dir, exported, tmp_path, graph):
    shutil.copytree(exported[0], tmp_path / "onnx")
    (tmp_path / "onnx" / graph).write_bytes(b"\x08\x07 not an onnx model")
    with pytest.raises(PerceptionError, match=f"{graph} cannot be loaded.*"
                                              "spatial-vqa models export"):
        SamOnnxSegmenter.from_pretrained(sam_dir, tmp_path / "onnx")
    if graph == "image_encoder.onnx":
        return  # exporting again once is enough
    segmenter = SamOnnxSegmenter.from_pretrained(sam_dir, tmp_path / "onnx",
                                                 export_missing=True)
    assert segmenter.segment(frame(), boxes_for((45, 67), 2), None).shape == (2, 45, 67)


def test_a_missing_export_says_to_export(sam_dir, exported, tmp_path):
    with pytest.raises(PerceptionError, match="no sam ONNX export.*spatial-vqa models export"):
        SamOnnxSegmenter.from_pretrained(sam_dir, tmp_path / "nowhere")
    shutil.copytree(exported[0], tmp_path / "onnx")
    (tmp_path / "onnx" / "mask_decoder.onnx").unlink()
    with pytest.raises(PerceptionError, match="no ONNX model at.*spatial-vqa models export"):
        SamOnnxSegmenter.from_pretrained(sam_dir, tmp_path / "onnx")


def test_an_export_of_another_snapshot_or_family_is_refused(sam_dir, exported, tmp_path):
    snapshot = tmp_path / "sam-tiny"
    shutil.copytree(sam_dir, snapshot)
    (snapshot / "model.safetensors").write_bytes(b"other weights")
    with pytest.raises(PerceptionError, match="another snapshot.*model.safetensors differ"):
        SamOnnxSegmenter.from_pretrained(snapshot, exported[0])
    shutil.copytree(exported[0], tmp_path / "onnx")
    record = json.loads((tmp_path / "onnx" / "export.json").read_text())
    (tmp_path / "onnx" / "export.json").write_text(json.dumps({**record,
                                                               "family": "depth_anything"}))
    with pytest.raises(PerceptionError, match="holds an export of 'depth_anything', not sam"):
        SamOnnxSegmenter.from_pretrained(sam_dir, tmp_path / "onnx")


def test_a_missing_snapshot_says_how_to_get_the_model(exported, tmp_path):
    with pytest.raises(PerceptionError, match="spatial-vqa models pull sam_vit_base'"):
        SamOnnxSegmenter.from_pretrained(tmp_path / "nowhere", exported[0])


# --- through the chain into the core ----------------------------------------------------

def test_models_export_then_an_onnxruntime_chain_built_by_name(sam_dir, tmp_path):
    from spatial_vqa_ros.cli import main
    from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain

    models = tmp_path / "models"
    shutil.copytree(sam_dir, models / "sam_vit_base")  # the registry's name for SAM
    spec = PerceptionSpec(segmenter="sam", segmenter_model="sam_vit_base",
                          models_dir=str(models), perception_runtime="onnxruntime")
    with pytest.raises(PerceptionError, match="spatial-vqa models export"):
        build_chain(spec)  # not exported yet
    assert main(["models", "export", "sam_vit_base", "--models-dir", str(models)]) == 0
    chain = build_chain(spec)
    assert isinstance(chain.segmenter, SamOnnxSegmenter)
    _, rendered, _ = render_case(0)
    result = chain.run(SensorInputs(rendered.rgb, rendered.camera, rendered.depth_m,
                                    rendered.instance_ids, rendered.id_to_label), ())
    assert "@onnxruntime:" in result.provenance.segmenter
    assert result.observations.masks.shape[0] == len(result.detections)

"""The torch-only reproduction of the torchvision-only processors (SAM2, Depth Pro)
equals the reference processors: exactly, on outputs they produced (golden file made by
make_goldens.py with torch 2.14.1 + torchvision 0.29.1), and live where torchvision
imports. Settings the reproduction does not do are refused, not approximated."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from make_goldens import DEPTH_PRO_SIZE, GOLDEN, IMAGES, SAM2_SIZE  # noqa: E402

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.depth_pro import adapter as depth_pro  # noqa: E402
from spatial_vqa_ros.perception.families.processing import (  # noqa: E402
    STANDARD_MEAN,
    STANDARD_STD,
    ImageProcessing,
    normalize_then_resize,
    processing_loader,
    read_image_processing,
    resize_then_normalize,
)
from spatial_vqa_ros.perception.families.sam2 import adapter as sam2  # noqa: E402

SAM2 = ImageProcessing((SAM2_SIZE, SAM2_SIZE), sam2.IMAGENET_MEAN, sam2.IMAGENET_STD)
DEPTH_PRO = ImageProcessing((DEPTH_PRO_SIZE, DEPTH_PRO_SIZE), (0.5,) * 3, (0.5,) * 3)


@pytest.fixture(scope="module")
def golden():
    with np.load(GOLDEN) as data:
        return {key: data[key] for key in data.files}


def test_the_golden_file_comes_from_the_reference_processors(golden):
    versions = json.loads(str(golden["versions"]))
    assert versions["torchvision"].startswith("0.29")
    assert len([k for k in golden if k.startswith("image_")]) == len(IMAGES)


@pytest.mark.parametrize("index", range(len(IMAGES)))
def test_sam2_pixels_equal_the_reference_processor(golden, index):
    got = resize_then_normalize(golden[f"image_{index}"], SAM2).numpy()
    np.testing.assert_array_equal(got, golden[f"sam2_pixels_{index}"])


@pytest.mark.parametrize("index", range(len(IMAGES)))
def test_depth_pro_pixels_equal_the_reference_processor(golden, index):
    got = normalize_then_resize(golden[f"image_{index}"], DEPTH_PRO).numpy()
    np.testing.assert_array_equal(got, golden[f"depth_pro_pixels_{index}"])


def test_sam2_boxes_and_masks_equal_the_reference_processor(golden):
    boxes = sam2.scale_boxes(golden["sam2_boxes_in"], (45, 67), (SAM2_SIZE, SAM2_SIZE))
    np.testing.assert_array_equal(boxes, golden["sam2_boxes_out"])
    masks = sam2.upscale_masks(golden["sam2_logits"], (45, 67), 0.0)
    assert 0 < golden["sam2_masks"].mean() < 1
    np.testing.assert_array_equal(masks, golden["sam2_masks"])


def test_depth_pro_metres_and_focal_length_equal_the_reference(golden):
    depth_m, focal_px = depth_pro.inverse_to_metres(
        golden["depth_pro_inverse"], (45, 67), fov_deg=float(golden["depth_pro_fov_deg"][0]))
    assert focal_px == pytest.approx(float(golden["depth_pro_focal_px"][0]), rel=1e-6)
    np.testing.assert_allclose(depth_m, golden["depth_pro_depth_m"], rtol=1e-6)


def test_processing_is_read_from_the_snapshot_with_the_class_defaults(tmp_path):
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"size": {
        "height": 32, "width": 32}}))
    got = read_image_processing(tmp_path, "sam2", default_size_hw=(1024, 1024),
                                default_mean=sam2.IMAGENET_MEAN,
                                default_std=sam2.IMAGENET_STD)
    assert got == ImageProcessing((32, 32), sam2.IMAGENET_MEAN, sam2.IMAGENET_STD)


def test_a_family_loader_reads_the_snapshot_with_its_own_defaults(tmp_path):
    load = processing_loader("sam3", default_size_hw=(1008, 1008),
                             default_mean=STANDARD_MEAN, default_std=STANDARD_STD)
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"image_std": [1, 1, 1]}))
    assert load(tmp_path) == ImageProcessing((1008, 1008), STANDARD_MEAN, (1.0, 1.0, 1.0))
    (tmp_path / "preprocessor_config.json").unlink()
    with pytest.raises(PerceptionError, match="no preprocessor_config.json"):
        load(tmp_path)


@pytest.mark.parametrize("config, match", [
    ({"resample": 3}, "resample 3 is not reproduced"),
    ({"size": {"longest_edge": 1024}}, "size must be"),
    ({"image_std": [0.2, 0.0, 0.2]}, "image_std"),
])
def test_settings_that_are_not_reproduced_are_refused(tmp_path, config, match):
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    with pytest.raises(PerceptionError, match=match):
        read_image_processing(tmp_path, "sam2", default_size_hw=(8, 8), default_mean=(0,) * 3,
                              default_std=(1,) * 3)


def test_a_missing_or_broken_processor_config_is_named(tmp_path):
    with pytest.raises(PerceptionError, match="no preprocessor_config.json"):
        sam2.load_processing(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text("{")
    with pytest.raises(PerceptionError, match="unreadable"):
        sam2.load_processing(tmp_path)


def test_malformed_images_are_refused():
    with pytest.raises(PerceptionError, match=r"\(H, W, 3\) uint8"):
        resize_then_normalize(np.zeros((4, 4, 3), np.float32), SAM2)


def test_live_reference_where_torchvision_imports():
    """Where torchvision imports (a GPU machine, a robot), compare with the processors
    themselves on a fresh image, beyond the golden file."""
    size = {"height": 40, "width": 40}
    try:  # without torchvision the classes import as placeholders that raise when built
        from transformers import DepthProImageProcessor, Sam2ImageProcessor

        sam2_reference = Sam2ImageProcessor(size=size)
        depth_pro_reference = DepthProImageProcessor(size=size)
    except (ImportError, RuntimeError) as error:
        pytest.skip(f"torchvision does not import here ({type(error).__name__}); the "
                    "golden-file tests above cover the reference")
    image = np.random.default_rng(11).integers(0, 256, (97, 131, 3), dtype=np.uint8)
    reference = sam2_reference(image, return_tensors="pt")
    np.testing.assert_array_equal(
        resize_then_normalize(image, ImageProcessing((40, 40), sam2.IMAGENET_MEAN,
                                                     sam2.IMAGENET_STD)).numpy(),
        reference["pixel_values"].numpy())
    reference = depth_pro_reference(image, return_tensors="pt")
    np.testing.assert_array_equal(
        normalize_then_resize(image, ImageProcessing((40, 40), (0.5,) * 3, (0.5,) * 3)).numpy(),
        reference["pixel_values"].numpy())

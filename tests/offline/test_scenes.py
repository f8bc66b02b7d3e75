"""`spatial-vqa scenes BAG`: one JSON line per frame, checked against ground truth."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from spatial_vqa_ros.io.bags import BagFrameWriter
from spatial_vqa_ros.synthetic import ground_truth, random_scene, render
from spatial_vqa_ros.synthetic.bags import write_synthetic_bag


def _write_bag(path, storage, n_frames=3, seed=5):
    scene = random_scene(np.random.default_rng(seed))
    rendered = render(scene)
    truth = ground_truth(scene, rendered)
    with BagFrameWriter(path, storage=storage, depth_encoding="16UC1") as writer:
        for k in range(n_frames):
            writer.write(1_000_000_000 + k * 100_000_000, rendered.rgb, rendered.camera,
                         depth_m=rendered.depth_m, instance_ids=rendered.instance_ids,
                         id_to_label=rendered.id_to_label)
    return truth


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_scenes_writes_one_record_per_frame_matching_truth(tmp_path, storage):
    truth = _write_bag(tmp_path / "bag", storage)
    out = tmp_path / "scenes.jsonl"
    done = subprocess.run([sys.executable, "-m", "spatial_vqa_ros.cli", "scenes",
                           str(tmp_path / "bag"), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3
    record = records[-1]
    assert record["stamp_ns"] == 1_200_000_000 and record["floor_found"]
    assert record["frame_id"] == "camera_floor" or record["frame_id"].endswith("_floor")
    assert record["camera_height_m"] == pytest.approx(truth.camera_height_m, abs=0.02)
    assert len(record["floor_plane_camera"]) == 4
    by_label = {}
    for o in record["objects"]:
        assert set(o) >= {"id", "label", "description", "center", "size", "visible_pixels",
                          "partial"}
        by_label.setdefault(o["label"], []).append(o)
    descriptions = [o["description"] for o in record["objects"]]
    assert len(descriptions) == len(set(descriptions))  # unique referring expressions
    checked = 0
    for t in truth.objects:
        candidates = by_label.get(t.label, [])
        if not candidates:
            continue
        o = min(candidates, key=lambda o: np.linalg.norm(np.array(o["center"]) - t.center_scene))
        if o["partial"]:
            continue
        _, width, height = o["size"]  # [depth (x), width (y), height (z)]
        assert width == pytest.approx(t.extent_scene[1], rel=0.25)
        assert height == pytest.approx(t.extent_scene[2], rel=0.25)
        checked += 1
    assert checked >= 2


def test_scenes_on_something_that_is_not_a_bag_fails_clearly(tmp_path):
    (tmp_path / "notabag").mkdir()
    done = subprocess.run([sys.executable, "-m", "spatial_vqa_ros.cli", "scenes",
                           str(tmp_path / "notabag")], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "spatial-vqa scenes:" in done.stderr and "notabag" in done.stderr


def test_an_unwritable_output_exits_2_with_the_reason(tmp_path, capsys):
    from spatial_vqa_ros.cli import main

    bag = tmp_path / "bag"
    write_synthetic_bag(bag, "scene", frames=1, seed=0, width=160, height=120)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["scenes", str(bag), "--out", str(blocker / "scenes.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "scenes.jsonl" in err and "Traceback" not in err


def test_png_dir_holds_one_picture_per_frame(tmp_path):
    from PIL import Image

    from spatial_vqa_ros.offline.scenes import bag_scenes

    _write_bag(tmp_path / "bag", "sqlite3", n_frames=2)
    summary = bag_scenes(tmp_path / "bag", tmp_path / "scenes.jsonl",
                         png_dir=tmp_path / "pictures")
    assert summary.frames_written == 2
    pictures = sorted((tmp_path / "pictures").glob("*.png"))
    assert [p.name for p in pictures] == ["1000000000.png", "1100000000.png"]
    with Image.open(pictures[0]) as picture:
        rgb = np.asarray(picture.convert("RGB"))
    height = rgb.shape[0]
    assert rgb.shape[1] == 640 + height  # the frame, then a square plan view beside it
    plan = rgb[:, 640:]
    assert (plan == (24, 24, 28)).all(axis=2).mean() > 0.5  # the map's background
    assert not (rgb[:, :640] == (24, 24, 28)).all(axis=2).any(axis=1).all()

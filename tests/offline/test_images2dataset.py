"""images2dataset: rendered image folders (rgb + depth + instance side files) through the
simulation chain into the same records as the bag path, each image its own scene;
resume after an interruption, per-image failures, and bad input that exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bag_support import CONFIG, check_consistent, write_image_folder
from PIL import Image

from spatial_vqa_ros.cli import main as cli_main
from spatial_vqa_ros.io.bags import BagFrameWriter
from spatial_vqa_ros.io.datasets import load_records
from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.offline.bag2dataset import (
    ImageFolderSource,
    bag2dataset,
    images2dataset,
)

N_IMAGES = 4


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Four unrelated rendered scenes seen by one camera (160 x 120), as a folder:
    images/ (PNG), depth/ (.npy metres), instances/ (16-bit PNG + labels JSON),
    camera.yaml."""
    return write_image_folder(tmp_path_factory.mktemp("imgs"), 5, N_IMAGES)


@pytest.fixture(scope="module")
def folder(rendered) -> Path:
    return rendered[0]


def run_images(folder: Path, out: Path, **kwargs):
    return images2dataset([folder / "images"], out, CONFIG, depth_dir=folder / "depth",
                          instances_dir=folder / "instances",
                          camera_info=folder / "camera.yaml", progress=False, **kwargs)


def test_every_image_becomes_a_consistent_record(tmp_path, folder):
    summary = run_images(folder, tmp_path / "out")
    assert summary.ok and summary.dataset.records == N_IMAGES
    records = sorted(load_records(tmp_path / "out"), key=lambda r: r["id"])
    assert [r["id"] for r in records] == [f"images/view_{k}.png" for k in range(N_IMAGES)]
    assert sum(check_consistent(r) for r in records) >= N_IMAGES * 3
    for record in records:
        assert record["source"]["kind"] == "images"
        assert record["scene_graph"]["provenance"]["intrinsics_source"] == "camera_info"
        assert Image.open(tmp_path / "out" / record["image"]).size == (160, 120)
    assert "Spatial VQA from images" in (tmp_path / "out" / "README.md").read_text()


def test_each_image_is_measured_as_a_one_frame_bag_is(tmp_path, folder, rendered):
    _, camera, frames = rendered
    bags = []
    for k, frame in enumerate(frames):
        path = tmp_path / "bags" / f"view_{k}"
        with BagFrameWriter(path) as writer:
            writer.write(1_000 + k, frame.rgb, camera, depth_m=frame.depth_m,
                         instance_ids=frame.instance_ids, id_to_label=frame.id_to_label)
        bags.append(path)
    bag2dataset(bags, tmp_path / "from_bags", CONFIG, progress=False)
    run_images(folder, tmp_path / "from_images")

    def objects(root):
        found = {}
        for record in load_records(root):
            index = int(record["id"].split("_")[-1].split(".")[0].split("/")[0])
            found[index] = sorted((o["label"], *np.round(o["center"], 6), *np.round(o["size"], 6))
                                  for o in record["scene_graph"]["objects"])
        return found

    from_bags, from_images = objects(tmp_path / "from_bags"), objects(tmp_path / "from_images")
    assert from_images == from_bags and len(from_images) == N_IMAGES


def test_an_interrupted_run_resumes_to_the_same_records(tmp_path, folder, monkeypatch):
    reference = tmp_path / "reference"
    run_images(folder, reference)
    original = ImageFolderSource._frame
    calls = []

    def dying(self, chain, index, path, images=None):
        calls.append(index)
        if len(calls) == 3:
            raise KeyboardInterrupt  # a Ctrl-C (or a kill) mid-folder
        return original(self, chain, index, path, images)

    monkeypatch.setattr(ImageFolderSource, "_frame", dying)
    with pytest.raises(KeyboardInterrupt):
        run_images(folder, tmp_path / "out")
    monkeypatch.setattr(ImageFolderSource, "_frame", original)
    summary = run_images(folder, tmp_path / "out")
    assert summary.ok
    got = sorted((r["id"], json.dumps(r["qa"])) for r in load_records(tmp_path / "out"))
    want = sorted((r["id"], json.dumps(r["qa"])) for r in load_records(reference))
    assert got == want
    again = run_images(folder, tmp_path / "out")
    assert again.skipped_complete == ["images"]


def test_a_broken_image_fails_alone(tmp_path, folder):
    copy = tmp_path / "copy"
    for name in ("images", "depth", "instances"):
        (copy / name).mkdir(parents=True)
        for path in (folder / name).iterdir():
            (copy / name / path.name).write_bytes(path.read_bytes())
    (copy / "camera.yaml").write_bytes((folder / "camera.yaml").read_bytes())
    (copy / "images" / "view 1.png").write_bytes(b"not a png")
    (copy / "depth" / "view 2.npy").unlink()
    summary = run_images(copy, tmp_path / "out")
    assert summary.dataset.records == N_IMAGES - 2
    report = summary.sources[0]
    assert report.frames_failed == 2
    assert any("cannot be read" in note for note in report.failure_notes)
    assert any("no depth file" in note for note in report.failure_notes)


def test_bad_input_exits_2_with_the_reason(tmp_path, folder, capsys):
    assert cli_main(["images2dataset", str(tmp_path / "nowhere"), str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli_main(["images2dataset", str(tmp_path / "empty"), str(tmp_path / "o")]) == 2
    assert "no images" in capsys.readouterr().err
    code = cli_main(["images2dataset", str(folder / "images"), str(tmp_path / "o"),
                     "--detector", "simulation", "--segmenter", "simulation"])
    assert code == 2 and "needs --depth-dir" in capsys.readouterr().err
    with pytest.raises(DataIOError, match="needs --instances-dir"):
        from spatial_vqa_ros.offline.frames import SIMULATION

        ImageFolderSource(folder / "images", perception=SIMULATION, depth_dir=folder / "depth")


def test_the_command_line_writes_the_dataset(tmp_path, folder, capsys):
    code = cli_main(["images2dataset", str(folder / "images"), str(tmp_path / "out"),
                     "--depth-dir", str(folder / "depth"), "--instances-dir",
                     str(folder / "instances"), "--camera-info", str(folder / "camera.yaml"),
                     "--detector", "simulation", "--segmenter", "simulation",
                     "--qa-per-image", "3", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert len(load_records(tmp_path / "out")) == N_IMAGES

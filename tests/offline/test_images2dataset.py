"""images2dataset: rendered image folders (rgb + depth + instance side files) through the
simulation chain into the same records as the bag path, each image its own scene;
resume after an interruption, per-image failures, and bad input that exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bag_support import CONFIG, check_consistent, write_image_folder
from image_support import damaged, png_bytes, png_header_only
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


def copy_folder(folder: Path, copy: Path) -> Path:
    """A writable copy of the rendered folder (images, side files, camera.yaml)."""
    for name in ("images", "depth", "instances"):
        (copy / name).mkdir(parents=True)
        for path in (folder / name).iterdir():
            (copy / name / path.name).write_bytes(path.read_bytes())
    (copy / "camera.yaml").write_bytes((folder / "camera.yaml").read_bytes())
    return copy


def cli_args(folder: Path, out: Path, *extra: str) -> list[str]:
    return ["images2dataset", str(folder / "images"), str(out), "--depth-dir",
            str(folder / "depth"), "--instances-dir", str(folder / "instances"),
            "--camera-info", str(folder / "camera.yaml"), "--detector", "simulation",
            "--segmenter", "simulation", "--qa-per-image", "3", "--no-progress", *extra]


def test_damaged_files_fail_alone_and_a_re_run_goes_past_them(tmp_path, folder, capsys):
    copy = copy_folder(folder, tmp_path / "copy")
    (copy / "images" / "view 0.png").write_bytes(png_header_only(30_000, 30_000))
    (copy / "depth" / "view 1.npy").unlink()  # a corrupt 16-bit depth PNG instead
    (copy / "depth" / "view 1.png").write_bytes(
        damaged(png_bytes(np.full((120, 160), 1500, np.uint16))))
    np.save(copy / "depth" / "view 2.npy", np.zeros((120, 160), dtype=[("z", "f4")]))
    (copy / "instances" / "view 3.png").write_bytes(
        damaged((folder / "instances" / "view 3.png").read_bytes()))
    for name in ("images/view 1.png", "depth/view 1.npy", "instances/view 1.png",
                 "instances/view 1.json"):  # one good image among them
        (copy / name.replace("view 1", "good")).write_bytes((folder / name).read_bytes())
    summary = run_images(copy, tmp_path / "api")
    notes = "\n".join(summary.sources[0].failure_notes)
    assert summary.sources[0].failed_by_reason == {"invalid": 4}
    assert "view 0.png is refused before decoding" in notes
    assert "depth PNG" in notes and "view 1.png is damaged" in notes
    assert "view 2.npy holds [('z', '<f4')] values" in notes
    assert "instance image" in notes and "view 3.png is damaged" in notes
    assert [r["id"] for r in load_records(tmp_path / "api")] == ["images/good.png"]
    for attempt in range(2):  # a re-run meets the same files and goes on the same way
        assert cli_main(cli_args(copy, tmp_path / "out")) == 1  # partial: some failed
        err = capsys.readouterr().err
        assert "Traceback" not in err and "failed: invalid 4" in err
        assert f"{1 - attempt} records written this run" in err


def test_max_pixels_refuses_images_before_decoding(tmp_path, folder, capsys):
    copy = copy_folder(folder, tmp_path / "copy")
    (copy / "images" / "view 0.png").write_bytes(png_header_only(10_000, 9_000))  # 68 bytes
    assert cli_main(cli_args(copy, tmp_path / "out")) == 1
    err = capsys.readouterr().err
    assert "view 0.png is 10000x9000 = 90000000 pixels, over the limit of 12000000" in err
    assert f"{N_IMAGES - 1} records written" in err
    assert cli_main(cli_args(copy, tmp_path / "small", "--max-pixels", "19199")) == 1
    err = capsys.readouterr().err  # 160 x 120 = 19200 pixels each
    assert "0 records written" in err and f"failed: invalid {N_IMAGES}" in err
    with pytest.raises(SystemExit) as exited:  # argparse's own exit for a bad option
        cli_main(cli_args(copy, tmp_path / "o", "--max-pixels", "0"))
    assert exited.value.code == 2
    assert "--max-pixels: must be >= 1, got 0" in capsys.readouterr().err


def test_the_default_pixel_limit_is_the_spatial_nodes(folder):
    from spatial_vqa_ros.nodes.config import SpatialNodeConfig

    source = ImageFolderSource(folder / "images", perception=CONFIG.perception,
                               depth_dir=folder / "depth", instances_dir=folder / "instances")
    assert source.max_pixels == SpatialNodeConfig().max_pixels == 12_000_000


def renamed_folder(folder: Path, root: Path, names: dict[int, str]) -> Path:
    """Rendered view k (image and side files) saved as ``names[k]`` (a relative path)."""
    for k, name in names.items():
        for kind, suffixes in (("images", (".png",)), ("depth", (".npy",)),
                               ("instances", (".png", ".json"))):
            for suffix in suffixes:
                target = root / kind / f"{name}{suffix}"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes((folder / kind / f"view {k}{suffix}").read_bytes())
    (root / "camera.yaml").write_bytes((folder / "camera.yaml").read_bytes())
    return root


def test_names_that_meet_as_keys_drop_no_image(tmp_path, folder, capsys):
    names = {0: "a b", 1: "a_b", 2: "a#b", 3: "#../x"}
    copy = renamed_folder(folder, tmp_path / "copy", names)
    assert cli_main(cli_args(copy, tmp_path / "out")) == 0
    err = capsys.readouterr().err
    assert "keys: 2 images named like another once made key-safe" in err
    assert "same stamp" not in err
    ids = sorted(r["id"] for r in load_records(tmp_path / "out"))
    assert len(ids) == N_IMAGES and "images/a_b.png" in ids and "images/_/x.png" in ids
    assert cli_main(cli_args(copy, tmp_path / "out")) == 0  # the same keys: nothing new
    assert "complete in the dataset already, nothing new to read" in capsys.readouterr().err
    assert sorted(r["id"] for r in load_records(tmp_path / "out")) == ids


def test_images_added_to_a_complete_folder_are_read_and_only_they(tmp_path, folder,
                                                                  monkeypatch):
    copy = renamed_folder(folder, tmp_path / "copy", {0: "view 0", 1: "view 1"})
    first = run_images(copy, tmp_path / "out")
    assert first.ok and first.dataset.records == 2
    renamed_folder(folder, copy, {2: "view 2", 3: "sub/view 3"})
    original, read = ImageFolderSource._frame, []

    def counted(self, chain, index, path, images=None):
        read.append(path.name)
        return original(self, chain, index, path, images)

    monkeypatch.setattr(ImageFolderSource, "_frame", counted)
    again = run_images(copy, tmp_path / "out")
    assert sorted(read) == ["view 2.png", "view 3.png"]  # the two old ones not read again
    report = again.sources[0]
    assert again.ok and again.skipped_complete == [] and again.dataset.records == N_IMAGES
    assert (report.records, report.frames_done_before, report.complete) == (2, 2, True)
    reference = tmp_path / "reference"  # the same four images in one run
    run_images(copy, reference)
    for root in (tmp_path / "out", reference):
        lines = [json.loads(line) for line in (root / "scene_graphs.jsonl").open()]
        assert sorted(line["id"] for line in lines) == sorted(
            r["id"] for r in load_records(root))
    got = sorted((r["id"], json.dumps(r["qa"])) for r in load_records(tmp_path / "out"))
    assert got == sorted((r["id"], json.dumps(r["qa"])) for r in load_records(reference))
    read.clear()
    assert run_images(copy, tmp_path / "out").skipped_complete == ["images"] and not read

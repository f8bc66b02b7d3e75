"""bag2dataset end to end on small generated bags: records, consistency, resume, bad input."""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from bag_support import CONFIG, PERIOD_NS, T0_NS, check_consistent, write_bag

from spatial_vqa_ros.cli import main as cli_main
from spatial_vqa_ros.core.vqa import SynthesisConfig
from spatial_vqa_ros.io import atomic as atomic_module
from spatial_vqa_ros.io.bags import BagFrameWriter
from spatial_vqa_ros.io.datasets import DatasetWriter, load_records
from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.offline.bag2dataset import Bag2DatasetConfig, bag2dataset
from spatial_vqa_ros.synthetic.render import render
from spatial_vqa_ros.synthetic.scenes import random_camera, random_sequence


@pytest.fixture(scope="module")
def bags(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("bags")
    return [write_bag(root / "lab_a", 1, blank=frozenset({2})), write_bag(root / "lab_b", 2)]


def _sorted_records(root: Path) -> list[dict]:
    return sorted(load_records(root), key=lambda r: r["id"])


def test_bags_become_valid_llava_records_consistent_with_their_scene_graphs(
        tmp_path: Path, bags: list[Path]) -> None:
    out = tmp_path / "out"
    summary = bag2dataset(bags, out, CONFIG, progress=False)
    assert summary.ok
    totals = summary.totals()
    assert totals["frames_read"] == 16 and totals["frames_no_objects"] == 1
    assert totals["records"] == 15 == summary.dataset.records
    records = _sorted_records(out)
    assert len(records) == 15 and len({r["id"] for r in records}) == 15
    assert sum(totals["qa_by_category"].values()) == sum(len(r["qa"]) for r in records)
    from PIL import Image

    checked = 0
    for record in records:
        turns = record["conversations"]
        assert [t["from"] for t in turns] == ["human", "gpt"] * len(record["qa"])
        assert turns[0]["value"].startswith("<image>\n")
        assert all("<image>" not in t["value"] for t in turns[1:])
        assert [t["value"] for t in turns[0::2]] == [
            ("<image>\n" if k == 0 else "") + qa["question"] for k, qa in enumerate(record["qa"])]
        assert [t["value"] for t in turns[1::2]] == [qa["answer"] for qa in record["qa"]]
        source = record["source"]
        assert record["id"] == f"{source['name']}/{source['stamp_ns']}"
        assert source["kind"] == "rosbag2" and source["topic"] == "/camera/color/image_raw"
        assert Image.open(out / record["image"]).size == (record["width"], record["height"])
        checked += check_consistent(record)
    assert checked == sum(len(r["qa"]) for r in records)

    scene_lines = [json.loads(x) for x in (out / "scene_graphs.jsonl").read_text().splitlines()]
    assert len(scene_lines) == 16  # every processed frame, the blank one too
    blank = [x for x in scene_lines if not x["objects"]]
    assert [x["id"] for x in blank] == [f"lab_a/{T0_NS + 2 * PERIOD_NS}"]
    by_id = {x["id"]: x for x in scene_lines}
    assert all(by_id[r["id"]]["objects"] == r["scene_graph"]["objects"] for r in records)
    manifest = json.loads((out / "progress.json").read_text())
    assert manifest["skipped"] == {f"lab_a/{T0_NS + 2 * PERIOD_NS}": "no_objects"}
    assert all(s["complete"] for s in manifest["sources"].values())
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset("json", data_files=str(out / "data" / "*.jsonl"),
                                   split="train", cache_dir=str(tmp_path / "cache"))
    assert sorted(loaded["id"]) == [r["id"] for r in records]


def test_output_is_deterministic_under_the_seed(tmp_path: Path, bags: list[Path]) -> None:
    bag2dataset(bags[:1], tmp_path / "a", CONFIG, progress=False)
    bag2dataset(bags[:1], tmp_path / "b", CONFIG, progress=False)
    other = Bag2DatasetConfig(synthesis=SynthesisConfig(qa_per_image=6, seed=8, units="mixed",
                                                        qualitative_fraction=0.25), shard_size=4)
    bag2dataset(bags[:1], tmp_path / "c", other, progress=False)
    a, b, c = (_sorted_records(tmp_path / name) for name in "abc")
    assert a == b
    assert [r["scene_graph"] for r in a] == [r["scene_graph"] for r in c]
    assert [r["conversations"] for r in a] != [r["conversations"] for r in c]
    images = [sorted(p.read_bytes() for p in (tmp_path / n / "images").rglob("*.jpg"))
              for n in "ab"]
    assert images[0] == images[1]


def test_an_interrupted_run_resumes_to_the_same_dataset(tmp_path: Path, bags: list[Path],
                                                        monkeypatch) -> None:
    bag2dataset(bags, tmp_path / "clean", CONFIG, progress=False)
    real_add = DatasetWriter.add
    calls = []

    def add_then_die(self, *args):
        calls.append(1)
        if len(calls) == 11:  # mid second bag, mid shard
            raise KeyboardInterrupt
        real_add(self, *args)

    monkeypatch.setattr(DatasetWriter, "add", add_then_die)
    with pytest.raises(KeyboardInterrupt):
        bag2dataset(bags, tmp_path / "out", CONFIG, progress=False)
    monkeypatch.undo()
    partial = load_records(tmp_path / "out")
    assert 0 < len(partial) < 15
    summary = bag2dataset(bags, tmp_path / "out", CONFIG, progress=False)
    assert summary.skipped_complete == ["lab_a"]
    assert summary.totals()["frames_done_before"] > 0
    assert _sorted_records(tmp_path / "out") == _sorted_records(tmp_path / "clean")
    lines = (tmp_path / "out" / "scene_graphs.jsonl").read_text().splitlines()
    assert sorted(lines) == sorted((tmp_path / "clean" / "scene_graphs.jsonl").read_text()
                                   .splitlines())
    summary = bag2dataset(bags, tmp_path / "out", CONFIG, progress=False)  # nothing left
    assert summary.skipped_complete == ["lab_a", "lab_b"] and summary.sources == []


def test_a_full_disk_stops_with_a_clear_error_and_the_run_resumes(
        tmp_path: Path, bags: list[Path], monkeypatch) -> None:
    real_write = atomic_module._write
    budget = {"writes": 12}

    def write_until_full(fd, data):
        budget["writes"] -= 1
        if budget["writes"] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(atomic_module, "_write", write_until_full)
    with pytest.raises(DataIOError, match="no space left on the device.*intact.*same command"):
        bag2dataset(bags, tmp_path / "out", CONFIG, progress=False)
    kept = load_records(tmp_path / "out")  # every shard still parses
    assert len(kept) > 0
    monkeypatch.undo()
    bag2dataset(bags, tmp_path / "out", CONFIG, progress=False)
    bag2dataset(bags, tmp_path / "clean", CONFIG, progress=False)
    assert _sorted_records(tmp_path / "out") == _sorted_records(tmp_path / "clean")


def test_missing_topics_unknown_encodings_and_blank_frames_are_counted(tmp_path: Path) -> None:
    no_depth = write_bag(tmp_path / "no_depth", 3, n_frames=3, depth=False)
    summary = bag2dataset([no_depth], tmp_path / "out1", CONFIG, progress=False)
    report = summary.sources[0]
    assert report.failed_by_reason == {"no_depth": 3} and summary.dataset.records == 0
    assert not summary.ok
    assert "topic /camera/depth/image_raw is not in the bag" in report.failure_notes[0]

    odd = tmp_path / "odd"
    with BagFrameWriter(odd) as writer:
        image = writer.image_message(T0_NS, np.zeros((120, 320), np.uint8), "mono8", "cam")
        image.encoding, image.width = "yuv422", 160
        writer.write_message(writer.topics.rgb, "sensor_msgs/msg/Image", T0_NS, image)
        writer.write_message(writer.topics.camera_info, "sensor_msgs/msg/CameraInfo", T0_NS,
                             writer.camera_info_message(T0_NS, random_camera(
                                 np.random.default_rng(0), 160, 120)))
    write_bag(tmp_path / "good", 4, n_frames=2, blank=frozenset({0}))
    shutil.copytree(tmp_path / "good", tmp_path / "mixed")
    summary = bag2dataset([odd, tmp_path / "mixed"], tmp_path / "out2", CONFIG, progress=False)
    reports = {r.name: r for r in summary.sources}
    assert reports["odd"].reader["skipped_bad_encoding"] == 1
    assert reports["odd"].frames_read == 0 and reports["odd"].complete
    assert reports["mixed"].frames_no_objects == 1 and reports["mixed"].records == 1


def test_damaged_bags_fail_clearly_and_keep_what_was_written(tmp_path: Path) -> None:
    cut = write_bag(tmp_path / "cut", 5, n_frames=3, storage="mcap")
    (data,) = cut.glob("*.mcap")
    data.write_bytes(data.read_bytes()[:-5000])  # cut inside its only chunk: nothing left
    with pytest.raises(DataIOError, match=r"cut is corrupt or truncated \(File end magic.*"
                                          "nothing could be salvaged"):
        bag2dataset([cut], tmp_path / "out0", CONFIG, progress=False)
    assert not (tmp_path / "out0").exists()

    lost = write_bag(tmp_path / "lost", 5, n_frames=6)  # messages gone after frame 3
    with sqlite3.connect(next(lost.glob("*.db3"))) as db:
        db.execute("DELETE FROM messages WHERE timestamp > ?", (T0_NS + 3 * PERIOD_NS,))
    summary = bag2dataset([lost], tmp_path / "out", CONFIG, progress=False)
    report = summary.sources[0]
    assert not report.complete and not summary.ok
    assert "corrupt or truncated: read 4 of the 6 messages" in report.error
    assert report.records == 4 == len(load_records(tmp_path / "out"))
    again = bag2dataset([lost], tmp_path / "out", CONFIG, progress=False)
    assert again.sources[0].frames_done_before == 4 and again.dataset.records == 4

    with pytest.raises(DataIOError, match="not a rosbag2 bag"):
        bag2dataset([tmp_path], tmp_path / "out2", CONFIG, progress=False)
    with pytest.raises(DataIOError, match="does not exist"):
        bag2dataset([tmp_path / "nope"], tmp_path / "out3", CONFIG, progress=False)
    shutil.copytree(lost, tmp_path / "elsewhere" / "lost")
    with pytest.raises(DataIOError, match="distinct names.*repeated: lost"):
        bag2dataset([lost, tmp_path / "elsewhere" / "lost"], tmp_path / "out4", CONFIG,
                    progress=False)


def test_the_command_line_writes_a_dataset_and_reports(tmp_path: Path, bags: list[Path],
                                                       capsys) -> None:
    out = tmp_path / "out"
    code = cli_main(["bag2dataset", str(bags[1]), str(out), "--seed", "7", "--qa-per-image", "6",
                     "--units", "mixed", "--qualitative-fraction", "0.25", "--shard-size", "4",
                     "--every-n", "2", "--image-format", "png", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "frames: 8 read, 4 selected" in err and "lab_b: 8 frames, 4 records, complete" in err
    assert len(list((out / "images" / "lab_b").glob("*.png"))) == 4
    code = cli_main(["bag2dataset", str(bags[1]), str(out), "--seed", "8", "--no-progress"])
    assert code == 2
    assert "written with other settings" in capsys.readouterr().err
    code = cli_main(["bag2dataset", str(tmp_path / "missing"), str(tmp_path / "o"),
                     "--no-progress"])
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_frames_repeating_a_stamp_are_counted_not_fatal(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    camera = random_camera(rng, 160, 120)
    scene = random_sequence(rng, 1, camera)[0]
    rendered = render(scene)
    bag = tmp_path / "repeats"
    with BagFrameWriter(bag) as writer:
        for stamp in (T0_NS, T0_NS, T0_NS + 10**8):  # a driver republished the first frame
            writer.write(stamp, rendered.rgb, camera, depth_m=rendered.depth_m,
                         instance_ids=rendered.instance_ids, id_to_label=scene.id_to_label)
    summary = bag2dataset([bag], tmp_path / "out", CONFIG, progress=False)
    (report,) = summary.sources
    assert report.failed_by_reason == {"duplicate_stamp": 1}
    assert summary.dataset.records == 2 and report.complete


def test_a_recording_cut_by_a_power_loss_gives_its_complete_frames(tmp_path: Path) -> None:
    """An mcap without its summary, footer and metadata.yaml (the recorder died): the
    frames before the damage become records, and the summary says what was salvaged."""
    bag = write_bag(tmp_path / "cut", 4, n_frames=10, size=(320, 240), storage="mcap")
    (bag / "metadata.yaml").unlink()
    recording = bag / "cut.mcap"
    recording.write_bytes(recording.read_bytes()[: int(recording.stat().st_size * 0.75)])
    summary = bag2dataset([bag], tmp_path / "out", CONFIG, progress=False)
    assert summary.ok and 0 < summary.totals()["frames_read"] < 10
    assert "salvaged cut.mcap" in summary.format()
    for record in load_records(tmp_path / "out"):
        check_consistent(record)

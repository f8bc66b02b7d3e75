"""The dataset writer: atomic files, resume without duplicates, full disk, loading."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from dataset_support import SETTINGS, T0, dataset_item

from spatial_vqa_ros.io import atomic as atomic_module
from spatial_vqa_ros.io.datasets import (
    DatasetWriter,
    atomic_write,
    encode_image,
    image_relpath,
    load_records,
    push_to_hub,
)
from spatial_vqa_ros.io.errors import DataIOError

REPO = Path(__file__).resolve().parents[2]


def _shard_bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "data").glob("shard-*.jsonl"))}


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def _load(root: Path, cache: Path):
    datasets = pytest.importorskip("datasets")
    return datasets.load_dataset("json", data_files=str(root / "data" / "*.jsonl"),
                                 split="train", cache_dir=str(cache))


def test_records_are_sharded_loadable_and_carry_images(tmp_path: Path) -> None:
    root = tmp_path / "out"
    with DatasetWriter(root, SETTINGS, shard_size=3) as writer:
        for i in range(7):
            writer.add(*dataset_item(i, value=1.0 + i))
        writer.skip(f"bag/{T0 + 99}", "no_objects")
    assert sorted(_shard_bytes(root)) == ["shard-00000.jsonl", "shard-00001.jsonl",
                                          "shard-00002.jsonl"]
    records = load_records(root)
    assert [r["id"] for r in records] == [f"bag/{T0 + i}" for i in range(7)]
    first = records[0]
    assert first["conversations"][0] == {"from": "human",
                                         "value": "<image>\nIs the mug left of the box?"}
    assert [t["from"] for t in first["conversations"]] == ["human", "gpt"] * 2
    assert first["qa"][0]["object_id"] == 2 and first["qa"][0]["truth"] == "true"
    assert first["qa"][1]["value"] == 1.0 and first["qa"][1]["truth"] == ""
    from PIL import Image

    for record in records:
        assert Image.open(root / record["image"]).size == (8, 6)

    loaded = _load(root, tmp_path / "cache")
    assert len(loaded) == 7 and loaded[6]["qa"][1]["value"] == 7.0
    datasets = pytest.importorskip("datasets")
    whole = datasets.load_dataset(str(root), split="train", cache_dir=str(tmp_path / "c2"))
    assert sorted(whole["id"]) == sorted(r["id"] for r in records)  # via the card's configs

    manifest = json.loads((root / "progress.json").read_text())
    assert manifest["records"] == 7 and manifest["skipped"] == {f"bag/{T0 + 99}": "no_objects"}
    card = (root / "README.md").read_text()
    assert "path: data/*.jsonl" in card and '"seed": 3' in card
    assert "| distance | 7 |" in card and "| left_predicate | 7 |" in card
    assert "no_objects: 1" in card and "records: 7" in card and "shards: 3" in card
    assert f"![bag/{T0}](images/bag/{T0}.jpg)" in card  # examples: the first records
    assert card.count("- Q: Is the mug left of the box?") == 3 * 2 and "  A: Yes." in card
    assert _temp_files(root) == []


def test_png_images_and_format_checks(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path / "out", SETTINGS, image_format="png") as writer:
        key, image, record = dataset_item(0, image_format="png")
        writer.add(key, image, record)
        assert image.startswith(b"\x89PNG")
        with pytest.raises(DataIOError, match="must have image 'images/bag/.*\\.png'"):
            writer.add(*dataset_item(1))  # a jpg record for a png dataset
        with pytest.raises(DataIOError, match="in the dataset already"):
            writer.add(key, image, record)
    with pytest.raises(DataIOError, match="item key 'bag/../x'"):
        image_relpath("bag/../x")
    with pytest.raises(DataIOError, match="image_format must be one of"):
        DatasetWriter(tmp_path / "other", SETTINGS, image_format="gif")


def test_atomic_write_keeps_the_old_file_when_the_rename_fails(tmp_path: Path,
                                                              monkeypatch) -> None:
    target = tmp_path / "file.txt"
    atomic_write(target, b"old")

    def fail(*_):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(atomic_module, "_replace", fail)
    with pytest.raises(OSError, match="I/O error"):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert _temp_files(tmp_path) == []


_KILLED_WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from dataset_support import SETTINGS, dataset_item
    from spatial_vqa_ros.io.datasets import DatasetWriter
    writer = DatasetWriter({root!r}, SETTINGS, shard_size=4)
    for i in range(10):
        writer.add(*dataset_item(i, value=0.5))
        if i == 5:
            writer.flush()   # shard 1 half full on disk
        print("added", i, flush=True)
        if i == 6:
            sys.stdin.readline()  # wait here to be killed: item 6 only in memory
""")


def test_resume_after_a_kill_mid_shard_writes_every_item_once(tmp_path: Path) -> None:
    root = tmp_path / "out"
    script = _KILLED_WRITER.format(tests=str(Path(__file__).parent), root=str(root))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE, text=True, cwd=REPO, env=dict(os.environ))
    try:
        for line in proc.stdout:
            if line.strip() == "added 6":
                break
        proc.kill()
    finally:
        proc.wait(timeout=10)
    on_disk = [r["id"] for r in load_records(root)]
    assert on_disk == [f"bag/{T0 + i}" for i in range(6)]  # shard 0 full, shard 1 flushed

    with DatasetWriter(root, SETTINGS, shard_size=4) as writer:
        assert writer.done_keys("bag") == {f"bag/{T0 + i}" for i in range(6)}
        for i in range(12):
            key, image, record = dataset_item(i, value=0.5)
            if not writer.is_done(key):
                writer.add(key, image, record)
    ids = [r["id"] for r in load_records(root)]
    assert sorted(ids) == sorted(f"bag/{T0 + i}" for i in range(12))
    assert len(ids) == len(set(ids))
    assert [len(s.splitlines()) for s in map(bytes.decode, _shard_bytes(root).values())] == \
        [4, 4, 4]
    assert _temp_files(root) == []
    assert len(_load(root, tmp_path / "cache")) == 12


def test_a_full_disk_raises_a_clear_error_and_keeps_what_was_written(tmp_path: Path,
                                                                      monkeypatch) -> None:
    root = tmp_path / "out"
    writer = DatasetWriter(root, SETTINGS, shard_size=2)
    for i in range(4):
        writer.add(*dataset_item(i))
    before = _shard_bytes(root)
    assert len(before) == 2

    def disk_full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_module, "_write", disk_full)
    with pytest.raises(DataIOError, match="no space left on the device while writing image.*"
                       "the 4 records already in .* are intact.*run the same command again"):
        writer.add(*dataset_item(4))
    with pytest.raises(DataIOError, match="stopped after an error: no space left"):
        writer.add(*dataset_item(5))
    writer.close()  # tries the open shard once more; the disk is still full
    assert _shard_bytes(root) == before
    assert _temp_files(root) == []

    monkeypatch.undo()  # space freed: the same settings resume
    with DatasetWriter(root, SETTINGS, shard_size=2) as writer:
        for i in range(6):
            key, image, record = dataset_item(i)
            if not writer.is_done(key):
                writer.add(key, image, record)
    assert [r["id"] for r in load_records(root)] == [f"bag/{T0 + i}" for i in range(6)]


def test_a_failing_shard_rename_keeps_the_previous_shard(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "out"
    writer = DatasetWriter(root, SETTINGS, shard_size=10)
    writer.add(*dataset_item(0))
    writer.flush()
    before = _shard_bytes(root)
    writer.add(*dataset_item(1))
    real_replace = atomic_module._replace

    def fail_for_shards(src, dst):
        if str(dst).endswith(".jsonl"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(atomic_module, "_replace", fail_for_shards)
    with pytest.raises(DataIOError, match="no space left .* shard"):
        writer.flush()
    writer.close()
    assert _shard_bytes(root) == before
    assert [r["id"] for r in load_records(root)] == [f"bag/{T0}"]


def test_types_first_seen_late_are_anchored_in_shard_0(tmp_path: Path) -> None:
    """Shard 0 has only null values and empty warnings; later records have both."""
    root = tmp_path / "out"
    with DatasetWriter(root, SETTINGS, shard_size=3) as writer:
        for i in range(3):
            writer.add(*dataset_item(i))
        writer.add(*dataset_item(3))
        writer.add(*dataset_item(4, value=2.5))
        writer.add(*dataset_item(5, warnings=("no floor found",)))
        writer.add(*dataset_item(6, value=1.5, warnings=("again",)))
    shards = {name: [json.loads(x)["id"] for x in text.splitlines()]
              for name, text in ((n, b.decode()) for n, b in _shard_bytes(root).items())}
    assert shards["shard-00000.jsonl"][:2] == [f"bag/{T0 + 5}", f"bag/{T0 + 4}"]
    ids = [i for shard in shards.values() for i in shard]
    assert sorted(ids) == sorted(f"bag/{T0 + i}" for i in range(7))
    loaded = _load(root, tmp_path / "cache")
    assert sorted(v for r in loaded["qa"] for v in (q["value"] for q in r)
                  if v is not None) == [1.5, 2.5]
    assert sum(len(sg["warnings"]) for sg in loaded["scene_graph"]) == 2


def test_other_settings_a_foreign_directory_and_a_second_writer_are_refused(
        tmp_path: Path) -> None:
    root = tmp_path / "out"
    with DatasetWriter(root, SETTINGS) as writer:
        writer.add(*dataset_item(0))
        with pytest.raises(DataIOError, match="another process is writing"):
            DatasetWriter(root, SETTINGS)
    with pytest.raises(DataIOError, match=r"other settings \(settings.seed: 3 there, 4 now\)"):
        DatasetWriter(root, {**SETTINGS, "seed": 4})
    with pytest.raises(DataIOError, match="shard_size: 1000 there, 5 now"):
        DatasetWriter(root, SETTINGS, shard_size=5)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DataIOError, match="is not empty .notes.txt. and holds no dataset"):
        DatasetWriter(foreign, SETTINGS)
    with DatasetWriter(root, SETTINGS) as writer:  # the lock was released
        assert writer.is_done(f"bag/{T0}")


def test_scene_lines_of_a_source_are_merged_once(tmp_path: Path) -> None:
    root = tmp_path / "out"
    with DatasetWriter(root, SETTINGS) as writer:
        for attempt in range(2):  # the second run of "a" replaces its lines
            writer.begin_source("a", {"kind": "test", "uri": "a"})
            for i in range(3):
                writer.add_scene("a", {"id": f"a/{i}", "source": "a", "attempt": attempt})
            writer.end_source("a", {"frames": 3})
        writer.begin_source("b", {"kind": "test", "uri": "b"})
        writer.add_scene("b", {"id": "b/0", "source": "b"})
        writer.end_source("b", {}, complete=False)  # incomplete: its lines are not merged
        assert writer.source_complete("a") and not writer.source_complete("b")
    lines = [json.loads(x) for x in (root / "scene_graphs.jsonl").read_text().splitlines()]
    assert [(x["id"], x["attempt"]) for x in lines] == [(f"a/{i}", 1) for i in range(3)]
    assert _temp_files(root) == []


def test_push_to_hub_fails_clearly_offline_and_unreachable(tmp_path: Path,
                                                          monkeypatch) -> None:
    root = tmp_path / "out"
    with DatasetWriter(root, SETTINGS) as writer:
        writer.add(*dataset_item(0))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataIOError, match="offline mode is on .HF_HUB_OFFLINE"):
        push_to_hub(root, "someone/spatial-vqa")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    pytest.importorskip("huggingface_hub")
    with pytest.raises(DataIOError, match="cannot push .* to the Hugging Face Hub as "
                       "someone/spatial-vqa"):
        push_to_hub(root, "someone/spatial-vqa", token="hf_fake", endpoint="http://127.0.0.1:9")
    with pytest.raises(DataIOError, match="not a dataset written by spatial_vqa_ros"):
        push_to_hub(tmp_path, "someone/spatial-vqa")


def test_encode_image_round_trips(tmp_path: Path) -> None:
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    png = Image.open(io.BytesIO(encode_image(rgb, "png")))
    np.testing.assert_array_equal(np.asarray(png), rgb)
    with pytest.raises(DataIOError, match=r"must be \(H, W, 3\) uint8"):
        encode_image(rgb[..., 0])

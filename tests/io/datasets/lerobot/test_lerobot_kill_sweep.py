"""The LeRobot writer killed (os._exit, as kill -9: no cleanup runs) just before or just
after each of its file replacements, then run again: every time the parquet records,
info.json and stats.json equal an uninterrupted run's, and the videos decode to the same
frames (the encoder's bytes may differ), with no temp file and no file of ours left over."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lerobot_support import write_golden_dataset

from spatial_vqa_ros.io import atomic
from spatial_vqa_ros.io.datasets.lerobot import decode_frames

EPISODES, FRAMES = 2, 3
#: Creating the dataset replaces 2 files (manifest, info.json); each episode 8 (manifest
#: marked pending, tasks, video, data, episodes table, manifest, stats, info).
REPLACES = 2 + 8 * EPISODES


def _run_counting(root: Path, kill_at: int | None = None, after: bool = False) -> int:
    real = atomic._replace
    count = [0]

    def replace(src, dst):
        count[0] += 1
        if count[0] == kill_at and not after:
            os._exit(9)
        real(src, dst)
        if count[0] == kill_at and after:
            os._exit(9)

    atomic._replace = replace
    try:
        write_golden_dataset(root, episodes=EPISODES, frames=FRAMES)
    finally:
        atomic._replace = real
    return count[0]


def _die_at(root: Path, kill_at: int, after: bool) -> None:
    _run_counting(root, kill_at, after)
    os._exit(0)  # finished before the kill point


def content(root: Path) -> dict:
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = str(path.relative_to(root))
        if path.suffix == ".parquet":
            out[name] = pq.read_table(path).to_pylist()
        elif path.suffix == ".mp4":
            out[name] = decode_frames(path).tobytes()
        elif name in ("meta/info.json", "meta/stats.json"):
            out[name] = path.read_text()
        else:  # the lock and our manifest (its timestamps differ between runs)
            out[name] = None
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("reference") / "ds"
    assert _run_counting(root) == REPLACES
    return content(root)


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("kill_at", range(1, REPLACES + 1))
def test_a_kill_at_any_file_replacement_resumes_to_the_same_dataset(tmp_path, reference,
                                                                    kill_at, after):
    root = tmp_path / "ds"
    child = multiprocessing.get_context("fork").Process(target=_die_at,
                                                        args=(root, kill_at, after))
    child.start()
    child.join(120)
    assert child.exitcode == 9, f"the child was not killed at replace {kill_at}"
    write_golden_dataset(root, episodes=EPISODES, frames=FRAMES)
    assert content(root) == reference
    assert not [p for p in root.rglob("*") if p.name.endswith(atomic.TMP_SUFFIX)]

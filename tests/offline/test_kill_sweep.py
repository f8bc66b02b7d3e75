"""bag2dataset killed (os._exit, as kill -9: no cleanup runs) just before or just after
each of many file replacements, then run again: every time the result equals an
uninterrupted run's records, with no duplicates and no image without a record. Kill
points include the very first files, before any manifest exists (a run killed then
used to be refused as "not empty ... holds no dataset")."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest
from bag_support import CONFIG, write_bag

from spatial_vqa_ros.io.datasets import load_records
from spatial_vqa_ros.offline.bag2dataset import bag2dataset


def _die_at(bags, out, kill_at: int, after: bool) -> None:
    """In a forked child: run bag2dataset and exit hard at the kill_at-th replace."""
    from spatial_vqa_ros.io import atomic

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
    bag2dataset(bags, out, CONFIG, progress=False)
    os._exit(0)  # finished before the kill point


@pytest.fixture(scope="module")
def bags(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("bags")
    return [write_bag(root / "lab_a", 1, n_frames=4), write_bag(root / "lab_b", 2, n_frames=3)]


def content(root: Path) -> tuple[list[str], list[str]]:
    records = sorted(json.dumps(r, sort_keys=True) for r in load_records(root))
    images = sorted(str(p.relative_to(root)) for p in (root / "images").rglob("*")
                    if p.is_file())
    return records, images


#: A full run of these two bags replaces 18 files (images, shards, scene lines, the
#: manifest, the card): every one is a kill point, before and after it lands.
@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("kill_at", range(1, 19))
def test_a_kill_at_any_file_operation_resumes_to_the_same_dataset(tmp_path, bags, kill_at,
                                                                  after):
    reference = tmp_path / "reference"
    bag2dataset(bags, reference, CONFIG, progress=False)
    want_records, want_images = content(reference)
    out = tmp_path / "out"
    child = multiprocessing.get_context("fork").Process(target=_die_at,
                                                        args=(bags, out, kill_at, after))
    child.start()
    child.join(120)
    assert child.exitcode in (9, 0)
    summary = bag2dataset(bags, out, CONFIG, progress=False)
    assert summary.ok
    records, images = content(out)
    assert records == want_records  # same records, none twice
    assert images == want_images  # no orphan image, none missing
    keys = [json.loads(r)["id"] for r in records]
    assert len(keys) == len(set(keys))
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]

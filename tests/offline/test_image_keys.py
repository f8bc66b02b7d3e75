"""Record keys of image sources (offline/bag2dataset/keys.py): every row a key of its
own, valid for the dataset, the same on a re-run, never another row's real id."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.io.datasets.schema import check_key
from spatial_vqa_ros.offline.bag2dataset.keys import MAX_PART, safe_part, unique_keys


def keys_of(names: list[str]) -> tuple[tuple[str, ...], int]:
    found = unique_keys(names, [safe_part(n) for n in names])
    return found.keys, found.collisions


def test_ids_that_meet_once_made_key_safe_all_keep_a_row() -> None:
    keys, collisions = keys_of(["a b", "a_b", "a/b", "a#b"])
    assert len(set(keys)) == 4 and collisions == 3
    assert keys[1] == "a_b"  # the id that is key-safe as it is keeps its key
    assert all(k.startswith("a_b-") and len(k) == len("a_b-") + 8 for k in keys[::2])


def test_repeated_ids_keep_every_row() -> None:
    keys, collisions = keys_of(["x", "x", "x", "y"])
    assert keys[0] == "x" and keys[3] == "y" and len(set(keys)) == 4 and collisions == 2


def test_dot_names_become_valid_key_parts() -> None:
    names = [".", "..", "#..", "", "..."]
    keys, collisions = keys_of(names)
    assert len(set(keys)) == len(names) and collisions == len(names) - 1
    for key in keys:
        assert check_key(f"source/{key}")
    assert safe_part("#..") == "_" and safe_part("a..b") == "a..b"


def test_keys_are_the_same_on_a_re_run_of_the_same_data() -> None:
    names = ["a b", "a_b", "x", "x", "..", "#.."]
    assert keys_of(names) == keys_of(list(names))


def test_a_suffixed_key_never_takes_a_real_id() -> None:
    (_, taken), _ = keys_of(["a_b", "a b"])
    keys, _ = keys_of(["a b", "a_b", taken])  # a row whose real id is that key
    assert keys[2] == taken and keys[0] not in (taken, "a_b") and len(set(keys)) == 3


def test_an_over_long_part_is_cut_and_stays_unique() -> None:
    long_a, long_b = "a" * 300, "a" * 299 + "b"
    keys, _ = keys_of([long_a, long_b])
    assert keys[0] != keys[1] and all(len(k) == MAX_PART for k in keys)


def test_names_and_candidates_must_pair_up() -> None:
    with pytest.raises(ValueError, match="2 names but 1 candidates"):
        unique_keys(["a", "b"], ["a"])

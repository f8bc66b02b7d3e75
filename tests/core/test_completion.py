"""Support completion: an object extends down to the floor or to the top of the object
it stands on (and keeps a hidden part below when the view cannot show that top under
it); the search for that top runs over every pair of objects in a frame, on plain
floats (``completion._tops_below``), and must find what the straightforward search
finds."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from builders import SCENE, est

from spatial_vqa_ros.core.completion import (
    CompletionConfig,
    _tops_below,
    complete_objects,
    snap_to_support,
)
from spatial_vqa_ros.core.gate import judge


def _reference_tops_below(estimates) -> list[float]:
    """The search as it was first written: per object, every other localised object's
    top at or below its base (1 cm slack) whose footprint overlaps, highest wins."""
    out = []
    for e in estimates:
        z_lo = e.center_scene[2] - e.extent_scene[2] / 2
        best = 0.0
        for other in estimates:
            if other is e or not other.localised:
                continue
            top = other.center_scene[2] + other.extent_scene[2] / 2
            a_lo, a_hi = (e.center_scene[:2] - e.extent_scene[:2] / 2,
                          e.center_scene[:2] + e.extent_scene[:2] / 2)
            b_lo, b_hi = (other.center_scene[:2] - other.extent_scene[:2] / 2,
                          other.center_scene[:2] + other.extent_scene[:2] / 2)
            if best < top <= z_lo + 0.01 and np.all(a_lo < b_hi) and np.all(b_lo < a_hi):
                best = float(top)
        out.append(best)
    return out


def test_a_mug_on_a_table_snaps_to_the_table_top_and_a_box_beside_it_to_the_floor():
    table = est("table", [2.0, 0.0, 0.375], (0.8, 1.2, 0.75))
    mug = est("mug", [2.1, 0.2, 0.80], (0.08, 0.08, 0.08))  # base 4 cm above the top
    box = est("box", [2.0, 1.5, 0.15], (0.3, 0.3, 0.2))  # base 5 cm up, beside the table
    snapped = snap_to_support([table, mug, box], CompletionConfig())
    assert snapped[1].center_scene[2] - snapped[1].extent_scene[2] / 2 == pytest.approx(0.75)
    assert snapped[2].center_scene[2] - snapped[2].extent_scene[2] / 2 == pytest.approx(0.0)


def test_a_base_that_depth_noise_puts_below_the_floor_is_raised_to_it():
    """A 4.3 cm book on the floor 2.4 m away whose lowest points read 5.5 mm below the
    floor (report room 10056): nothing sinks into the floor, so its base is the floor
    and its height is what its top shows (a base below an object's top stays: the
    book-on-a-crate tests below)."""
    book = est("book", [1.2, 1.0, 0.022], (0.25, 0.23, 0.055))  # base -0.0055
    (snapped,) = snap_to_support([book], CompletionConfig())
    assert snapped.center_scene[2] - snapped.extent_scene[2] / 2 == pytest.approx(0.0)
    assert snapped.extent_scene[2] == pytest.approx(0.0495)


def test_the_highest_overlapping_top_below_wins_and_an_object_is_not_its_own_support():
    floor_box = est("crate", [2.0, 0.0, 0.2], (0.6, 0.6, 0.4))
    shelf = est("shelf", [2.0, 0.0, 0.55], (0.5, 0.5, 0.1))  # top 0.6
    far_away = est("stool", [4.0, 2.0, 0.35], (0.3, 0.3, 0.7))  # top 0.7, no overlap
    vase = est("vase", [2.0, 0.1, 0.75], (0.1, 0.1, 0.3))  # base 0.6
    # an unlocalised object under the shelf, its top (0.45) above the crate's: no support
    lost = replace(est("lamp", [2.0, 0.0, 0.445], (0.3, 0.3, 0.01)), localised=False)
    tops = _tops_below([floor_box, shelf, far_away, vase, lost])
    assert tops[:4] == pytest.approx([0.0, 0.4, 0.0, 0.6])


def test_the_pairwise_search_finds_what_the_straightforward_search_finds():
    rng = np.random.default_rng(7)
    for _ in range(200):
        objects = []
        for i in range(int(rng.integers(0, 14))):
            e = est(f"o{i}", rng.uniform([1.0, -1.0, 0.0], [3.0, 1.0, 1.2]),
                    rng.uniform(0.05, 0.8, 3))
            objects.append(replace(e, localised=bool(rng.random() > 0.1)))
        assert _tops_below(objects) == _reference_tops_below(objects)


def test_completion_leaves_unlocalised_objects_as_they_are():
    lost = replace(est("cup", [2.0, 0.0, 0.5]), localised=False)
    (out,) = complete_objects([lost], SCENE)
    assert out is lost


def test_a_bin_behind_a_box_may_reach_down_to_the_floor_behind_it():
    """The box hides the bin's base, and its top is where the bin's visible part ends:
    the bin may stand on the box (a mug behind a table's edge) or on the floor behind
    it. The box ends before the bin's front, so the view cannot tell: the bin is snapped
    to the box's top, but keeps a hidden part below it, down to the floor."""
    box = est("box", [2.2, 0.0, 0.2], (0.3, 0.5, 0.4))  # x 2.05-2.35, top 0.4
    bin_top = replace(est("trash can", [2.9, 0.0, 0.5], (0.2, 0.3, 0.2)),  # seen 0.4-0.6
                      occluded_bottom=0.9, base_occluder=0)
    _, snapped = snap_to_support([box, bin_top], CompletionConfig())
    assert snapped.extent_scene[2] == pytest.approx(0.2)
    assert snapped.hidden_directions.tolist() == [[0.0, 0.0, -1.0]]
    assert snapped.hidden_causes == ("occluded",)
    assert snapped.hidden_reach_m[0].tolist() == pytest.approx([0.0, 0.4])
    verdict = judge("height", snapped, floor_found=True)
    assert verdict.reason == "occluded"
    assert "anywhere from 0.20 to 0.60 m" in verdict.message


def test_a_mug_on_a_table_that_reaches_under_it_rests_on_it_with_nothing_below():
    table = est("table", [2.3, 0.0, 0.375], (0.8, 1.2, 0.75))  # x 1.9-2.7, top 0.75
    mug = replace(est("mug", [2.2, 0.1, 0.8], (0.08, 0.08, 0.08)),  # base 0.76, hidden
                  occluded_bottom=0.9, base_occluder=0)
    _, snapped = snap_to_support([table, mug], CompletionConfig())
    assert snapped.center_scene[2] - snapped.extent_scene[2] / 2 == pytest.approx(0.75)
    assert snapped.hidden_directions.shape == (0, 3)


def test_a_book_on_a_crate_whose_top_reads_a_little_above_its_base_stays_on_the_crate():
    """The crate hides the book's base and the two meet at the crate's top, which depth
    noise or a 1% monocular warp reads 1.1 cm above the book's lowest visible point
    (test_scale's room 8): the book rests on the crate, not on the floor 0.3 m below."""
    crate = est("crate", [2.2, 1.2, 0.1637], (0.4, 0.4, 0.3273))  # top 0.3273
    book = replace(est("book", [2.18, 1.2, 0.345], (0.3, 0.26, 0.058)),  # base 0.316
                   occluded_bottom=0.77, base_occluder=0)
    _, snapped = snap_to_support([crate, book], CompletionConfig())
    base = snapped.center_scene[2] - snapped.extent_scene[2] / 2
    assert base == pytest.approx(0.316) and snapped.extent_scene[2] == pytest.approx(0.058)
    # a bin whose visible part ends 0.2 m below the box's top stands behind it
    box = est("box", [2.2, 0.0, 0.3], (0.3, 0.5, 0.6))  # top 0.6
    bin_behind = replace(est("trash can", [2.9, 0.0, 0.5], (0.2, 0.3, 0.2)),  # base 0.4
                         occluded_bottom=0.9, base_occluder=0)
    _, fallen = snap_to_support([box, bin_behind], CompletionConfig())
    assert fallen.center_scene[2] - fallen.extent_scene[2] / 2 == pytest.approx(0.0)


def test_a_book_whose_crate_reads_its_thickness_higher_rests_on_the_crate_it_lies_on():
    """The crate's mask took a strip of the book lying on it, so the crate's top reads
    2.8 cm above the book's base in bench_live's moving camera (room 0), 4.4 cm here: the
    crate reaches under the book, so the book rests on it (it cannot stand on the floor
    there), not on the floor 0.3 m below. Behind a box that ends before it, 4.4 cm is
    too much: that bin stands on the floor behind the box."""
    crate = est("crate", [1.63, 0.0, 0.16], (0.44, 0.42, 0.32))  # x 1.41-1.85, top 0.32
    book = replace(est("book", [1.67, 0.0, 0.301], (0.32, 0.30, 0.05)),  # base 0.276
                   occluded_bottom=0.8, base_occluder=0)
    _, snapped = snap_to_support([crate, book], CompletionConfig())
    assert snapped.center_scene[2] - snapped.extent_scene[2] / 2 == pytest.approx(0.276)
    assert snapped.extent_scene[2] == pytest.approx(0.05)
    box = est("box", [1.2, 0.0, 0.16], (0.3, 0.5, 0.32))  # x 1.05-1.35: not under it
    bin_behind = replace(est("trash can", [1.9, 0.0, 0.326], (0.2, 0.3, 0.1)),  # base 0.276
                         occluded_bottom=0.9, base_occluder=0)
    _, fallen = snap_to_support([box, bin_behind], CompletionConfig())
    assert fallen.center_scene[2] - fallen.extent_scene[2] / 2 == pytest.approx(0.0)


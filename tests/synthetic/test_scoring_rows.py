"""Seed splits and the per-category rows of the benchmarks (issue 22)."""

from __future__ import annotations

import math
from itertools import combinations

import pytest

from spatial_vqa_ros.core.gate import judge
from spatial_vqa_ros.synthetic import SyntheticError
from spatial_vqa_ros.synthetic.categories import object_categories
from spatial_vqa_ros.synthetic.category_rows import CategoryRows
from spatial_vqa_ros.synthetic.scenes import TIDY_HIDDEN
from spatial_vqa_ros.synthetic.scoring import (
    MIN_PIXELS,
    SPLITS,
    GeometryScores,
    render_case,
    run_pipeline,
    score_frame,
    split_seeds,
)


def test_calibrate_and_report_splits_share_no_seed() -> None:
    assert not set(SPLITS["calibrate"]) & set(SPLITS["report"])
    assert split_seeds("calibrate", 3) == range(0, 3)
    assert split_seeds("report", 2, offset=5) == range(10_005, 10_007)


def test_split_seeds_rejects_an_unknown_split_and_seeds_past_its_end() -> None:
    with pytest.raises(SyntheticError, match="unknown seed split 'test'"):
        split_seeds("test", 3)
    with pytest.raises(SyntheticError, match="do not fit"):
        split_seeds("calibrate", 10, offset=9_995)


def test_category_rows_count_each_statement_in_every_category() -> None:
    rows = CategoryRows()
    rows.stated("distance", ("occluded", "tiny"), 1.2, 1.0)  # 20% off: within
    rows.stated("distance", ("occluded",), 1.5, 1.0)  # 50% off
    rows.stated("distance", ("whole",), 0.1, 0.0)  # no relative error of a zero truth
    rows.refusal("distance", ("occluded",))
    rows.predicate(("whole",), correct=False)
    rows.predicate(("whole",), correct=True)
    assert rows.cell("distance", "occluded") == (2, 0.5, 1)
    assert rows.cell("distance", "tiny") == (1, 1.0, 0)
    assert rows.cell("predicates", "whole") == (2, 0.5, 0)
    n, share, refused = rows.cell("width", "whole")
    assert (n, refused) == (0, 0) and math.isnan(share)


def test_category_rows_print_rows_with_data_and_the_size_coverage() -> None:
    rows = CategoryRows()
    rows.refusal("width", ("border_cut",))
    rows.size_coverage(width_stated=True, height_stated=False)
    rows.size_coverage(width_stated=True, height_stated=True)
    text = "\n".join(rows.lines())
    assert "width                border_cut          0        -        1" in text
    assert "whole" not in text
    rows.size_coverage(width_stated=False, height_stated=False)
    text = "\n".join(rows.lines())
    assert ("(objects >= MIN_PIXELS visible, n=3): width 66.7%, height 33.3%, either "
            "66.7%, both 33.3%") in text


def test_score_frame_puts_every_localised_pair_in_its_rows_once() -> None:
    scores = GeometryScores()
    _, rendered, truth = render_case(0, style=TIDY_HIDDEN)
    result = run_pipeline(rendered)
    score_frame(scores, result, truth)
    by_id = {t.id: t for t in truth.objects}
    localised = [by_id[e.source_id] for e in result.estimates
                 if e.localised and e.source_id in by_id]
    whole = [t for t in localised if object_categories(t) == ("whole",)]
    n_whole_pairs = len(list(combinations(whole, 2)))
    stated, _, refused = scores.rows.cell("distance", "whole")
    assert n_whole_pairs >= 1 and stated + refused == n_whole_pairs
    stated, _, refused = scores.rows.cell("predicates", "whole")
    assert stated + refused == 7 * 2 * n_whole_pairs  # 6 position predicates + closer
    n_sized = sum(t.visible_pixel_count >= MIN_PIXELS for t in truth.objects)
    assert scores.rows.sized_visible == n_sized == scores.objects_visible
    widths = sum(sum(scores.rows.cell("width", c)[::2]) for c in ("whole",))
    assert widths == len(whole)


def test_score_frame_states_sizes_with_the_camera_the_service_gives_the_gate() -> None:
    """The benchmark's sizes are the service's: the gate is given the scene frame's
    camera (``judge_in_graph``), from which the size support reads the rays' lean."""
    scores = GeometryScores()
    _, rendered, truth = render_case(0, style=TIDY_HIDDEN)
    result = run_pipeline(rendered)
    score_frame(scores, result, truth)
    camera = result.scene.camera_position_scene
    assert result.scene.floor_found
    by_source = {e.source_id: e for e in result.estimates}
    expected = {"width": 0, "height": 0, "either": 0, "both": 0}
    for t in truth.objects:
        e = by_source.get(t.id)
        if t.visible_pixel_count < MIN_PIXELS or e is None or not e.localised:
            continue
        stated = [judge(size, e, floor_found=True, camera_scene=camera).statable
                  for size in ("width", "height")]
        for size, flag in zip(("width", "height", "either", "both"),
                              (*stated, any(stated), all(stated))):
            expected[size] += flag
    assert scores.rows.sized_stated == expected

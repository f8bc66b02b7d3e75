"""Evaluation statistics stay finite (JSON) whatever the answers: huge relative errors
average and take their median without overflowing."""

from __future__ import annotations

import math

from spatial_vqa_ros.core.vqa.evaluate import CategoryResult
from spatial_vqa_ros.core.vqa.verify import Score


def test_huge_relative_errors_give_a_finite_mean_and_median():
    result = CategoryResult()
    for _ in range(2):
        result.add(Score(0.0, 1.7e308, 1.7e308, "wrong"))
    row = result.row()
    assert math.isfinite(row["abs_rel_error_mean"]) and math.isfinite(
        row["abs_rel_error_median"])
    assert row["abs_rel_error_median"] == 1.7e308


def test_too_long_answers_count_as_unreadable():
    result = CategoryResult()
    result.add(Score(0.0, None, None, "too long"))
    result.add(Score(1.0, True, None, "ok"))
    assert (result.answers, result.readable, result.correct) == (2, 1, 1)

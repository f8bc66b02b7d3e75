"""The benchmarks' own success rules, at their edges, as the official scripts decide
(SpatialRGPT: evaluate_spatial_with_gpt4.py; Q-Spatial: evaluate_success_rate.ipynb)."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.offline.public_bench.rules import (
    clock_hours_apart,
    qspatial_official_metres,
    qspatial_success,
    spatialrgpt_length_success,
    unit_metres,
)


@pytest.mark.parametrize(("answer", "right"), [
    (1.0, True), (0.75, True), (1.25, True), (0.76, True),  # a band: 0.76 passes
    (0.7499, False), (1.2501, False), (0.0, False)])
def test_spatialrgpt_lengths_are_right_within_the_inclusive_band(answer, right):
    assert spatialrgpt_length_success(answer, 1.0) is right


@pytest.mark.parametrize(("a", "b", "hours"), [(12, 1, 1), (1, 12, 1), (3, 9, 6), (2, 2, 0),
                                               (11, 2, 3)])
def test_clock_hours_are_counted_around_the_dial(a, b, hours):
    assert clock_hours_apart(a, b) == hours


@pytest.mark.parametrize(("answer", "right"), [(1.0, True), (1.99, True), (2.0, False),
                                               (0.5, False), (0.51, True), (0.0, False)])
def test_qspatial_success_is_a_strict_factor_of_two(answer, right):
    assert qspatial_success(answer, 1.0) is right


def test_qspatial_answers_are_read_as_the_notebook_reads_them():
    assert qspatial_official_metres(r"About \scalar{1} \distance_unit{meter}") == 1.0
    # the last tags count; the numbers inside a scalar are averaged
    assert qspatial_official_metres(r"\scalar{3} \distance_unit{m} then \scalar{1-2} "
                                    r"\distance_unit{feet}") == pytest.approx(1.5 * 0.3048)
    assert qspatial_official_metres(r"\scalar{96} \distance_unit{furlongs}") == \
        pytest.approx(0.96)  # a unit outside the table counts as cm, as there
    assert qspatial_official_metres("96 cm") is None  # no tags: a failure there
    assert qspatial_official_metres(r"\scalar{about} \distance_unit{cm}") is None
    assert unit_metres(" Inches ") == 0.0254 and unit_metres("cubit") is None

from __future__ import annotations

import pytest

from spatial_vqa_ros.core.units import colloquial_length, to_metres


@pytest.mark.parametrize("metres,system,text", [
    (0.012, "metric", "1.2 centimeters"),
    (0.42, "metric", "42 centimeters"),
    (0.01, "metric", "1.0 centimeters"),
    (1.5, "metric", "1.50 meters"),
    (0.0254, "imperial", "1.0 inches"),
    (0.42, "imperial", "17 inches"),
    (0.3048 * 4.9, "imperial", "4.9 feet"),
])
def test_lengths_render_with_sensible_rounding(metres, system, text):
    assert colloquial_length(metres, system).text() == text


def test_singular_unit_for_exactly_one():
    assert colloquial_length(0.0254 * 12, "imperial").text() == "12 inches"
    from spatial_vqa_ros.core.units import Quantity

    assert Quantity(1, "in").text() == "1 inch" and Quantity(1, "ft").text() == "1 foot"


@pytest.mark.parametrize("metres", [0.004, 0.011, 0.037, 0.08, 0.2, 0.93, 2.345, 7.0])
@pytest.mark.parametrize("system", ["metric", "imperial"])
def test_shown_value_is_within_five_percent_of_the_truth(metres, system):
    q = colloquial_length(metres, system)
    assert to_metres(q.value, q.unit) == pytest.approx(metres, rel=0.05)

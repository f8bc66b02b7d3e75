"""The benchmarks' rows: categories of objects and pairs by ground truth (issue 22)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from spatial_vqa_ros.synthetic.categories import (
    CATEGORIES,
    FAR_SIDE_MIN_DEPTH_M,
    TINY_MAX_PIXELS,
    object_categories,
    pair_categories,
)
from spatial_vqa_ros.synthetic.truth import ObjectTruth

WHOLE = ObjectTruth(
    id=1, label="box", kind="box", center_scene=np.array([2.0, 0.0, 0.2]),
    extent_scene=np.array([0.4, 0.4, 0.4]), dims=(0.4, 0.4, 0.4), yaw_scene_rad=0.0,
    surface_points_scene=np.zeros((0, 3)), visible_pixel_count=5000,
    unoccluded_pixel_count=5000, cut_by_border=False, occluded_fraction=0.0,
    depth_extent_m=0.4, far_side_m=0.0)


def test_an_object_with_nothing_hidden_is_whole() -> None:
    assert object_categories(WHOLE) == ("whole",)
    assert pair_categories(WHOLE, replace(WHOLE, id=2)) == ("whole",)


@pytest.mark.parametrize(("change", "category"), [
    ({"cut_by_border": True}, "border_cut"),
    ({"occluded_fraction": 0.1}, "occluded"),
    ({"far_side_m": 0.12}, "far_side"),  # 30% of 0.4 m
    ({"unoccluded_pixel_count": TINY_MAX_PIXELS - 1}, "tiny"),
])
def test_each_hidden_part_gives_its_category(change: dict, category: str) -> None:
    assert object_categories(replace(WHOLE, **change)) == (category,)


@pytest.mark.parametrize("change", [
    {"occluded_fraction": 0.09},
    {"far_side_m": 0.11},
    {"depth_extent_m": FAR_SIDE_MIN_DEPTH_M - 0.01, "far_side_m": 0.29},  # not deep
    {"unoccluded_pixel_count": TINY_MAX_PIXELS},
])
def test_below_each_threshold_an_object_stays_whole(change: dict) -> None:
    assert object_categories(replace(WHOLE, **change)) == ("whole",)


def test_a_pair_has_every_category_of_either_object_in_print_order() -> None:
    a = replace(WHOLE, unoccluded_pixel_count=100)
    b = replace(WHOLE, id=2, cut_by_border=True, occluded_fraction=0.5)
    assert pair_categories(a, b) == ("border_cut", "occluded", "tiny")
    assert set(pair_categories(a, b)) < set(CATEGORIES)

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.relations import (
    MEASURES,
    PREDICATES,
    RELATIONS,
    Margins,
    clock_difference,
    direction,
    evaluate_measure,
    evaluate_predicate,
    gap_distance,
)
from spatial_vqa_ros.synthetic.scoring import TruthBox as Box


def box(c, e=(0.2, 0.2, 0.2)):
    return Box(np.array(c, float), np.array(e, float))


def test_distances_follow_the_definitions():
    a, b = box([1, 0, 0.5]), box([4, 4, 1.5])
    assert evaluate_measure("distance", a, b) == pytest.approx(np.sqrt(9 + 16 + 1))
    assert evaluate_measure("horizontal_distance", a, b) == pytest.approx(5.0)
    assert evaluate_measure("vertical_distance", a, b) == pytest.approx(1.0)


def test_width_is_lateral_extent_and_height_is_vertical_extent():
    a = box([2, 0, 0.5], e=(0.3, 0.7, 1.1))  # depth x, width y, height z
    assert evaluate_measure("width", a) == pytest.approx(0.7)
    assert evaluate_measure("height", a) == pytest.approx(1.1)


@pytest.mark.parametrize("name,a,b", [
    ("left_of", [2, 1, 0], [2, 0, 0]),       # +y is left
    ("right_of", [2, -1, 0], [2, 0, 0]),
    ("above", [2, 0, 1], [2, 0, 0]),
    ("below", [2, 0, 0], [2, 0, 1]),
    ("behind", [4, 0, 0], [2, 0, 0]),       # farther from the camera = behind
    ("in_front_of", [1, 0, 0], [3, 0, 0]),
])
def test_position_predicates(name, a, b):
    truth, diff, _ = evaluate_predicate(name, box(a), box(b))
    assert truth == "true" and diff > 0
    assert evaluate_predicate(name, box(b), box(a))[0] == "false"


@pytest.mark.parametrize("name,ea,eb", [
    ("taller", (0.2, 0.2, 1.0), (0.2, 0.2, 0.5)),
    ("shorter", (0.2, 0.2, 0.5), (0.2, 0.2, 1.0)),
    ("wider", (0.2, 0.8, 0.2), (0.2, 0.3, 0.2)),
    ("thinner", (0.2, 0.3, 0.2), (0.2, 0.8, 0.2)),
    ("bigger", (1, 1, 1), (0.5, 0.5, 0.5)),
    ("smaller", (0.5, 0.5, 0.5), (1, 1, 1)),
])
def test_size_predicates(name, ea, eb):
    a, b = box([2, 0, 0], ea), box([3, 1, 0], eb)
    assert evaluate_predicate(name, a, b)[0] == "true"
    assert evaluate_predicate(name, b, a)[0] == "false"


def test_difference_within_the_margin_is_unclear():
    a, b = box([2, 0.01, 0]), box([2, 0.0, 0])
    assert evaluate_predicate("left_of", a, b)[0] == "unclear"
    noisy_a = Box(np.array([2, 0.2, 0.0]), np.full(3, 0.2), position_sigma_m=0.1)
    assert evaluate_predicate("left_of", noisy_a, b)[0] == "unclear"
    assert evaluate_predicate("left_of", noisy_a, b, Margins(sigmas=0.0))[0] == "true"


def test_nan_estimates_are_never_asserted():
    a = box([np.nan, 0, 0])
    assert evaluate_predicate("behind", a, box([1, 0, 0]))[0] == "unclear"


def test_closer_to_camera_uses_distance_from_the_camera():
    camera = np.array([0.0, 0.0, 1.5])
    near, far = box([1, 0, 0]), box([1, 2.5, 0])
    assert evaluate_predicate("closer_to_camera", near, far, camera_scene=camera)[0] == "true"


@pytest.mark.parametrize("offset,clock,bearing", [
    ((1, 0), 12, 0.0), ((0, 1), 9, 90.0), ((0, -1), 3, -90.0), ((-1, 0), 6, 180.0),
    ((1, 1), 10, 45.0), ((1, -0.577), 1, -30.0),
])
def test_direction_clock_and_bearing(offset, clock, bearing):
    a = box([2, 0, 0])
    b = box([2 + offset[0], offset[1], 0])
    d = direction(a, b)
    assert d.clock == clock
    assert d.bearing_deg == pytest.approx(bearing, abs=0.1)


def test_clock_difference_wraps():
    assert clock_difference(12, 1) == 1 and clock_difference(11, 1) == 2
    assert clock_difference(3, 9) == 6


def test_gap_is_closest_points_distance():
    a = np.array([[0, 0, 0], [0.1, 0, 0]], np.float32)
    b = np.array([[0.5, 0, 0], [1.0, 0, 0]], np.float32)
    assert gap_distance(a, b) == pytest.approx(0.4)
    assert np.isnan(gap_distance(a, np.zeros((0, 3), np.float32)))


def test_table_is_complete():
    assert set(PREDICATES) | set(MEASURES) | {"direction", "closer_to_camera"} == set(RELATIONS)
    assert RELATIONS["height"].needs_floor and RELATIONS["width"].uses_size
    assert not RELATIONS["left_of"].needs_floor


def test_kdtree_cache_builds_once_per_array_and_gives_the_same_gap():
    from spatial_vqa_ros.core.relations import KDTreeCache

    rng = np.random.default_rng(0)
    a = rng.random((500, 3)).astype(np.float32)
    b = (rng.random((800, 3)) + [2.0, 0, 0]).astype(np.float32)
    cache = KDTreeCache(size=2)
    assert gap_distance(a, b, cache) == pytest.approx(gap_distance(a, b))
    assert cache.tree(b) is cache.tree(b)
    c = b.copy()
    assert cache.tree(c) is not cache.tree(b)  # another array, another tree


@pytest.mark.parametrize("seed", range(20))
def test_pruned_gap_equals_the_brute_force_closest_distance(seed):
    rng = np.random.default_rng(seed)
    a = (rng.random((rng.integers(1, 400), 3)) * rng.uniform(0.05, 1.0)).astype(np.float32)
    b = (rng.random((rng.integers(1, 400), 3)) * rng.uniform(0.05, 1.0)
         + rng.uniform(-0.5, 1.5, 3)).astype(np.float32)
    brute = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min()
    assert gap_distance(a, b) == pytest.approx(brute, abs=1e-6)

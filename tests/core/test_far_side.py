"""The far side of an object (issue 22): its depth bounded from what the view shows, and
the centre moved to the middle of the centres that bound allows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from builders import SCENE, est

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.core.capture import Capture, Observations
from spatial_vqa_ros.core.completion import complete_objects
from spatial_vqa_ros.core.cut_bounds import MAX_OBJECT_EXTENT_M, coordinate_box
from spatial_vqa_ros.core.far_side import (
    FAR_SIDE_PRIOR_K,
    bound_far_side,
    depth_bound_m,
    required_prior_k,
)
from spatial_vqa_ros.core.objects import ObjectConfig, lift_objects
from spatial_vqa_ros.core.scene_frame import scene_frame_from_floor

# SCENE: camera 1 m above the floor


def _front_face(top_z: float, **fields):
    """A cabinet 0.8 m wide seen as its front face only (2 cm of visible depth) at x 3 m,
    standing on the floor, its top at ``top_z``."""
    e = est("cabinet", [3.0, 0.0, top_z / 2], (0.02, 0.8, top_z), sigma=0.005)
    return replace(e, **fields)


def _prior(largest_m: float) -> float:
    """The prior's bound for an object of this largest visible extent."""
    return min(FAR_SIDE_PRIOR_K * largest_m, MAX_OBJECT_EXTENT_M)


def test_the_prior_is_k_times_the_largest_visible_extent_and_no_more_than_the_cap():
    tall = _front_face(1.8, occluded_top=0.0)
    assert depth_bound_m(tall, camera_height_m=1.0, resting=True, prior_k=1.0) == \
        pytest.approx(1.8)
    # the calibrated k (2.05) would allow 3.7 m: no indoor object is that long
    assert depth_bound_m(tall, camera_height_m=1.0, resting=True, prior_k=2.05) == \
        pytest.approx(MAX_OBJECT_EXTENT_M)


def test_a_deep_object_seen_from_the_front_is_bounded_by_the_prior():
    tall = _front_face(1.8, occluded_top=0.0)  # top above the camera: no top face seen
    assert depth_bound_m(tall, camera_height_m=1.0, resting=True) == pytest.approx(
        _prior(1.8))
    (bounded,) = bound_far_side([tall], SCENE, [True])
    visible, bound = 0.02, _prior(1.8)
    # the front face stays; the box takes the middle depth, the centre the middle centre
    assert bounded.center_scene[0] - bounded.extent_scene[0] / 2 == pytest.approx(2.99)
    assert bounded.extent_scene[0] == pytest.approx((visible + bound) / 2)
    assert bounded.hidden_causes == ("far_side",)
    assert bounded.hidden_reach_m[0].tolist() == pytest.approx(
        [-(bound - visible) / 2, (bound - visible) / 2])
    lo, hi = coordinate_box(bounded)
    assert (lo[0], hi[0]) == pytest.approx((2.99 + visible / 2, 2.99 + bound / 2))
    assert bounded.extent_scene[1:].tolist() == tall.extent_scene[1:].tolist()


def test_a_visible_top_face_gives_the_depth():
    """Seen from above (camera 1 m up, top at 0.5 m) the top face shows the depth: the
    visible depth is the depth, and nothing is hidden."""
    low = replace(est("crate", [3.0, 0.0, 0.25], (0.4, 0.7, 0.5)), occluded_top=0.0)
    assert depth_bound_m(low, camera_height_m=1.0, resting=True) == pytest.approx(0.41)
    assert bound_far_side([low], SCENE, [True]) == [low]
    # the same crate with its top outline hidden shows no face: the prior bounds it
    hidden_top = replace(low, occluded_top=0.8)
    assert depth_bound_m(hidden_top, camera_height_m=1.0, resting=True) == pytest.approx(
        _prior(0.7))


def test_a_resting_object_ends_where_the_view_shows_free_space_behind_it():
    against_wall = _front_face(1.8, behind_x_m=3.45)  # the wall seen over its top
    assert depth_bound_m(against_wall, camera_height_m=1.0, resting=True) == pytest.approx(
        3.45 - 2.99 + 0.01)
    # floating (not on a support), the surface behind it bounds nothing
    assert depth_bound_m(against_wall, camera_height_m=1.0, resting=False) == pytest.approx(
        _prior(1.8))


def test_a_surface_beyond_the_top_outline_nearer_than_the_visible_back_bounds_nothing():
    """A table seen from just above its top (camera 4 cm over it: no top face rule) shows
    the near 0.7 m of its top; what shows beyond its top outline at x 1.09 (a mug on it)
    is in front of that visible back (0.91 + 0.72), so it says nothing of the table's
    back: the prior bounds it (the table is 1.32 m deep: room 3 of bench_live's moving
    camera, whose table-mug distances were stated 26-35% short)."""
    table = replace(est("table", [1.27, 0.25, 0.205], (0.72, 1.36, 0.41), sigma=0.009),
                    occluded_top=0.0, behind_x_m=1.09)
    bound = depth_bound_m(table, camera_height_m=0.45, resting=True)
    assert bound == pytest.approx(_prior(1.36)) and bound > 1.32
    # beyond the visible back, within its noise, it is still the free space behind
    at_back = replace(table, behind_x_m=0.91 + 0.72 - 0.01)
    assert depth_bound_m(at_back, camera_height_m=0.45, resting=True) == pytest.approx(
        0.72 - 0.01 + 0.018)
    beyond = replace(table, behind_x_m=2.3)
    assert depth_bound_m(beyond, camera_height_m=0.45, resting=True) == pytest.approx(
        2.3 - 0.91 + 0.018)


def test_the_pipeline_bounds_a_cabinet_before_a_wall_from_a_depth_image():
    """A constructed frame, level camera 1 m up: floor, a wall at 4 m, a cabinet front
    face at 3 m (1.6 m tall, taller than the camera: no top face). Its depth is bounded
    by the wall behind it (1 m), not by the prior (1.6 m)."""
    h, w, f = 240, 320, 200.0
    camera = CameraIntrinsics(w, h, f, f, w / 2, h / 2)
    v, u = np.mgrid[0:h, 0:w].astype(float)
    ray_y = (v - h / 2) / f
    with np.errstate(divide="ignore"):
        floor = np.where(ray_y > 0, 1.0 / ray_y, np.inf)
    depth = np.minimum(floor, 4.0)
    seg = np.zeros((h, w), np.int32)
    height_at_3 = 1.0 - ray_y * 3.0  # scene height of the ray at 3 m
    lateral = (u - w / 2) / f * 3.0
    cabinet = (height_at_3 >= 0) & (height_at_3 <= 1.6) & (np.abs(lateral) <= 0.4)
    depth[cabinet], seg[cabinet] = 3.0, 1
    capture = Capture(np.zeros((h, w, 3), np.uint8), depth.astype(np.float32), camera)
    obs = Observations(seg, ("cabinet",), np.ones(1, np.float32), np.array([1]))
    scene = scene_frame_from_floor(np.array([0.0, -1.0, 0.0]), 1.0)
    (lifted,) = lift_objects(capture, obs, scene, ObjectConfig(stride=1))
    assert lifted.behind_x_m == pytest.approx(4.0, abs=0.05)
    (cabinet_est,) = complete_objects([lifted], scene)
    assert cabinet_est.hidden_causes == ("far_side",)
    lo, hi = coordinate_box(cabinet_est)
    assert hi[0] == pytest.approx(3.0 + 1.0 / 2, abs=0.05)  # the back at most at the wall
    assert lo[0] == pytest.approx(3.0, abs=0.02)


def test_required_prior_k_covers_the_share_asked_and_refuses_nothing_to_calibrate():
    depth = np.array([0.4, 0.5, 0.9, 2.0])
    largest = np.array([1.8, 2.0, 0.9, 1.6])
    assert required_prior_k(depth, largest, coverage=1.0) == pytest.approx(1.25)
    assert required_prior_k(depth, largest, coverage=0.5) < 1.0
    with pytest.raises(ValueError, match="at least one object"):
        required_prior_k(np.array([np.nan]), np.array([1.0]))
    with pytest.raises(ValueError, match="coverage must be in"):
        required_prior_k(depth, largest, coverage=0.0)

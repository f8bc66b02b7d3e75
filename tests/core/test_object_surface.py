"""The points a gap to an object is measured to (``core.object_surface``): the seen points
and the volume behind them along the camera's rays, as deep as the object. A cube seen
from its front: a point touching its hidden back face is at gap 0, one beside it reads
the side face's distance, not the front edge's, and one in front reads as before."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import SCENE, est

from spatial_vqa_ros.core.object_surface import (
    MAX_SWEPT_POINTS,
    STEP_M,
    least_depth_m,
    surface_points,
)
from spatial_vqa_ros.core.relations import gap_distance
from spatial_vqa_ros.core.reward import RewardSession, RewardSettings, frame_side, object_side
from spatial_vqa_ros.core.robot_frames import FramePoint
from spatial_vqa_ros.core.scene_graph import SceneGraphTracker

CAMERA = np.zeros(3)
EDGE = 0.1


def front_face(center=(1.0, 0.0, 0.0), n=11) -> np.ndarray:
    """The seen face of a cube of edge 0.1 m centred at ``center``, camera at the origin
    looking along +x: the face x = centre - 0.05, sampled every centimetre."""
    c = np.asarray(center, float)
    u = np.linspace(-EDGE / 2, EDGE / 2, n)
    y, z = np.meshgrid(u, u)
    return np.stack([np.full(y.size, c[0] - EDGE / 2), c[1] + y.ravel(), c[2] + z.ravel()],
                    1).astype(np.float32)


def gap(point, points) -> float:
    return gap_distance(np.asarray(point, np.float32)[None], points)


def test_a_point_touching_the_hidden_back_face_is_at_gap_zero():
    seen = front_face()
    surface = surface_points(seen, EDGE, CAMERA)
    back = (1.0 + EDGE / 2, 0.0, 0.0)
    assert gap(back, seen) == pytest.approx(EDGE, abs=1e-6)  # the seen points alone
    assert gap(back, surface) <= 0.002


def test_beside_the_cube_the_gap_is_the_side_faces_not_the_front_edges():
    seen = front_face()
    surface = surface_points(seen, EDGE, CAMERA)
    beside = (1.0, EDGE / 2 + 0.05, 0.0)  # 5 cm from the side face's middle
    assert gap(beside, seen) == pytest.approx(math.hypot(0.05, 0.05), abs=1e-6)
    # the rays fan out a little (the camera is 1 m away): a few millimetres short
    assert 0.045 <= gap(beside, surface) <= 0.0501


def test_in_front_of_the_cube_nothing_changes():
    seen = front_face()
    surface = surface_points(seen, EDGE, CAMERA)
    for point in [(0.8, 0.0, 0.0), (0.9, 0.03, -0.02), (0.5, 0.2, 0.1)]:
        assert gap(point, surface) == pytest.approx(gap(point, seen), abs=1e-6)
    swept = surface[len(seen):]
    assert len(swept) == len(seen) * math.ceil(EDGE / STEP_M)
    assert swept[:, 0].min() > seen[:, 0].min()  # all behind the seen face


@pytest.mark.parametrize("depth, camera", [(0.0, CAMERA), (math.nan, CAMERA),
                                           (EDGE, np.full(3, np.nan))])
def test_without_a_depth_or_a_camera_the_seen_points_are_all(depth, camera):
    seen = front_face()
    assert surface_points(seen, depth, camera) is seen
    empty = np.zeros((0, 3), np.float32)
    assert surface_points(empty, EDGE, CAMERA) is empty


def test_a_large_deep_object_is_thinned_to_the_cap():
    seen = np.random.default_rng(0).uniform(1, 2, (50_000, 3)).astype(np.float32)
    surface = surface_points(seen, 2.0, CAMERA)
    assert len(seen) < len(surface) <= len(seen) + MAX_SWEPT_POINTS
    assert surface.dtype == np.float32


def test_the_reward_measures_a_gripper_touching_a_hidden_face_at_zero():
    """Through the scene graph and the reward: an object seen from the camera's side,
    a robot frame at the middle of its far face."""
    camera = SCENE.to_scene(np.zeros((1, 3)))[0]
    center = camera + np.array([1.5, 0.0, -0.5])
    ray = (center - camera) / np.linalg.norm(center - camera)
    # the seen points: a patch facing the camera, 5 cm before the centre along the ray
    side = np.cross(ray, [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side)
    up = np.cross(side, ray)
    u = np.linspace(-0.05, 0.05, 11)
    patch = (center - 0.05 * ray + u[:, None, None] * side + u[None, :, None] * up)
    estimate = est("cube", center, extent=(0.1, 0.1, 0.1))
    from dataclasses import replace

    estimate = replace(estimate, points_scene=patch.reshape(-1, 3).astype(np.float32))
    graph = SceneGraphTracker().update([estimate], SCENE, 0, "camera_floor")
    cube = object_side(graph, "cube")
    assert cube.points_scene is graph.surface_points(graph.find("cube"))  # once a snapshot
    tool = FramePoint("tool0", center + 0.05 * ray, 0)
    step = RewardSession().step(frame_side(tool), cube, RewardSettings())
    assert step.distance_m <= 0.01 and step.reached  # the visible patch alone: 0.1 m
    assert gap(center + 0.05 * ray, estimate.points_scene) == pytest.approx(0.1, abs=1e-3)


def test_the_sweep_stops_where_the_ray_leaves_the_objects_box():
    """A table 1.6 m deep seen from 2 m above: each point of its top is swept down the ray
    only to the floor or the table's back, not 1.6 m on to a ball behind it (the rendered
    Q-Spatial room whose table-ball gap read 4.4 cm instead of 1.16 m)."""
    camera = np.array([0.0, 0.0, 1.96])
    u = np.linspace(-0.8, 0.8, 33)
    x, y = np.meshgrid(2.3 + u, u)
    top = np.stack([x.ravel(), y.ravel(), np.full(x.size, 0.76)], 1).astype(np.float32)
    center, extent = np.array([2.3, 0.0, 0.38]), np.array([1.6, 1.6, 0.76])
    unclipped = surface_points(top, 1.6, camera)
    clipped = surface_points(top, 1.6, camera, (center, extent))
    swept = clipped[len(top):]
    assert len(swept) and len(swept) < len(unclipped) - len(top)
    lo, hi = center - extent / 2 - STEP_M, center + extent / 2 + STEP_M
    assert ((swept >= lo) & (swept <= hi)).all()
    ball = (3.6, 0.0, 0.12)  # 0.5 m behind the table's back
    assert gap(ball, unclipped) < 0.25  # the unclipped sweep passes right by it
    # no nearer than the table's box, whose back face is 0.5 m from the ball
    assert gap(ball, clipped) == pytest.approx(0.5, abs=0.01)


def test_the_least_depth_is_the_visible_depth_under_a_far_side_bound():
    far = np.array([[1.0, 0.0, 0.0]])
    assert least_depth_m(0.6, far, np.array([[-0.2, 0.2]])) == pytest.approx(0.4)
    assert least_depth_m(0.6, far, np.array([[0.0, 0.9]])) == pytest.approx(0.6)  # border
    assert least_depth_m(0.6, np.array([[0.0, 1.0, 0.0]]), np.array([[-0.2, 0.2]])) == \
        pytest.approx(0.6)  # hidden to the side: the depth is the box's
    assert least_depth_m(0.6, np.zeros((0, 3)), np.zeros((0, 2))) == pytest.approx(0.6)

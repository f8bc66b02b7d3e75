"""The push sequence: the gripper slides onto the cube's side, then both move on
together; the tool point's exact gap to the cube shrinks to 0 and stays there."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from spatial_vqa_ros.synthetic.scenes import (
    CUBE_EDGE_M,
    SyntheticError,
    aligned_box_gap_m,
    point_to_box_m,
    push_trajectory,
    random_camera,
    tool_point_world,
)


def parts(scene):
    by_label = {o.label: o for o in scene.objects}
    return by_label["gripper"], by_label["cube"]


def test_the_gap_shrinks_to_contact_then_both_move_on_together():
    rng = np.random.default_rng(3)
    scenes = push_trajectory(rng, 20, random_camera(rng, 160, 120), start_gap_m=0.3,
                             push_share=0.4)
    gaps = [point_to_box_m(tool_point_world(s, "push"), parts(s)[1]) for s in scenes]
    assert gaps[0] == pytest.approx(0.3)
    assert all(b < a for a, b in pairwise(gaps[:12]))  # reaching: strictly closer
    assert gaps[11:] == pytest.approx([0.0] * 9, abs=1e-9)  # touching while pushing
    cubes = np.array([parts(s)[1].center_world for s in scenes])
    steps = np.linalg.norm(np.diff(cubes, axis=0), axis=1)
    assert steps[:11] == pytest.approx(0.0) and steps[11:] == pytest.approx(0.3 / 11)
    for scene in scenes[11:]:  # the boxes touch and never overlap
        gripper, cube = parts(scene)
        assert aligned_box_gap_m(gripper, cube) == pytest.approx(0.0, abs=1e-9)
        assert np.linalg.norm(gripper.center_world[:2] - cube.center_world[:2]) > CUBE_EDGE_M / 2
    assert {id(s.pose) for s in scenes} == {id(scenes[0].pose)}  # a still camera


def test_the_tool_point_is_where_the_gripper_meets_the_cube():
    rng = np.random.default_rng(0)
    scene = push_trajectory(rng, 5, random_camera(rng, 160, 120))[-1]
    gripper, cube = parts(scene)
    tool = tool_point_world(scene, "push")
    assert tool[2] == pytest.approx(cube.center_world[2])
    assert point_to_box_m(tool, cube) == pytest.approx(0.0, abs=1e-9)
    assert point_to_box_m(tool, gripper) == pytest.approx(0.0, abs=1e-9)  # on its face


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_frames": 2}, "a push needs n_frames >= 3, got 2"),
    ({"n_frames": 10, "push_share": 1.0}, r"push_share must be within \(0, 1\), got 1.0"),
])
def test_bad_push_settings_are_refused_by_name(kwargs, match):
    with pytest.raises(SyntheticError, match=match):
        push_trajectory(np.random.default_rng(0), **kwargs)


def test_an_unknown_tool_kind_is_refused():
    scene = push_trajectory(np.random.default_rng(0), 4)[0]
    with pytest.raises(SyntheticError, match="kind must be one of approach, push, got 'grasp'"):
        tool_point_world(scene, "grasp")

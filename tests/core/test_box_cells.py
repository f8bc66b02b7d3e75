"""A lifted point stands for its grid cell: a box reaches half a cell beyond its
outermost points across the image, so widths are not a grid step short
(``objects._box_extremes``)."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.core.capture import Capture, Observations
from spatial_vqa_ros.core.objects import ObjectConfig, lift_objects
from spatial_vqa_ros.core.scene_frame import scene_frame_from_floor

F = 100.0
H, W = 100, 140
RANGE_M = 3.0


def _width(first_col: int, last_col: int, stride: int) -> float:
    """The lifted width of a flat board at 3 m before a 5 m wall, whose mask covers
    columns ``first_col``-``last_col`` (rows 30-69)."""
    depth = np.full((H, W), 5.0, np.float32)
    seg = np.zeros((H, W), np.int32)
    seg[30:70, first_col:last_col + 1], depth[30:70, first_col:last_col + 1] = 1, RANGE_M
    camera = CameraIntrinsics(W, H, F, F, W / 2, H / 2)
    capture = Capture(np.zeros((H, W, 3), np.uint8), depth, camera)
    obs = Observations(seg, ("board",), np.ones(1, np.float32), np.array([1]))
    scene = scene_frame_from_floor(np.array([0.0, -1.0, 0.0]), 1.5)  # a level camera
    (board,) = lift_objects(capture, obs, scene, ObjectConfig(stride=stride))
    return float(board.extent_scene[1])


@pytest.mark.parametrize("first_col", [40, 41])
@pytest.mark.parametrize("stride", [1, 2, 4])
def test_a_width_is_its_pixels_at_the_range_within_half_a_step(first_col, stride):
    """40 pixel columns at 3 m with f = 100 px are 1.2 m wide: the outermost grid
    points lie up to a step inside the mask's edges, and half a cell on each side
    puts the edges back within half a step, either way, wherever the grid falls."""
    width = _width(first_col, first_col + 39, stride)
    step_m = stride * RANGE_M / F
    # (the outermost points alone span 38-39 columns at stride 1-2: short by more)
    assert abs(width - 1.2) <= 0.5 * step_m + 1e-6

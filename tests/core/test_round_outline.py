"""Round silhouettes (issue 22): a ball half hidden behind a board gets its whole width
and height from the arc of its outline that is seen; a box, a square, and an arc whose
missing part shows the wall do not; a ball's base is kept by the support completion,
and what rests on a ball has its middle over it."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from builders import board_frame, est, lift_first, opens
from scipy import ndimage

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.core.capture import Capture
from spatial_vqa_ros.core.completion import CompletionConfig, _tops_below, snap_to_support
from spatial_vqa_ros.core.outline import analyse_grid
from spatial_vqa_ros.core.round_outline import _ball_distance, fit_cone, round_silhouette

F = 200.0
H, W = 120, 160
CAMERA = CameraIntrinsics(W, H, F, F, W / 2, H / 2)
RAYS = CAMERA.rays().astype(np.float64)  # (x/z, y/z, 1)
LEFT = (0.0, 1.0, 0.0)
#: A ball of radius 0.25 m whose centre is 3 m ahead, a little right of and below the
#: optical axis: about 17 pixels across its silhouette's radius.
BALL_CENTER, BALL_R = np.array([0.25, 0.15, 3.0]), 0.25
row_index, col_index = np.mgrid[0:H, 0:W]


def _ball_depth(center: np.ndarray, radius: float) -> np.ndarray:
    """(H, W) z-depth of the ball where a pixel's ray meets it, NaN elsewhere."""
    unit = RAYS / np.linalg.norm(RAYS, axis=2, keepdims=True)
    b = unit @ center
    disc = b * b - (center @ center - radius * radius)
    t = b - np.sqrt(np.where(disc >= 0, disc, np.nan))
    return t * unit[..., 2]


def _frame(object_depth: np.ndarray, board: np.ndarray):
    """The object (label 1, where ``object_depth`` is finite) before a wall at 5 m, and
    a board (label 2, at 2 m) over ``board`` (a mask)."""
    return board_frame(object_depth, board, CAMERA)


_lift = lift_first


def _left_open(e) -> bool:
    return opens(e, LEFT)


def _ball_columns() -> tuple[int, int]:
    cols = np.flatnonzero(np.isfinite(_ball_depth(BALL_CENTER, BALL_R)).any(axis=0))
    return int(cols.min()), int(cols.max())


def _board_over_left(share: float) -> np.ndarray:
    """A board over every row, from the image's left to ``share`` of the ball's width."""
    first, last = _ball_columns()
    return col_index < first + share * (last - first)


def test_a_ball_half_hidden_behind_a_board_gets_its_whole_width_and_height():
    """The board hides the ball's left 45%, its widest row included (the prism prior
    cannot see that edge): the arc seen fixes the ball, and its box is the ball's."""
    frame = _frame(_ball_depth(BALL_CENTER, BALL_R), _board_over_left(0.45))
    ball = _lift(*frame)
    assert not _left_open(ball) and not ball.partial
    assert ball.ball_radius_m == pytest.approx(BALL_R, rel=0.03)
    assert ball.extent_scene[1] == pytest.approx(2 * BALL_R, rel=0.03)
    assert ball.extent_scene[2] == pytest.approx(2 * BALL_R, rel=0.03)
    without = _lift(*frame, round_prior=False)  # what is seen of it: about half
    assert _left_open(without) and without.partial
    assert math.isnan(without.ball_radius_m)
    assert without.extent_scene[1] < 0.7 * 2 * BALL_R


@pytest.mark.parametrize("blur_px", [1.5, 3.0])
def test_blurred_depth_still_gives_the_ball(blur_px):
    """Learned depth blurs the ball's rim toward the wall behind it: the ball's
    distance is read near its middle (its rim read it a third too wide), and its box is
    the ball's, not the blurred points' (which stretched its height by a quarter)."""
    capture, obs = _frame(_ball_depth(BALL_CENTER, BALL_R), _board_over_left(0.45))
    blurred = ndimage.gaussian_filter(capture.depth_m.astype(np.float64), blur_px)
    ball = _lift(Capture(capture.rgb, blurred.astype(np.float32), capture.camera), obs)
    assert not _left_open(ball) and not ball.partial
    assert ball.extent_scene[1] == pytest.approx(2 * BALL_R, rel=0.03)
    assert ball.extent_scene[2] == pytest.approx(2 * BALL_R, rel=0.03)


def test_a_box_behind_the_same_board_stays_open():
    """A flat upright board-like box at 3 m, its left 45% behind the board."""
    first, last = _ball_columns()
    inside = ((col_index >= first) & (col_index <= last) & (row_index >= 40)
              & (row_index < 90))
    box = np.where(inside, 3.0, np.nan)
    e = _lift(*_frame(box, _board_over_left(0.45)))
    assert _left_open(e) and e.partial and math.isnan(e.ball_radius_m)


def test_a_round_arc_whose_missing_part_shows_the_wall_is_no_ball():
    """The right half of the ball, its flat left edge along a narrow strip of board:
    the arc seen is a circle's, but where the rest of that circle would be the wall is
    seen, so the object is not a ball behind the strip."""
    depth = _ball_depth(BALL_CENTER, BALL_R)
    first, last = _ball_columns()
    middle = (first + last) // 2
    depth[:, :middle] = np.nan
    strip = (col_index >= middle - 3) & (col_index < middle) & np.isfinite(
        _ball_depth(BALL_CENTER, BALL_R * 1.05))
    e = _lift(*_frame(depth, strip))
    assert _left_open(e) and math.isnan(e.ball_radius_m)


def _grid_of(seg: np.ndarray, depth: np.ndarray):
    """The hidden outline labels and the crop of label 1 on a stride-1 grid."""
    analysis = analyse_grid(seg, depth, 2, 1, continuity_abs_m=0.02, continuity_rel=0.04,
                            occlusion_margin_m=0.03, reach_px=6)
    rows, cols = np.nonzero(seg == 1)
    crop = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    return analysis.hidden_label, crop


def _found(shape: np.ndarray):
    seg = np.zeros((H, W), np.int32)
    depth = np.full((H, W), 5.0, np.float32)
    seg[shape], depth[shape] = 1, 3.0
    hidden, crop = _grid_of(seg, depth)
    return round_silhouette(1, crop, seg, depth, hidden_label=hidden,
                            grid_rays=RAYS.reshape(-1, 3), rad_per_px=1 / F)


@pytest.mark.parametrize("half_side", [3, 10])
def test_a_square_is_no_ball_at_any_size(half_side):
    assert _found((abs(row_index - 60) <= half_side) & (abs(col_index - 80) <= half_side)) is None


def test_a_disc_is_found_with_its_radius_unless_too_small_to_tell_from_a_square():
    """Below 5 grid pixels a square's corners stand within a pixel of its circle, so a
    disc is refused too."""
    found = _found((row_index - 60) ** 2 + (col_index - 80) ** 2 <= 10 ** 2)
    assert found is not None and found.half_angle_rad * F == pytest.approx(10.0, abs=0.3)
    assert _found((row_index - 60) ** 2 + (col_index - 80) ** 2 <= 3.6 ** 2) is None


def test_fit_cone_recovers_the_axis_and_angle_from_an_arc():
    axis = np.array([0.2, -0.1, 1.0])
    axis /= np.linalg.norm(axis)
    e1 = np.cross(axis, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    angle = 0.07
    phi = np.linspace(0.0, np.radians(200.0), 40)
    directions = (np.cos(angle) * axis + np.sin(angle) * (np.cos(phi)[:, None] * e1
                                                          + np.sin(phi)[:, None] * e2))
    got_axis, got_angle = fit_cone(directions)
    assert got_angle == pytest.approx(angle, rel=1e-9)
    assert got_axis == pytest.approx(axis, abs=1e-9)


def test_the_ball_distance_reads_the_ranges_inside_the_silhouette():
    """Outline pixels' centres lie inside the silhouette, where the ball is nearer than
    at its rim: their ranges give the centre's distance exactly."""
    distance, radius = 3.0, 0.25
    half_angle = math.asin(radius / distance)
    off_axis = np.linspace(0.9, 0.99, 12) * half_angle
    ranges = distance * (np.cos(off_axis)
                         - np.sqrt(np.sin(half_angle) ** 2 - np.sin(off_axis) ** 2))
    assert _ball_distance(ranges, np.cos(off_axis), half_angle) == pytest.approx(distance)
    assert math.isnan(_ball_distance(np.full(3, np.nan), np.cos(off_axis[:3]), half_angle))


def test_a_ball_keeps_its_base_and_what_rests_on_a_ball_sits_over_it():
    """A ball whose base something hides is not snapped down to the floor (its base is
    known); a globe whose box corner overlaps an orange's box, its middle far from
    the orange, does not rest on the orange (it did by the boxes alone)."""
    ball = replace(est("ball", [2.0, 0.0, 0.45], (0.2, 0.3, 0.3)), occluded_bottom=0.9,
                   ball_radius_m=0.15)
    (kept,) = snap_to_support([ball], CompletionConfig())
    assert kept.center_scene[2] == pytest.approx(0.45)
    assert snap_to_support([replace(ball, ball_radius_m=math.nan)],
                           CompletionConfig())[0].center_scene[2] < 0.45
    globe = est("globe", [0.47, -0.145, 0.28], (0.3, 0.37, 0.24))
    orange = est("orange", [0.64, 0.065, 0.04], (0.065, 0.08, 0.08))
    assert _tops_below([globe, orange])[0] == pytest.approx(0.08)  # boxes alone
    as_ball = replace(orange, ball_radius_m=0.04)
    assert _tops_below([globe, as_ball])[0] == 0.0
    mug = est("mug", [0.64, 0.065, 0.13], (0.05, 0.05, 0.1))  # on top of the orange
    assert _tops_below([mug, as_ball])[0] == pytest.approx(0.08)

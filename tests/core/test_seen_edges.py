"""The prism prior (issue 22): an occluded side whose edge is seen beside the occluder
hides nothing of the object's horizontal extent, unless the seen outline runs outward
into the occluder; and a neighbour's edge with no depth is judged by its depth a few
pixels in (sensors drop depth along edges)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from builders import board_frame, est, lift_first, opens

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.core.completion import CompletionConfig, snap_to_support
from spatial_vqa_ros.core.cut_bounds import has_hidden_part
from spatial_vqa_ros.core.outline import analyse_grid

F = 100.0
H, W = 100, 140
LEFT = (0.0, 1.0, 0.0)


def _frame(object_mask: np.ndarray, board_rows: slice, board_cols: slice,
           board_m: float = 2.0):
    """A wall at 5 m, the object (label 1, flat at 3 m) and a nearer board (label 2)."""
    board = np.zeros((H, W), bool)
    board[board_rows, board_cols] = True
    return board_frame(np.where(object_mask, 3.0, np.nan), board,
                       CameraIntrinsics(W, H, F, F, W / 2, H / 2), board_m=board_m)


_lift = lift_first


def _left_open(e) -> bool:
    return opens(e, LEFT)


ROWS, COLS = np.arange(H)[:, None], np.arange(W)[None, :]
#: An upright box's silhouette: columns 40-80, rows 30-69.
BOX = (COLS >= 40) & (COLS <= 80) & (ROWS >= 30) & (ROWS < 70)
#: A ball's: a disk of radius 20 about (row 50, column 70).
BALL = (ROWS - 50) ** 2 + (COLS - 70) ** 2 <= 20 ** 2


def test_a_box_edge_seen_above_its_occluder_closes_that_side():
    """The board hides the lower half of the box's left edge (rows 50-69): the edge is
    seen at column 40 above it, so the box hides no width behind the board."""
    box = _lift(*_frame(BOX, slice(50, 75), slice(30, 48)))
    assert box.occluded_outline > 0.0 and not _left_open(box)
    assert LEFT not in {tuple(d) for d in box.hidden_directions} and not box.partial
    assert abs(box.extent_scene[1] - 40 * 3.0 / F) < 0.05  # columns 40-80 at 3 m


def test_a_box_edge_hidden_along_its_whole_height_stays_open():
    box = _lift(*_frame(BOX, slice(25, 75), slice(30, 48)))
    assert _left_open(box)


def test_without_the_prior_an_occluded_side_stays_open():
    box = _lift(*_frame(BOX, slice(50, 75), slice(30, 48)), prism_prior=False)
    assert _left_open(box)


def test_a_ball_whose_widest_part_is_hidden_stays_open():
    """The board hides the ball's left from row 40 down, its equator (row 50)
    included: the outline seen above the board runs outward into it, so its outermost
    seen point lies beside the board, and the prism prior leaves it open (the round
    outline rule closes it, with the ball's width: ``test_round_outline``)."""
    ball = _lift(*_frame(BALL, slice(40, 80), slice(30, 62)), round_prior=False)
    assert _left_open(ball)
    # with the band off, that outermost point would count as the seen edge
    assert not _left_open(_lift(*_frame(BALL, slice(40, 80), slice(30, 62)),
                                seen_edge_band=0, seen_edge_tolerance_steps=3.0,
                                round_prior=False))
    assert not _left_open(_lift(*_frame(BALL, slice(40, 80), slice(30, 62))))


def test_a_ball_whose_widest_part_is_seen_closes_the_side():
    """The board hides only the ball's lower left (from row 60): its equator is seen."""
    ball = _lift(*_frame(BALL, slice(60, 80), slice(30, 62)))
    assert not _left_open(ball)


def _grid(depth: np.ndarray, seg: np.ndarray):
    return analyse_grid(seg, depth, 2, 1, continuity_abs_m=0.02, continuity_rel=0.04,
                        occlusion_margin_m=0.03, reach_px=6)


def test_a_neighbour_edge_without_depth_is_judged_by_its_depth_further_in():
    """Object 1 (2 m, columns 20-39) beside object 2 (4 m, columns 40-79) whose edge
    columns have no depth (a sensor's dropout): 2 is farther a few pixels in, so it
    hides nothing of 1; when 2 has no depth that far in either, it may be nearer."""
    seg = np.zeros((40, 100), np.int32)
    depth = np.full((40, 100), 6.0, np.float32)
    seg[10:30, 20:40], depth[10:30, 20:40] = 1, 2.0
    seg[5:35, 40:80], depth[5:35, 40:80] = 2, 4.0
    depth[:, 40:42] = np.nan
    assert _grid(depth, seg).occluded_fraction(1, ("right",)) == 0.0
    depth[:, 40:50] = np.nan
    assert _grid(depth, seg).occluded_fraction(1, ("right",)) == 1.0


def test_a_partial_object_whose_only_hidden_part_was_its_base_is_whole_on_its_support():
    """A mug partly hidden behind a crate: its side is closed (seen beside the crate),
    its base is hidden. Set on the floor, nothing of it is hidden: it is no longer
    partial. One more hidden direction (its width) keeps it partial."""
    down = np.array([[0.0, 0.0, -1.0]])
    mug = replace(est("mug", [2.0, 0.0, 0.12], (0.08, 0.08, 0.2), partial=True),
                  occluded_bottom=0.9, hidden_directions=down,
                  hidden_reach_m=np.array([[0.0, 0.02]]), hidden_causes=("occluded",))
    (snapped,) = snap_to_support([mug], CompletionConfig())
    assert snapped.extent_scene[2] == pytest.approx(0.22)
    assert not has_hidden_part(snapped) and not snapped.partial
    wider = replace(mug, hidden_directions=np.vstack([down, [[0.0, 1.0, 0.0]]]),
                    hidden_reach_m=np.array([[0.0, 0.02], [0.0, 0.1]]),
                    hidden_causes=("occluded", "occluded"))
    (snapped,) = snap_to_support([wider], CompletionConfig())
    assert snapped.partial and snapped.hidden_directions.tolist() == [[0.0, 1.0, 0.0]]


def _cut(mask: np.ndarray, **config):
    """The object of ``mask`` at 3 m before the 5 m wall, no board (off-image)."""
    return _lift(*_frame(mask, slice(0, 0), slice(0, 0)), **config)


def _left_cut_open(e) -> bool:
    return any(tuple(d) == LEFT and c == "border"
               for d, c in zip(e.hidden_directions, e.hidden_causes))


#: A box touching the left border on rows 30-49 only; below, its edge is seen at
#: column 1, against the wall.
BOX_AT_THE_BORDER = (COLS <= 40) & (ROWS >= 30) & (ROWS < 70) & ~((ROWS >= 50) & (COLS < 1))


def test_a_side_cut_by_the_border_whose_edge_is_seen_elsewhere_closes_that_side():
    """The border is an occluder the prism prior looks past as well: the box's left
    edge seen on rows 53-69 (away from the border by more than the band) reaches its
    extreme, so nothing of its width lies beyond the border, and it is whole."""
    box = _cut(BOX_AT_THE_BORDER)
    assert box.cut_by_border and not _left_cut_open(box) and not box.partial
    assert not has_hidden_part(box)


def test_without_the_prior_a_side_cut_by_the_border_stays_open():
    box = _cut(BOX_AT_THE_BORDER, prism_prior=False)
    assert _left_cut_open(box) and box.partial


def test_a_ball_cut_by_the_border_at_its_widest_stays_open():
    """A ball whose equator runs out of the image: the outline seen above and below
    runs outward into the border, so its outermost seen points lie beside it (and
    the border takes most of that side as well: open on either count)."""
    ball = (ROWS - 50) ** 2 + (COLS - 12) ** 2 <= 20 ** 2
    assert _left_cut_open(_cut(ball)) and _cut(ball).partial
    assert _left_cut_open(_cut(ball, max_cut_side_for_prior=1.0))  # the band alone


def test_a_side_cut_at_a_corner_with_the_top_stays_open():
    """The same box, its upper part run out of the top of the image too: beyond that
    corner may lie the far vertical edge of a turned box, which the near edge seen
    lower does not bound."""
    box = _cut(BOX_AT_THE_BORDER | ((ROWS < 30) & (COLS <= 40)))
    assert _left_cut_open(box) and box.partial


def test_a_side_mostly_cut_by_the_border_stays_open():
    """A table run out of the image: the border takes rows 30-64 of its left side and
    only a leg's edge is seen below, at column 1. What is seen of the side is then a leg
    or one receding face, not the object's edge: the border is not looked past when it
    takes more than half of the side."""
    table = (COLS <= 40) & (ROWS >= 30) & (ROWS < 70) & ~((ROWS >= 65) & (COLS < 1))
    assert _left_cut_open(_cut(table)) and _cut(table).partial
    assert not _left_cut_open(_cut(table, max_cut_side_for_prior=1.0))

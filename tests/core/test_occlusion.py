"""Parts hidden behind a nearer object (issue 22): found from the depth order across the
mask edge and the adjacency of masks, also with depth smoothed as a learned model
smooths it, and bounded by what the occluder's silhouette can hide."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from spatial_vqa_ros.core import outline
from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.core.capture import Capture, Observations
from spatial_vqa_ros.core.cut_bounds import MAX_OBJECT_EXTENT_M
from spatial_vqa_ros.core.objects import ObjectConfig, lift_objects
from spatial_vqa_ros.core.occlusion import (
    TOP_SLACK_M,
    merge_hidden,
    occluder_reach_px,
    occlusion_directions,
    up_reach_behind,
)
from spatial_vqa_ros.core.outline import _main_occluder, analyse_grid, median_by_label
from spatial_vqa_ros.core.scene_frame import camera_aligned_frame, scene_frame_from_floor

F = 100.0
LEFT, RIGHT = (0.0, 1.0, 0.0), (0.0, -1.0, 0.0)


def _box_behind_crate(blur_px: float = 0.0, crate_right: int = 100, crate_m: float = 1.2):
    """A wall at 3 m; a box at 2 m (label 1, columns 30-70, rows 30-70); a crate at 1.2 m
    (label 2) in front of the box's right part (columns 60 to ``crate_right``): the box
    shows columns 30-60."""
    h, w = 100, 140
    depth = np.full((h, w), 3.0)
    seg = np.zeros((h, w), np.int32)
    depth[30:70, 30:70], seg[30:70, 30:70] = 2.0, 1
    depth[25:80, 60:crate_right], seg[25:80, 60:crate_right] = crate_m, 2
    if blur_px:
        depth = ndimage.gaussian_filter(depth, blur_px)
    camera = CameraIntrinsics(w, h, F, F, w / 2, h / 2)
    capture = Capture(np.zeros((h, w, 3), np.uint8), depth.astype(np.float32), camera)
    obs = Observations(seg, ("box", "crate"), np.ones(2, np.float32), np.array([1, 2]))
    return capture, obs


def _lift(capture, obs, **config):
    return lift_objects(capture, obs, camera_aligned_frame(), ObjectConfig(stride=1, **config))


def _reach_along(e, direction) -> tuple[str, float]:
    for d, (low, high), cause in zip(e.hidden_directions, e.hidden_reach_m, e.hidden_causes):
        if tuple(d) == direction:
            assert low == 0.0
            return cause, float(high)
    raise AssertionError(f"{e.label} has no hidden direction {direction}: "
                         f"{e.hidden_directions.tolist()}")


def test_an_object_behind_a_nearer_one_may_continue_behind_it_as_far_as_it_can_hide():
    box, crate = _lift(*_box_behind_crate())
    assert not crate.hidden_directions.size  # the nearer crate is seen whole
    cause, reach = _reach_along(box, RIGHT)
    assert cause == "occluded"
    # the crate's mask reaches 40 columns past the box's visible right edge (60 -> 100):
    # at the box's 2 m, 40 px / 100 px * 2 m = 0.8 m (the box's hidden 10 columns are
    # 0.2 m), within the cap no object exceeds
    assert reach == pytest.approx(40 / F * 2.0, rel=0.05)
    assert reach < MAX_OBJECT_EXTENT_M - box.box_width_m
    assert tuple(map(tuple, box.hidden_directions)) == (RIGHT,)  # nothing on the left


def test_an_occluder_cut_by_the_border_leaves_only_the_size_cap():
    box, _ = _lift(*_box_behind_crate(crate_right=140))
    cause, reach = _reach_along(box, RIGHT)
    assert cause == "occluded"
    assert reach == pytest.approx(MAX_OBJECT_EXTENT_M - box.box_width_m)


@pytest.mark.parametrize("blur_px", [1.5, 3.0])
def test_smoothed_depth_still_shows_the_occluder(blur_px):
    """Learned depth blurs the step; comparing depths a few pixels into each mask
    finds it, even for a crate only 15 cm nearer than the box (whose blurred step a
    1-pixel comparison no longer sees)."""
    box, _ = _lift(*_box_behind_crate(blur_px))
    cause, reach = _reach_along(box, RIGHT)
    # blurred, the box's farthest visible depth (which scales the bound) rises toward
    # the wall's: the bound only widens
    assert cause == "occluded" and 0.8 * 0.95 <= reach <= 1.3
    close, _ = _lift(*_box_behind_crate(blur_px, crate_m=1.9))
    assert _reach_along(close, RIGHT)[0] == "occluded"
    if blur_px == 3.0:
        capture, obs = _box_behind_crate(blur_px, crate_m=1.9)
        fractions = [_grid(capture, obs, reach_px).occluded_fraction(1, ("right",))
                     for reach_px in (1, 6)]
        assert fractions[0] <= 0.15 < fractions[1] == 1.0
        blind, _ = _lift(capture, obs, occlusion_reach_px=1)
        assert RIGHT not in map(tuple, blind.hidden_directions)


def test_a_whole_unoccluded_view_has_no_hidden_directions():
    capture, obs = _box_behind_crate(blur_px=2.0)
    seg = obs.segmentation.copy()
    seg[seg == 2] = 0  # no crate: a box alone before the wall
    depth = capture.depth_m.copy()
    depth[25:80, 60:100] = 3.0
    depth[30:70, 30:70] = 2.0
    depth = ndimage.gaussian_filter(depth, 2.0).astype(np.float32)
    alone = Observations(seg, ("box",), np.ones(1, np.float32), np.array([1]))
    (box,) = _lift(Capture(capture.rgb, depth, capture.camera), alone)
    assert box.hidden_directions.shape == (0, 3) and box.hidden_causes == ()


def test_occluder_reach_counts_the_silhouette_past_the_edge():
    own = (slice(10, 20), slice(30, 40))
    assert occluder_reach_px("right", own, (slice(5, 25), slice(35, 52)), (50, 60)) == 12
    assert occluder_reach_px("left", own, (slice(5, 25), slice(22, 33)), (50, 60)) == 8
    assert occluder_reach_px("top", own, (slice(0, 12), slice(30, 40)), (50, 60)) == np.inf
    assert occluder_reach_px("bottom", own, None, (50, 60)) == np.inf  # unlabelled surface
    # an occluder that hides the edge but does not reach past it still hides a pixel
    assert occluder_reach_px("right", own, (slice(10, 20), slice(35, 40)), (50, 60)) == 1


def _grid(capture, obs, reach_px: int = 6):
    return analyse_grid(np.ascontiguousarray(obs.segmentation),
                        np.ascontiguousarray(capture.depth_m), len(obs), 1,
                        continuity_abs_m=0.02, continuity_rel=0.04, occlusion_margin_m=0.03,
                        reach_px=reach_px)


def test_the_grid_pass_finds_who_hides_which_side_and_what_lies_beyond_the_top():
    capture, obs = _box_behind_crate()
    analysis = _grid(capture, obs)
    assert analysis.occluded_fraction(1, ("right",)) == 1.0
    assert analysis.occluder["right"][1] == 2 and analysis.occluder["left"][1] == 0
    assert analysis.occluded_fraction(2, ("left", "right", "top", "bottom")) == 0.0
    # beyond the box's top outline: the wall (3 m), over its 30 visible columns
    beyond = analysis.beyond_top_label == 1
    assert beyond.sum() == 30
    assert np.allclose(capture.depth_m.ravel()[analysis.beyond_top_index[beyond]], 3.0)


def test_median_by_label_ignores_missing_values():
    labels = np.array([1, 1, 1, 2, 2, 3])
    values = np.array([3.0, 1.0, 2.0, 4.0, 6.0, np.nan])
    assert median_by_label(labels, values, 5).tolist()[1:3] == [2.0, 5.0]
    assert np.isnan(median_by_label(labels, values, 5)[[0, 3, 4]]).all()


def test_occluded_fractions_of_every_label_are_those_of_each_label_alone():
    capture, obs = _box_behind_crate(blur_px=1.5)
    analysis = _grid(capture, obs)
    for sides in (("right",), ("left", "right", "top"), ("left", "right", "top", "bottom")):
        every = analysis.occluded_fractions(sides)
        assert every.shape == (3,) and every[0] == 0.0  # the background has no outline
        assert every.tolist()[1:] == [analysis.occluded_fraction(k, sides) for k in (1, 2)]


def test_the_main_occluder_is_the_label_with_most_votes_and_a_tie_goes_to_the_higher():
    hidden = np.array([1, 1, 1, 2, 2, 3, 3, 3, 3], np.int32)
    hiding = np.array([4, 4, 2, 1, 3, 0, 0, 0, 2], np.int32)
    assert _main_occluder(hidden, hiding, 5).tolist() == [0, 4, 3, 2, 0]
    assert _main_occluder(hidden[:0], hiding[:0], 5).tolist() == [0] * 5


def test_the_dense_vote_count_agrees_with_the_sorted_one(monkeypatch):
    rng = np.random.default_rng(3)
    cases = [(int(c), rng.integers(0, c, 300).astype(np.int32),
              rng.integers(0, c, 300).astype(np.int32)) for c in rng.integers(2, 40, 100)]
    dense = [_main_occluder(hidden, hiding, count) for count, hidden, hiding in cases]
    monkeypatch.setattr(outline, "_DENSE_VOTES_MAX_LABELS", 0)  # np.unique's path
    for (count, hidden, hiding), got in zip(cases, dense):
        assert got.tolist() == _main_occluder(hidden, hiding, count).tolist()


def test_two_occluded_sides_along_one_axis_give_it_once_with_the_wider_reach():
    # a camera rolled 45 degrees: beyond the image's left side lies scene left and
    # down, beyond its top scene left and up; left is reached from both sides
    c = s = np.sqrt(0.5)
    right_cam, down_cam, forward_cam = (0.0, -c, s), (0.0, -s, -c), (1.0, 0.0, 0.0)
    rotation = np.array([right_cam, down_cam, forward_cam]).T
    directions, reach = occlusion_directions(
        {"left": 5.0, "top": 3.0}, extent_scene=np.array([0.2, 0.3, 0.4]),
        rotation_scene_from_cam=rotation, far_depth_m=2.0, focal_px=(100.0, 100.0), stride=1)
    assert sorted(map(tuple, directions.tolist())) == [(0.0, 0.0, -1.0), (0.0, 0.0, 1.0),
                                                       (0.0, 1.0, 0.0)]
    assert (reach[:, 0] == 0.0).all()
    left = directions.tolist().index([0.0, 1.0, 0.0])
    # the left side's 5 px at 2 m, seen at a lean of sin 45: wider than the top's 3 px
    assert reach[left, 1] == pytest.approx(5.0 * 2.0 / (100.0 * c))


def test_merging_hidden_parts_keeps_the_first_cause_and_the_wider_reach():
    border = (np.array([[0.0, 1.0, 0.0]]), np.array([[0.0, 0.4]]), ("border",))
    merged = merge_hidden(border, np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
                          np.array([[-0.1, 0.6], [-0.2, 0.2]]), cause="far_side")
    assert merged[0].tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    assert merged[1].tolist() == [[-0.1, 0.6], [-0.2, 0.2]]
    assert merged[2] == ("border", "far_side")
    empty = merge_hidden((np.zeros((0, 3)), np.zeros((0, 2)), ()), np.zeros((0, 3)),
                         np.zeros((0, 2)), cause="occluded")
    assert empty[0].shape == (0, 3) and empty[1].shape == (0, 2) and empty[2] == ()


UP = (0.0, 0.0, 1.0)
FARTHER = (1.0, 0.0, 0.0)


def _peaked_box_under_a_board(board_m: float):
    """A camera 1.5 m above the floor looking 30 degrees down at a wall (5 m); a
    box at 3 m (label 1) whose top outline peaks at row 30 (column 60) and falls to
    row 50 at its sides (columns 40-80), bottom row 70; a board (label 2, at
    ``board_m``, rows 42-55, columns 30-48) hides the top of the box's left flank."""
    h, w = 100, 140
    depth = np.full((h, w), 5.0)
    seg = np.zeros((h, w), np.int32)
    rows = np.arange(h)[:, None]
    cols = np.arange(w)[None, :]
    box = (cols >= 40) & (cols <= 80) & (rows >= 30 + np.abs(cols - 60)) & (rows < 70)
    depth[box], seg[box] = 3.0, 1
    depth[42:55, 30:49], seg[42:55, 30:49] = board_m, 2
    camera = CameraIntrinsics(w, h, F, F, w / 2, h / 2)
    capture = Capture(np.zeros((h, w, 3), np.uint8), depth.astype(np.float32), camera)
    obs = Observations(seg, ("box", "board"), np.ones(2, np.float32), np.array([1, 2]))
    tilt = np.radians(30.0)
    scene = scene_frame_from_floor(np.array([0.0, -np.cos(tilt), -np.sin(tilt)]), 1.5)
    return capture, obs, scene


def _directions_of(e) -> set[tuple[float, ...]]:
    return {tuple(d) for d in e.hidden_directions}


def test_an_occluder_lower_than_the_seen_top_hides_no_height_only_what_lies_farther():
    """The board (top 0.34 m in the scene) hides the box's left flank from above; the
    box is seen up to 0.52 m. Rays over the board descend behind it, so what it hides
    lies below 0.34 m: the box may go on farther there, not higher."""
    capture, obs, scene = _peaked_box_under_a_board(2.7)
    box, board = lift_objects(capture, obs, scene, ObjectConfig(stride=1))
    assert board.center_scene[2] + board.extent_scene[2] / 2 == pytest.approx(0.337, abs=0.01)
    assert box.center_scene[2] + box.extent_scene[2] / 2 == pytest.approx(0.52, abs=0.01)
    # up is closed; the box's left edge (column 40) is seen below the board, so the
    # prism prior closes left too (test_seen_edges); without the prior it stays open
    assert _directions_of(box) == {FARTHER}
    assert set(box.hidden_causes) == {"occluded"}
    box, _ = lift_objects(capture, obs, scene, ObjectConfig(stride=1, prism_prior=False))
    assert _directions_of(box) == {FARTHER, LEFT}


def test_an_occluder_above_the_seen_top_leaves_up_open_as_far_as_its_top():
    """Nearer (2 m), the same board stands 0.60 m high in the scene, above the box's
    seen top: the box may rise behind it (here as far as the board's silhouette reaches
    above the box's outline, which is less than the board's top allows)."""
    capture, obs, scene = _peaked_box_under_a_board(2.0)
    box, board = lift_objects(capture, obs, scene, ObjectConfig(stride=1))
    board_top = board.center_scene[2] + board.extent_scene[2] / 2
    box_top = box.center_scene[2] + box.extent_scene[2] / 2
    assert board_top > box_top + 0.05
    cause, reach = _reach_along(box, UP)
    assert cause == "occluded"
    assert 0.0 < reach <= board_top + TOP_SLACK_M - box_top


def test_up_reach_behind_an_occluder_is_bounded_only_with_the_camera_above_its_top():
    assert up_reach_behind(0.5, 0.3, 1.5) == 0.0
    assert up_reach_behind(0.5, 0.7, 1.5) == pytest.approx(0.2 + TOP_SLACK_M)
    assert up_reach_behind(0.5, 0.3, 0.2) == np.inf  # camera below: rays rise behind it
    assert up_reach_behind(0.5, 0.3, float("nan")) == np.inf  # no floor, no camera height
    assert up_reach_behind(float("nan"), 0.3, 1.5) == np.inf


def test_an_up_closed_by_its_occluder_is_no_hidden_direction():
    tilt = np.radians(30.0)
    rotation = scene_frame_from_floor(np.array([0.0, -np.cos(tilt), -np.sin(tilt)]),
                                      1.5).rotation_scene_from_cam
    kwargs = dict(extent_scene=np.array([0.3, 0.3, 0.3]), rotation_scene_from_cam=rotation,
                  far_depth_m=3.0, focal_px=(F, F), stride=1)
    open_dirs, _ = occlusion_directions({"top": 10.0}, **kwargs)
    assert {tuple(d) for d in open_dirs} == {FARTHER, UP}
    closed, reach = occlusion_directions({"top": 10.0}, up_reach_m={"top": 0.0}, **kwargs)
    assert [tuple(d) for d in closed] == [FARTHER] and reach[0, 1] > 0
    bounded, reach = occlusion_directions({"top": 10.0}, up_reach_m={"top": 0.05}, **kwargs)
    assert reach[[tuple(d) for d in bounded].index(UP), 1] == pytest.approx(0.05)


def test_the_surface_a_round_object_rests_on_hides_nothing_of_it():
    """A ball on a table: the table top beside its base is nearer than the silhouette's
    edge (at the ball's centre depth), so both sides read as occluded by the table; the
    table's top lies below the ball's seen bottom and the camera looks down on it, so all
    it can hide lies below the ball. The ball is seen whole and its width is stated."""
    from spatial_vqa_ros.core.gate import judge
    from spatial_vqa_ros.core.pipeline import PipelineConfig
    from spatial_vqa_ros.synthetic.scenes import TIDY_HIDDEN
    from spatial_vqa_ros.synthetic.scoring import render_case, run_pipeline

    _, frame, truth = render_case(14, style=TIDY_HIDDEN)
    result = run_pipeline(frame)
    ball = next(e for e in result.estimates if e.label == "ball")
    true_ball = next(t for t in truth.objects if t.id == ball.source_id)
    assert ball.localised and ball.hidden_causes == ()
    assert judge("width", ball, floor_found=True,
                 camera_scene=result.scene.camera_position_scene).statable
    assert abs(ball.extent_scene[1] / true_ball.extent_scene[1] - 1) < 0.1
    # an occluder standing beside the object still opens its side (the crate's left)
    # where the prism prior does not close it ...
    no_prior = run_pipeline(frame, PipelineConfig(objects=ObjectConfig(prism_prior=False)))
    crate = next(e for e in no_prior.estimates if e.label == "crate")
    assert "occluded" in crate.hidden_causes
    # ... and here it does: the crate's left edge is seen beside its occluder, so its
    # width is stated, within 10% of the truth although more than half of it is hidden
    crate = next(e for e in result.estimates if e.label == "crate")
    true_crate = next(t for t in truth.objects if t.id == crate.source_id)
    assert "occluded" not in crate.hidden_causes and true_crate.occluded_fraction > 0.5
    assert judge("width", crate, floor_found=True,
                 camera_scene=result.scene.camera_position_scene).statable
    assert abs(crate.extent_scene[1] / true_crate.extent_scene[1] - 1) < 0.1

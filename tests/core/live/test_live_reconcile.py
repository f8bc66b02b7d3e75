"""Reconciling a keyframe's detections with the tracks as they were on that keyframe."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.live.errors import LiveError
from spatial_vqa_ros.core.live.history import HistoryConfig, TrackHistory, TrackState
from spatial_vqa_ros.core.live.masks import mask_iou_matrix
from spatial_vqa_ros.core.live.reconcile import (
    Detections,
    ReconcileConfig,
    Reconciliation,
    reconcile,
    reconcile_keyframe,
)

SHAPE = (60, 80)
MS = 1_000_000


def _masks(spans: list[tuple[int, int]], rows: tuple[int, int] = (10, 20)) -> np.ndarray:
    """One rectangle mask per (x0, x1) span, on rows ``rows``."""
    masks = np.zeros((len(spans), *SHAPE), bool)
    for i, (x0, x1) in enumerate(spans):
        masks[i, rows[0]:rows[1], x0:x1] = True
    return masks


def _tracks(spans: list[tuple[int, int]], labels: list[str], ids: list[int] | None = None,
            lost: list[bool] | None = None, stamp_ns: int = 0) -> TrackState:
    n = len(spans)
    return TrackState.from_tracker(stamp_ns, ids or list(range(1, n + 1)), labels,
                                   masks=_masks(spans), confidence=np.ones(n),
                                   lost=np.array(lost or [False] * n))


def _detections(spans: list[tuple[int, int]], labels: list[str]) -> Detections:
    return Detections.from_arrays(labels, masks=_masks(spans))


def test_each_track_matches_its_own_detection() -> None:
    tracks = _tracks([(0, 10), (30, 42)], ["cup", "cup"], ids=[7, 9])
    result = reconcile(_detections([(31, 43), (1, 11)], ["cup", "cup"]), tracks)
    assert result.matched == ((7, 1), (9, 0))
    assert result.new == () and result.retired == () and result.misses == ()
    assert result.measure == "mask" and result.against_stamp_ns == 0
    assert result.matched_iou == pytest.approx((9 / 11, 11 / 13))


def test_a_detection_without_a_track_is_a_new_object() -> None:
    tracks = _tracks([(0, 10)], ["cup"])
    result = reconcile(_detections([(0, 10), (50, 60)], ["cup", "cup"]), tracks)
    assert result.matched == ((1, 0),) and result.new == (1,)


def test_a_track_visible_at_the_keyframe_without_a_detection_is_retired() -> None:
    tracks = _tracks([(0, 10), (30, 40)], ["cup", "box"])
    result = reconcile(_detections([(0, 10)], ["cup"]), tracks)
    assert result.retired == (2,) and result.misses == ()


def test_a_track_lost_or_occluded_at_the_keyframe_is_kept_until_enough_misses() -> None:
    tracks = TrackState.from_tracker(
        0, [1, 2, 3], ["cup", "box", "ball"],
        masks=np.concatenate([_masks([(0, 10), (30, 40)]), _masks([(60, 63)], rows=(0, 1))]),
        confidence=np.ones(3), lost=np.array([False, True, False]))
    detections = _detections([(0, 10)], ["cup"])
    result = reconcile(detections, tracks)  # box: marked lost; ball: 3 pixels, hidden
    assert result.retired == () and result.misses == ((2, 1), (3, 1))
    later = reconcile(detections, tracks, config=ReconcileConfig(retire_hidden_after=5),
                      misses={2: 4, 3: 1})
    assert later.retired == (2,) and later.misses == ((3, 2),)


def test_a_match_resets_the_misses_and_visible_misses_can_be_allowed() -> None:
    tracks = _tracks([(0, 10), (30, 40)], ["cup", "box"])
    config = ReconcileConfig(retire_visible_after=2)
    first = reconcile(_detections([(0, 10)], ["cup"]), tracks, config=config, misses={1: 3})
    assert first.retired == () and first.misses == ((2, 1),)
    second = reconcile(_detections([(0, 10)], ["cup"]), tracks, config=config,
                       misses=dict(first.misses))
    assert second.retired == (2,)


def test_a_label_change_retires_the_track_and_adds_a_new_object() -> None:
    tracks = _tracks([(0, 10)], ["cup"])
    result = reconcile(_detections([(0, 10)], ["bowl"]), tracks)
    assert result.matched == () and result.retired == (1,) and result.new == (0,)


def test_too_little_overlap_is_no_match() -> None:
    tracks = _tracks([(0, 10)], ["cup"])
    result = reconcile(_detections([(8, 18)], ["cup"]), tracks)  # IoU 2/18
    assert result.matched == () and result.new == (0,) and result.retired == (1,)


def test_hungarian_matches_both_where_best_pair_first_leaves_two_unmatched() -> None:
    tracks = _tracks([(20, 30), (23, 33)], ["cup", "cup"], ids=[1, 2])  # A, B
    detections = _detections([(21, 31), (16, 26)], ["cup", "cup"])  # d0, d1
    iou = mask_iou_matrix(tracks.masks, detections.masks)
    min_iou = ReconcileConfig().min_iou
    # the fixture is the trap: d0-A is the best pair, and d1 fits only A
    assert iou[0, 0] == iou.max() and iou[1, 1] < min_iou <= iou[0, 1] and iou[0, 1] >= min_iou
    greedy, used_t, used_d = [], set(), set()
    for t, d in sorted(np.ndindex(iou.shape), key=lambda p: -iou[p]):
        if t not in used_t and d not in used_d and iou[t, d] >= min_iou:
            greedy.append((t, d))
            used_t.add(t)
            used_d.add(d)
    assert greedy == [(0, 0)]
    result = reconcile(detections, tracks)
    assert result.matched == ((1, 1), (2, 0)) and result.new == () and result.retired == ()


def test_boxes_are_compared_when_the_detections_have_no_masks() -> None:
    tracks = _tracks([(0, 10), (30, 40)], ["cup", "box"])
    detections = Detections.from_arrays(["box", "cup"], boxes_xyxy=[[31, 10, 41, 20],
                                                                    [0, 10, 10, 20]])
    result = reconcile(detections, tracks)
    assert result.measure == "box"
    assert result.matched == ((1, 1), (2, 0)) and result.matched_iou[0] == pytest.approx(1.0)


def test_a_detection_is_reconciled_against_its_own_keyframes_state() -> None:
    history = TrackHistory()
    for stamp, x in ((0, 0), (10, 20), (20, 40)):  # the cup moves 20 px a frame
        history.add(_tracks([(x, x + 10)], ["cup"], stamp_ns=stamp * MS))
    result = reconcile_keyframe(history, 0, _detections([(0, 10)], ["cup"]))
    assert result.status == "exact" and result.message == ""
    assert result.matched == ((1, 0),) and result.against_stamp_ns == 0


def test_a_detection_for_an_evicted_keyframe_is_reconciled_against_the_oldest_kept() -> None:
    history = TrackHistory(HistoryConfig(max_frames=2))
    for stamp in (0, 10, 20):
        history.add(_tracks([(0, 10), (30, 40)], ["cup", "box"], stamp_ns=stamp * MS))
    result = reconcile_keyframe(history, 0, _detections([(1, 11)], ["cup"]))
    assert result.status == "evicted" and result.against_stamp_ns == 10 * MS
    assert result.matched == ((1, 0),)
    assert result.retired == () and result.misses == ((2, 1),)  # a miss, not retired at once
    assert "keyframe detection at 0 ns reconciled against the track state at 10000000 ns " \
           "(+10.0 ms)" in result.message
    assert "was evicted" in result.message and "count a miss" in result.message


def test_a_detection_with_no_history_at_all_starts_new_tracks() -> None:
    result = reconcile_keyframe(TrackHistory(), 0, _detections([(0, 10), (20, 30)],
                                                               ["cup", "box"]))
    assert result == Reconciliation(new=(0, 1), status="empty", message=result.message)
    assert "every detection starts a new track" in result.message


@pytest.mark.parametrize(("fields", "message"), [
    ({"min_iou": 0.0}, r"min_iou must be in \(0, 1\]"),
    ({"retire_hidden_after": 0}, r"retire_hidden_after must be a whole number >= 1"),
    ({"min_visible_pixels": -1}, r"min_visible_pixels must be a whole number >= 0"),
])
def test_a_bad_reconcile_config_is_refused(fields: dict, message: str) -> None:
    with pytest.raises(LiveError, match=message):
        ReconcileConfig(**fields)


def test_detections_with_mismatched_arrays_are_refused() -> None:
    with pytest.raises(LiveError, match=r"boxes_xyxy must have shape \(2, 4\) for 2 labels"):
        Detections.from_arrays(["a", "b"], boxes_xyxy=np.zeros((1, 4)))
    with pytest.raises(LiveError, match="give boxes_xyxy or masks"):
        Detections.from_arrays(["a"])

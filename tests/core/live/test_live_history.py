"""The track history: exact lookups by stamp, bounded by count, age and bytes."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.live.errors import LiveError
from spatial_vqa_ros.core.live.history import (
    HistoryConfig,
    TrackHistory,
    TrackState,
    payload_nbytes,
)

MS = 1_000_000


def _state(stamp_ns: int, n: int = 2, shape: tuple[int, int] = (48, 64)) -> TrackState:
    masks = np.zeros((n, *shape), bool)
    for i in range(n):
        masks[i, 5 + i:15 + i, 10 * i:10 * i + 8] = True
    return TrackState.from_tracker(stamp_ns, np.arange(n) + 1, [f"obj{i}" for i in range(n)],
                                   masks=masks, confidence=np.full(n, 0.9),
                                   lost=np.zeros(n, bool))


def _history(stamps_ms: list[int], **config: object) -> TrackHistory:
    history = TrackHistory(HistoryConfig(**config))
    for stamp in stamps_ms:
        history.add(_state(stamp * MS))
    return history


def test_a_state_keeps_the_trackers_masks_exactly_and_their_boxes() -> None:
    state = _state(5 * MS)
    assert state.boxes_xyxy.tolist() == [[0, 5, 8, 15], [10, 6, 18, 16]]
    expected = np.zeros((2, 48, 64), bool)
    expected[0, 5:15, 0:8] = expected[1, 6:16, 10:18] = True
    assert np.array_equal(state.masks.to_dense(), expected)


def test_lookup_is_exact_and_a_near_stamp_matches_only_within_the_tolerance() -> None:
    history = _history([0, 66, 133])
    found = history.at(66 * MS)
    assert found.status == "exact" and found.entry.stamp_ns == 66 * MS and found.message == ""
    near = history.at(68 * MS)
    assert near.status == "missing" and near.entry is None
    assert "no state was recorded at 68000000 ns" in near.message
    tolerant = _history([0, 66, 133], tolerance_s=0.005)
    near = tolerant.at(68 * MS)
    assert near.status == "nearest" and near.entry.stamp_ns == 66 * MS
    assert "-2.0 ms, within the tolerance" in near.message


def test_the_history_is_bounded_by_count_and_an_evicted_stamp_says_so() -> None:
    history = _history([0, 10, 20, 30, 40], max_frames=3)
    assert history.stamps_ns == (20 * MS, 30 * MS, 40 * MS)
    gone = history.at(10 * MS)
    assert gone.status == "evicted" and not gone.found
    assert "evicted from the track history (kept: 20000000 ns to 40000000 ns, 3 frames)" \
        in gone.message


def test_the_history_is_bounded_by_age_in_stamp_time() -> None:
    history = _history(list(range(0, 1000, 100)), max_age_s=0.25)
    assert history.stamps_ns == (700 * MS, 800 * MS, 900 * MS)
    assert history.at(600 * MS).status == "evicted"


def test_the_history_is_bounded_by_bytes_with_the_frames_counted() -> None:
    state_bytes = _state(0).nbytes
    frame = {"rgb": np.zeros(1000, np.uint8), "depth_m": np.zeros(250, np.float32)}
    assert payload_nbytes(frame) == 2000
    history = TrackHistory(HistoryConfig(max_bytes=3 * (state_bytes + 2000) + 10))
    for i in range(6):
        history.add(_state(i * MS), frame=frame)
    assert len(history) == 3 and history.nbytes <= 3 * (state_bytes + 2000) + 10
    assert history.nbytes == 3 * (state_bytes + 2000)
    tiny = TrackHistory(HistoryConfig(max_bytes=1))
    tiny.add(_state(0), frame=frame)
    tiny.add(_state(MS), frame=frame)
    assert tiny.stamps_ns == (MS,)  # the newest frame is kept even alone over the bound


def test_masks_are_stored_packed() -> None:
    state = _state(0, n=10, shape=(480, 640))
    dense_bytes = 10 * 480 * 640
    assert state.nbytes * 100 < dense_bytes, state.nbytes


def test_after_gives_the_later_frames_oldest_first_with_their_frames() -> None:
    history = TrackHistory()
    for i in range(5):
        history.add(_state(i * 10 * MS), frame=f"frame {i}")
    later = history.after(20 * MS)
    assert [e.stamp_ns for e in later] == [30 * MS, 40 * MS]
    assert [e.frame for e in later] == ["frame 3", "frame 4"]
    assert history.after(40 * MS) == ()


def test_ahead_and_empty_are_told_apart() -> None:
    assert TrackHistory().at(5).status == "empty"
    history = _history([0, 10])
    assert history.at(11 * MS).status == "ahead"
    assert history.oldest().stamp_ns == 0 and history.newest().stamp_ns == 10 * MS


def test_states_out_of_stamp_order_are_refused_until_cleared() -> None:
    history = _history([10])
    with pytest.raises(LiveError, match=r"in stamp order.*call clear\(\)"):
        history.add(_state(10 * MS))
    history.clear()
    history.add(_state(MS))
    assert history.stamps_ns == (MS,) and history.at(10 * MS).status == "ahead"


def test_a_state_with_bad_arrays_is_refused_with_the_field_named() -> None:
    with pytest.raises(LiveError, match=r"ids must be unique, got \[1, 1\]"):
        TrackState.from_tracker(0, [1, 1], ["a", "b"], masks=None, confidence=[1, 1],
                                lost=[False, False], boxes_xyxy=np.zeros((2, 4)))
    with pytest.raises(LiveError, match=r"TrackState.confidence must be a float32 array of "
                                        r"shape \(2,\)"):
        TrackState.from_tracker(0, [1, 2], ["a", "b"], masks=None, confidence=[1.0],
                                lost=[False, False], boxes_xyxy=np.zeros((2, 4)))
    with pytest.raises(LiveError, match="give masks or boxes_xyxy"):
        TrackState.from_tracker(0, [1], ["a"], masks=None, confidence=[1.0], lost=[False])


@pytest.mark.parametrize(("fields", "message"), [
    ({"max_frames": 0}, r"max_frames must be a whole number >= 1"),
    ({"max_bytes": 1.5}, r"max_bytes must be a whole number >= 1"),
    ({"max_age_s": -1.0}, r"max_age_s must be a finite number of seconds"),
    ({"tolerance_s": float("inf")}, r"tolerance_s must be a finite number of seconds"),
])
def test_a_bad_history_config_is_refused(fields: dict, message: str) -> None:
    with pytest.raises(LiveError, match=message):
        HistoryConfig(**fields)

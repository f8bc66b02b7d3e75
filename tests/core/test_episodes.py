"""Resampling recorded streams to a fixed rate, and splitting frames into episodes."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.episodes import (
    EpisodeSpan,
    grid_ns,
    resample,
    split_by_gap,
    split_by_marker,
)
from spatial_vqa_ros.core.errors import CoreError

MS = 1_000_000


def test_grid_ticks_are_rounded_per_tick_without_drift():
    ticks = grid_ns(0, 1_000_000_000, 3)
    assert ticks.tolist() == [0, 333_333_333, 666_666_667, 1_000_000_000]
    long = grid_ns(0, 3600 * 1_000_000_000, 30)
    assert long[-1] == 3600 * 1_000_000_000 and long.size == 3600 * 30 + 1


def test_each_tick_takes_the_nearest_earlier_message_of_every_stream():
    camera = [0, 95 * MS, 205 * MS, 300 * MS]
    state = [0, 50 * MS, 100 * MS, 150 * MS, 200 * MS, 250 * MS, 300 * MS]
    out = resample({"camera": camera, "state": state}, fps=10, tolerance_ns=10 * MS)
    # tick 100 ms: camera 95 ms (5 ms old); tick 200 ms: camera's 95 ms is 105 ms old
    # and its 205 ms message is later -> dropped
    assert out.stamps_ns.tolist() == [0, 100 * MS, 300 * MS]
    assert out.indices["camera"].tolist() == [0, 1, 3]
    assert out.indices["state"].tolist() == [0, 2, 6]
    assert out.ticks == 4 and out.dropped_frames == 1
    assert out.dropped == {"camera": 1, "state": 0}


def test_a_message_from_after_the_tick_is_never_used():
    out = resample({"a": [0, 101 * MS], "b": [0, 100 * MS]}, fps=10, tolerance_ns=50 * MS,
                   end_ns=100 * MS)
    assert out.indices["a"].tolist() == [0]  # tick 100 ms: a's 0 ms (100 ms old) too old
    assert out.stamps_ns.tolist() == [0] and out.dropped == {"a": 1, "b": 0}


def test_the_default_grid_starts_when_every_stream_has_spoken():
    out = resample({"a": [0, 40 * MS, 80 * MS], "b": [30 * MS, 70 * MS]}, fps=25,
                   tolerance_ns=40 * MS)
    assert out.stamps_ns[0] == 30 * MS
    assert out.stamps_ns[-1] <= 70 * MS + 40 * MS


def test_a_tick_several_streams_miss_counts_once_as_a_frame_and_once_per_stream():
    out = resample({"a": [0, 300 * MS], "b": [0, 300 * MS]}, fps=10, tolerance_ns=0)
    assert out.stamps_ns.tolist() == [0, 300 * MS]
    assert out.dropped_frames == 2 and out.dropped == {"a": 2, "b": 2}


@pytest.mark.parametrize(("streams", "match"), [
    ({}, "at least one stream"),
    ({"cam": []}, "stream 'cam' has no messages"),
    ({"cam": [0.0, 0.1]}, "integer nanoseconds"),
    ({"cam": [5, 3]}, "must be in time order"),
])
def test_bad_streams_are_refused_by_name(streams, match):
    with pytest.raises(CoreError, match=match):
        resample(streams, fps=10, tolerance_ns=0)


def test_bad_rate_or_tolerance_is_refused():
    with pytest.raises(CoreError, match="fps must be > 0"):
        resample({"a": [0]}, fps=0, tolerance_ns=0)
    with pytest.raises(CoreError, match="tolerance_ns must be >= 0"):
        resample({"a": [0]}, fps=10, tolerance_ns=-1)


def test_split_by_gap_cuts_after_a_pause_longer_than_the_gap():
    stamps = [0, 100, 200, 900, 1000, 1100, 5000]
    spans = split_by_gap(stamps, max_gap_ns=500)
    assert spans == [EpisodeSpan(0, 3), EpisodeSpan(3, 6), EpisodeSpan(6, 7)]
    assert [len(s) for s in spans] == [3, 3, 1]
    assert split_by_gap(stamps, max_gap_ns=10_000) == [EpisodeSpan(0, 7)]
    assert split_by_gap([], max_gap_ns=1) == []
    with pytest.raises(CoreError, match="max_gap_ns must be > 0"):
        split_by_gap(stamps, max_gap_ns=0)


def test_split_by_marker_starts_an_episode_where_the_marker_changes():
    stamps = np.arange(10) * 100
    spans = split_by_marker(stamps, [150, 350, 420, 780], ["pick", "pick", "place", 3])
    assert spans == [EpisodeSpan(0, 2, None), EpisodeSpan(2, 5, "pick"),
                     EpisodeSpan(5, 8, "place"), EpisodeSpan(8, 10, 3)]


def test_split_by_marker_at_a_frames_stamp_applies_to_that_frame():
    spans = split_by_marker([0, 100, 200], [0, 100], ["a", "b"])
    assert spans == [EpisodeSpan(0, 1, "a"), EpisodeSpan(1, 3, "b")]


def test_split_by_marker_without_markers_is_one_episode_and_mismatch_is_refused():
    assert split_by_marker([0, 1, 2], [], []) == [EpisodeSpan(0, 3, None)]
    with pytest.raises(CoreError, match="2 marker stamps but 1 marker values"):
        split_by_marker([0, 1], [0, 1], ["a"])
    with pytest.raises(CoreError, match="stream 'marker': stamps must be in time order"):
        split_by_marker([0, 1], [5, 1], ["a", "b"])

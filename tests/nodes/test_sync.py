"""The built-in ApproximateTime synchroniser (used when message_filters is absent)."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.nodes.sync import ApproximateTimeSync


def make(n=3, queue=5, slop=0.02):
    out = []
    return ApproximateTimeSync(n, queue, slop, lambda *m: out.append(m)), out


def test_messages_with_close_stamps_are_emitted_together():
    sync, out = make()
    sync.add(0, 1.000, "rgb")
    sync.add(1, 1.005, "depth")
    assert out == []
    sync.add(2, 0.995, "ids")
    assert out == [("rgb", "depth", "ids")]
    assert sync.pending() == 0


def test_stamps_beyond_slop_never_match():
    sync, out = make(n=2)
    sync.add(0, 1.0, "a")
    sync.add(1, 1.05, "b")
    assert out == [] and sync.pending() == 2


def test_nearest_candidate_is_chosen():
    sync, out = make(n=2, slop=0.05)
    sync.add(1, 0.97, "far")
    sync.add(1, 1.01, "near")
    sync.add(0, 1.0, "rgb")
    assert out == [("rgb", "near")]
    assert sync.pending() == 1  # "far" stays until trimmed


def test_queues_are_bounded_under_any_rate():
    sync, out = make(n=2, queue=4)
    for k in range(1000):
        sync.add(0, k * 1.0, k)  # input 1 never arrives
    assert sync.pending() == 4 and out == []


def test_a_message_older_than_a_full_queue_is_dropped_not_crashing():
    sync, out = make(n=2, queue=2)
    sync.add(1, 0.5, "x")
    sync.add(0, 1.0, "a")
    sync.add(0, 2.0, "b")
    sync.add(0, 0.5, "c")  # older than both queued stamps: trimmed at once
    assert out == [] and sync.pending() == 3


def test_out_of_order_arrival_still_matches():
    sync, out = make(n=2)
    for k in range(5):
        sync.add(1, k + 0.01, f"d{k}")
    for k in reversed(range(5)):
        sync.add(0, float(k), f"r{k}")
    assert sorted(out) == [(f"r{k}", f"d{k}") for k in range(5)]


def test_invalid_configuration_is_refused():
    with pytest.raises(ValueError, match="queue_size >= 1"):
        ApproximateTimeSync(2, 0, 0.1, print)


def test_same_policy_as_message_filters_when_available():
    """Where message_filters exists (a ROS install), both emit the same sets."""
    mf = pytest.importorskip("message_filters")
    from sensor_msgs.msg import Image

    arrivals = [(0, 1.000), (1, 1.004), (1, 1.030), (0, 1.033), (0, 1.066), (1, 1.070),
                (1, 1.090), (0, 1.200), (1, 1.260), (0, 1.266)]

    def image(stamp_s):
        msg = Image()
        msg.header.stamp.sec = int(stamp_s)
        msg.header.stamp.nanosec = round((stamp_s % 1) * 1e9)
        return msg

    ours, theirs = [], []
    sync = ApproximateTimeSync(2, 10, 0.02, lambda *m: ours.append(m))
    sources = [mf.SimpleFilter(), mf.SimpleFilter()]
    reference = mf.ApproximateTimeSynchronizer(sources, 10, 0.02)
    reference.registerCallback(lambda *m: theirs.append(m))
    for index, stamp in arrivals:
        msg = image(stamp)
        sync.add(index, stamp, msg)
        sources[index].signalMessage(msg)

    def stamps(sets):
        return [tuple(round(m.header.stamp.sec + m.header.stamp.nanosec * 1e-9, 3) for m in s)
                for s in sets]

    assert stamps(ours) == stamps(theirs)
    assert len(ours) >= 3


def test_messages_pushed_out_of_a_full_queue_unmatched_are_counted_per_input():
    sync, out = make(n=2, queue=3)
    for k in range(5):
        sync.add(0, float(k), f"rgb{k}")  # their depth never comes
    assert sync.unmatched == [2, 0]
    sync.add(1, 4.001, "depth4")
    assert out == [("rgb4", "depth4")]
    sync.add(0, 5.0, "rgb5")  # the queue is full again: rgb2, rgb3, rgb5
    sync.add(0, 0.5, "late")  # older than a full queue: dropped at once, counted
    assert sync.unmatched == [3, 0] and sync.emitted == 1


def test_messages_waiting_for_their_partners_are_counted_per_input():
    """A frame whose other topic was lost waits in its queue until newer messages push
    it out: the node reports both (``<role>_waiting``, ``<role>_unsynced``)."""
    sync, out = make(n=2, queue=3)
    sync.add(0, 0.0, "rgb0")  # its depth is lost
    sync.add(0, 1.0, "rgb1")
    sync.add(1, 1.001, "depth1")
    assert out == [("rgb1", "depth1")]
    assert sync.waiting == [1, 0] and sync.unmatched == [0, 0]

"""The node's input queue: a bounded FIFO that drops its oldest frame when full."""

from __future__ import annotations

import threading
import time

import pytest

from spatial_vqa_ros.nodes.input_queue import InputQueue, QueueCounts


def test_a_one_frame_queue_keeps_the_latest_frame_and_returns_the_one_it_replaced():
    queue: InputQueue[int] = InputQueue(1)
    assert queue.put(1) is None
    assert queue.put(2) == 1
    assert queue.put(3) == 2
    assert queue.take(timeout_s=0.0) == 3
    assert queue.counts() == QueueCounts(capacity=1, put=3, dropped=2, waiting=0,
                                         most_waiting=1)


def test_a_longer_queue_gives_every_frame_of_a_short_burst_in_order():
    queue: InputQueue[int] = InputQueue(4)
    for k in range(4):
        assert queue.put(k) is None
    assert [queue.take(timeout_s=0.0) for _ in range(4)] == [0, 1, 2, 3]
    assert queue.take(timeout_s=0.0) is None
    assert queue.counts() == QueueCounts(4, 4, 0, 0, 4)


def test_a_full_queue_drops_its_oldest_frame_and_keeps_the_newest():
    queue: InputQueue[int] = InputQueue(3)
    dropped = [queue.put(k) for k in range(7)]
    assert dropped == [None, None, None, 0, 1, 2, 3]
    assert [queue.take(timeout_s=0.0) for _ in range(3)] == [4, 5, 6]
    counts = queue.counts()
    assert (counts.dropped, counts.waiting, counts.most_waiting) == (4, 0, 3)


def test_take_waits_for_a_frame_put_from_another_thread():
    queue: InputQueue[str] = InputQueue(2)
    timer = threading.Timer(0.05, queue.put, args=("frame",))
    timer.start()
    try:
        assert queue.take(timeout_s=5.0) == "frame"
    finally:
        timer.join()


def test_close_wakes_a_waiting_taker_and_empties_the_queue():
    queue: InputQueue[int] = InputQueue(2)
    queue.put(1)
    assert queue.take(timeout_s=0.0) == 1
    got: list[object] = []
    taker = threading.Thread(target=lambda: got.append(queue.take(timeout_s=30.0)))
    taker.start()
    time.sleep(0.05)
    start = time.monotonic()
    queue.close()
    taker.join(timeout=5.0)
    assert not taker.is_alive() and got == [None]
    assert time.monotonic() - start < 5.0
    queue.put(2)
    assert queue.closed and queue.take(timeout_s=0.0) is None


@pytest.mark.parametrize("capacity", [0, -1, 1.5, True, "2"])
def test_a_queue_must_hold_at_least_one_frame(capacity):
    with pytest.raises(ValueError, match="an input queue holds at least 1 frame"):
        InputQueue(capacity)

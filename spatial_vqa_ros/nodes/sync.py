"""ApproximateTime synchronisation without message_filters (ROS-free, testable alone).

Same policy as ``message_filters.ApproximateTimeSynchronizer`` (Python): each input
keeps a bounded queue keyed by stamp; a new message looks, in every other queue,
for stamps within ``slop`` of its own, and the first combination whose spread is
below ``slop`` is emitted and removed. Memory is bounded by ``queue_size`` per input.
A message pushed out of its full queue unmatched is counted (``unmatched``): a frame
whose other topics were lost or came too late is dropped here, and the node says so.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any


class ApproximateTimeSync:
    def __init__(self, n_inputs: int, queue_size: int, slop_s: float,
                 callback: Callable[..., None]) -> None:
        if n_inputs < 1 or queue_size < 1 or slop_s < 0:
            raise ValueError("need n_inputs >= 1, queue_size >= 1 and slop_s >= 0")
        self._queues: list[dict[float, Any]] = [{} for _ in range(n_inputs)]
        self._queue_size = queue_size
        self._slop = slop_s
        self._callback = callback
        self._lock = threading.Lock()
        self.emitted = 0
        #: Per input, messages that left their full queue without being emitted.
        self.unmatched = [0] * n_inputs

    @property
    def waiting(self) -> list[int]:
        """Per input, messages still waiting for their partners (a frame whose other
        topics were lost stays here until newer messages push it out, ``unmatched``)."""
        with self._lock:
            return [len(queue) for queue in self._queues]

    def add(self, index: int, stamp_s: float, msg: Any) -> None:
        """Offer a message on input ``index``; may call the callback with one per input."""
        matched = None
        with self._lock:
            queue = self._queues[index]
            queue[stamp_s] = msg
            while len(queue) > self._queue_size:
                del queue[min(queue)]
                self.unmatched[index] += 1
            if stamp_s not in queue:  # older than everything in a full queue: dropped
                return
            candidates = []
            for i, other in enumerate(self._queues):
                if i == index:
                    candidates.append([stamp_s])
                    continue
                near = sorted((s for s in other if abs(s - stamp_s) <= self._slop),
                              key=lambda s: abs(s - stamp_s))
                if not near:
                    return
                candidates.append(near)
            for stamps in itertools.product(*candidates):
                if max(stamps) - min(stamps) <= self._slop:
                    matched = [self._queues[i].pop(s) for i, s in enumerate(stamps)]
                    self.emitted += 1
                    break
        if matched is not None:
            self._callback(*matched)

    def pending(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._queues)

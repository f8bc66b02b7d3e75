"""The node's input queue: synchronised frames wait here for the worker.

One rule for both live modes: the queue holds at most ``capacity`` frames and, when a
frame comes to a full queue, the oldest waiting frame is dropped (and counted).

- Serial mode uses ``capacity`` 1: latest frame wins. The whole chain takes longer than
  a camera period, so a longer queue would only make every graph older.
- Tracked mode uses a few frames. Each frame's work takes a fraction of a camera period,
  yet on a loaded machine the worker thread is sometimes held off the CPU (or the GIL)
  for a few hundred milliseconds, and the frames that arrive meanwhile come out of
  DDS together. With one slot all but the newest of those were dropped (measured: each
  dropped frame arrived while the worker was stalled on one frame for 5-20 times its
  CPU time); with a few slots the worker catches up and every frame gets a graph. Only
  a worker that stays behind fills the queue and drops its oldest frames.

ROS-free and thread-safe: sensor callbacks put, the worker takes, diagnostics read.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class QueueCounts:
    """The queue's size and what it has seen: frames put, dropped because the queue was
    full, waiting now, and the most that ever waited at once."""

    capacity: int
    put: int
    dropped: int
    waiting: int
    most_waiting: int


class InputQueue(Generic[T]):
    """A bounded FIFO that drops its oldest item when full (module docstring)."""

    def __init__(self, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"an input queue holds at least 1 frame, got {capacity!r}")
        self.capacity = capacity
        self._items: deque[T] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._put = self._dropped = self._most = 0

    def put(self, item: T) -> T | None:
        """Add ``item``; the oldest waiting item it pushed out (dropped), or None."""
        with self._ready:
            dropped = self._items.popleft() if len(self._items) >= self.capacity else None
            self._items.append(item)
            self._put += 1
            self._dropped += dropped is not None
            self._most = max(self._most, len(self._items))
            self._ready.notify()
        return dropped

    def take(self, timeout_s: float) -> T | None:
        """The oldest waiting item, waiting up to ``timeout_s`` for one; None if none
        came or the queue is closed."""
        with self._ready:
            if not self._items and not self._closed:
                self._ready.wait(timeout=timeout_s)
            if self._closed or not self._items:
                return None
            return self._items.popleft()

    def close(self) -> None:
        """Wake a waiting taker; every later take returns None."""
        with self._ready:
            self._closed = True
            self._items.clear()
            self._ready.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def counts(self) -> QueueCounts:
        with self._ready:
            return QueueCounts(self.capacity, self._put, self._dropped, len(self._items),
                               self._most)


__all__ = ["InputQueue", "QueueCounts"]

"""The keyframe path of the two-rate chain: one detection at a time, inline or on a thread.

A keyframe's detection and segmentation take as long as the models do. Live (the node),
they run on a single worker thread while the camera-rate path goes on; offline and in
deterministic tests, inline, so the result is there at once. Either way the caller
polls: :meth:`DetectionSlot.poll` never waits, and answers a finished detection once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .types import Detections, TrackingFrame


@dataclass(frozen=True, eq=False)
class KeyframeDetection:
    """What the detector and segmenter found on a keyframe: ``frame`` (the keyframe as
    the tracker sees it), ``detections`` and one (N, H, W) bool mask per detection,
    ``timings_s`` of the stages, ``generation`` (the chain's, when started: a result
    of a generation since reset is stale) and ``error`` (the failure, then no masks)."""

    frame: TrackingFrame
    prompts: tuple[str, ...]
    detections: Detections | None
    masks: np.ndarray | None
    timings_s: dict[str, float]
    generation: int
    error: BaseException | None = None

    @property
    def stamp_ns(self) -> int:
        return self.frame.stamp_ns


#: Runs detect + segment on a frame: (inputs, prompts, depth_m, timings) -> (dets, masks).
DetectJob = Callable[..., tuple[Detections, np.ndarray]]


class DetectionSlot:
    """One detection in flight at most. ``asynchronous``: run it on a worker thread;
    otherwise in :meth:`start` itself, raising its error there (a serial chain's stage
    error, as the caller expects).

    ``hold_ns`` (inline only): hand an inline result back only from the first
    :meth:`poll` whose ``now_ns`` is at least its keyframe's stamp + ``hold_ns``, as if
    the detector had taken that long in stamp time; the slot stays busy meanwhile. It
    makes a slow detector deterministic and fast for benchmarks and tests (0, the
    default: at once)."""

    def __init__(self, asynchronous: bool, clock: Callable[[], float] = time.monotonic,
                 hold_ns: int = 0) -> None:
        self.asynchronous = asynchronous
        self.hold_ns = int(hold_ns)
        self._clock = clock
        self._pool = (ThreadPoolExecutor(max_workers=1, thread_name_prefix="keyframe_detect")
                      if asynchronous else None)
        self._future: Future | None = None
        self._ready: KeyframeDetection | None = None
        self.started = 0
        self.finished_at_s: list[float] = []  # monotonic times detections finished

    @property
    def busy(self) -> bool:
        """A detection started and not yet handed back by :meth:`poll`."""
        return self._future is not None or self._ready is not None

    def start(self, job: DetectJob, frame: TrackingFrame, prompts: Sequence[str],
              generation: int) -> None:
        """Detect on ``frame``; the caller checks :attr:`busy` first."""
        prompts = tuple(prompts)
        self.started += 1
        if self._pool is None:
            timings: dict[str, float] = {}
            detections, masks = job(frame.inputs, prompts, frame.depth_m, timings)
            self._finished(KeyframeDetection(frame, prompts, detections, masks, timings,
                                             generation))
            return
        self._future = self._pool.submit(_run, job, frame, prompts, generation)

    def poll(self, now_ns: int | None = None) -> KeyframeDetection | None:
        """The finished detection, once; None while it runs or when none was started
        (or, with ``hold_ns``, while ``now_ns`` is short of its hand-over stamp)."""
        if self._future is not None and self._future.done():
            future, self._future = self._future, None
            self._finished(future.result())  # _run never raises: errors are in the result
        if (self._ready is not None and self.hold_ns and now_ns is not None
                and now_ns < self._ready.stamp_ns + self.hold_ns):
            return None
        ready, self._ready = self._ready, None
        return ready

    def close(self) -> None:
        """Stop the worker; a detection in flight finishes unseen."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _finished(self, detection: KeyframeDetection) -> None:
        self.finished_at_s.append(self._clock())
        del self.finished_at_s[:-64]
        self._ready = detection


def _run(job: DetectJob, frame: TrackingFrame, prompts: tuple[str, ...], generation: int
         ) -> KeyframeDetection:
    timings: dict[str, float] = {}
    try:
        detections, masks = job(frame.inputs, prompts, frame.depth_m, timings)
    except Exception as error:  # reported by the chain on the frame it arrives
        return KeyframeDetection(frame, prompts, None, None, timings, generation, error)
    return KeyframeDetection(frame, prompts, detections, masks, timings, generation)


__all__ = ["DetectionSlot", "KeyframeDetection"]

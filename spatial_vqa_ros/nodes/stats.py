"""What the node reports about itself in /diagnostics: rates, latency, counts, status.

Kept out of the node class (and free of ROS types) so the figures are computed, and
tested, in one place; the node only turns :meth:`NodeStats.report` into a message.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass

from .input_queue import QueueCounts


@dataclass(frozen=True)
class StatusReport:
    """One diagnostic status: ``level`` is "ok", "warn" or "error" (the latest frame
    failed); ``values`` are strings."""

    level: str
    message: str
    values: dict[str, str]


class NodeStats:
    """Counters and recent timings of the frame path. Thread-safe: sensor callbacks,
    the worker and the diagnostics timer touch it from different threads."""

    def __init__(self, window: int = 120, rate_window_s: float = 5.0) -> None:
        self._lock = threading.Lock()
        self._inputs: deque[float] = deque(maxlen=window)
        self._latencies: deque[float] = deque(maxlen=window)
        self._graphs: deque[float] = deque(maxlen=window)  # when each graph was made
        #: when each frame was dropped, and whether the input queue dropped it (full)
        self._drops: deque[tuple[float, bool]] = deque(maxlen=window)
        self._rate_window_s = rate_window_s
        self._window = window
        self._stages: dict[str, deque[float]] = {}
        self._provenance: dict[str, object] = {}
        self.received = 0
        self.processed = 0
        self.dropped = 0
        self.errors = 0
        self.last_error = ""
        #: Whether the latest frame failed (cleared by the next frame that makes a graph):
        #: the node keeps its last graph meanwhile, and the status says ERROR until then.
        self.failing = False
        #: Frames failed since the last report: a burst of failures that ends between two
        #: reports (a queue emptied after a stall) still reports ERROR once.
        self.failed_unreported = 0

    def input_received(self, now_s: float | None = None) -> float:
        """Record an input set; returns its monotonic receive time."""
        now = time.monotonic() if now_s is None else now_s
        with self._lock:
            self.received += 1
            self._inputs.append(now)
        return now

    def frame_dropped(self, *, by_queue: bool = False, now_s: float | None = None) -> None:
        """Count a received frame that gets no graph: refused, or pushed out of the input
        queue (``by_queue``) by a newer one."""
        now = time.monotonic() if now_s is None else now_s
        with self._lock:
            self.dropped += 1
            self._drops.append((now, by_queue))

    def frame_processed(self, received_s: float, now_s: float | None = None) -> None:
        now = time.monotonic() if now_s is None else now_s
        with self._lock:
            self.processed += 1
            self.failing = False
            self._latencies.append(now - received_s)
            self._graphs.append(now)

    def perceived(self, timings_s: dict[str, float], provenance: dict[str, object]) -> None:
        """Record a frame's perception stage timings and where its numbers came from."""
        with self._lock:
            for stage, seconds in timings_s.items():
                self._stages.setdefault(stage, deque(maxlen=self._window)).append(seconds)
            self._provenance = dict(provenance)

    def perception_values(self) -> dict[str, str]:
        """Median time of each perception stage, and the latest provenance."""
        with self._lock:
            stages = {stage: list(times) for stage, times in self._stages.items()}
            provenance = dict(self._provenance)
        values = {f"{stage}_median_ms": f"{statistics.median(times) * 1e3:.1f}"
                  for stage, times in stages.items() if times}
        values.update({key: str(value) for key, value in provenance.items()})
        return values

    def error(self, message: str, *, frame_failed: bool = False) -> None:
        """Count an error; ``frame_failed``: it failed the latest frame (the status is
        ERROR until a frame succeeds), not an input or a model swap beside the frames."""
        with self._lock:
            self.errors += 1
            self.last_error = message
            self.failing = self.failing or frame_failed
            self.failed_unreported += int(frame_failed)

    def input_rate_hz(self, now_s: float | None = None) -> float:
        """Input sets received per second over the rate window."""
        return self._rate_hz(self._inputs, now_s)

    def graph_rate_hz(self, now_s: float | None = None) -> float:
        """Scene graphs made per second over the rate window (what ``~/scene_graph``,
        the services' snapshot and ``~/reward`` update at)."""
        return self._rate_hz(self._graphs, now_s)

    def _rate_hz(self, times: deque[float], now_s: float | None) -> float:
        now = time.monotonic() if now_s is None else now_s
        with self._lock:
            recent = [t for t in times if now - t < self._rate_window_s]
        if len(recent) < 2 or recent[-1] <= recent[0]:
            return 0.0
        return (len(recent) - 1) / (recent[-1] - recent[0])

    def dropped_rate_hz(self, now_s: float | None = None, *, by_queue: bool = False
                        ) -> float:
        """Frames dropped per second over the rate window (``by_queue``: only those the
        input queue pushed out)."""
        now = time.monotonic() if now_s is None else now_s
        with self._lock:
            recent = [t for t, queue in self._drops
                      if now - t < self._rate_window_s and (queue or not by_queue)]
        return len(recent) / self._rate_window_s

    def dropped_share(self) -> float:
        """Dropped frames as a share of the frames received (0 before any)."""
        with self._lock:
            return self.dropped / self.received if self.received else 0.0

    def latency_median_s(self) -> float:
        with self._lock:
            latencies = list(self._latencies)
        return statistics.median(latencies) if latencies else float("nan")

    def report(self, *, camera_known: bool, floor_found: bool, objects_tracked: int,
               camera_height_m: float, now_s: float | None = None,
               extra: dict[str, str] | None = None,
               engines: dict[str, str] | None = None,
               queue: QueueCounts | None = None) -> StatusReport:
        """The status now: a warning names the first thing the user should fix.
        ``engines``: TensorRT engine states by graph (runtime tensorrt); one building
        or failed is said after the camera and floor, since frames still flow (on the
        fallback runtime) meanwhile. ``detector_rate_hz`` is the graph rate (the serial
        chain detects on every graph's frame) unless ``extra`` says otherwise (the
        two-rate chain: its own detector rate and tracker latency). ``queue``: the input
        queue's counts; a queue of several frames that dropped frames in the rate window
        is a warning (the worker is slower than the camera), said last: a one-frame queue
        drops by design (latest frame wins)."""
        engines = engines or {}
        building = [graph for graph, state in engines.items() if state == "building engine"]
        failed = [f"{graph} {state}" for graph, state in engines.items()
                  if state.startswith("failed")]
        level, message = "ok", "ok"
        if not camera_known:
            level, message = "warn", "waiting for CameraInfo"
        elif self.failing:
            level, message = "error", (f"the latest frame failed ({self.last_error}); the "
                                       "last scene graph stands until a frame succeeds")
        elif self.failed_unreported:
            level, message = "error", (
                f"{self.failed_unreported} frame(s) failed since the last report (the last "
                f"error: {self.last_error}); frames succeed again")
        elif self.processed == 0 and not building:
            level, message = "warn", "no frame processed yet"
        elif not floor_found and self.processed:
            level, message = "warn", "no floor found"
        elif building:
            level, message = "warn", (f"building engine: {', '.join(building)} (frames run "
                                      "on the fallback runtime until it is ready)")
        elif failed:
            level, message = "warn", (f"TensorRT engine {failed[0]}; running on the "
                                      "fallback runtime")
        elif queue is not None and queue.capacity > 1 and (
                behind_hz := self.dropped_rate_hz(now_s, by_queue=True)):
            level, message = "warn", (
                f"the worker falls behind the camera: the input queue ({queue.capacity} "
                f"frames) is full and drops its oldest frame, {behind_hz:.1f} a second")
        values = {
            "input_rate_hz": f"{self.input_rate_hz(now_s):.1f}",
            "graph_rate_hz": f"{self.graph_rate_hz(now_s):.1f}",
            "detector_rate_hz": f"{self.graph_rate_hz(now_s):.2f}",
            "latency_median_ms": f"{self.latency_median_s() * 1e3:.1f}",
            "frames_processed": str(self.processed), "frames_dropped": str(self.dropped),
            "frames_dropped_pct": f"{self.dropped_share() * 100:.1f}",
            "frames_dropped_rate_hz": f"{self.dropped_rate_hz(now_s):.1f}",
            **({} if queue is None else {
                "input_queue_frames": str(queue.capacity),
                "input_queue_waiting": str(queue.waiting),
                "input_queue_most_waiting": str(queue.most_waiting),
                "input_queue_dropped": str(queue.dropped)}),
            "errors": str(self.errors), "last_error": self.last_error,
            "objects_tracked": str(objects_tracked), "floor_found": str(floor_found),
            "camera_height_m": f"{camera_height_m:.3f}",
            **self.perception_values(),
            **{f"engine {graph}": state for graph, state in engines.items()},
            **(extra or {}),
        }
        with self._lock:
            self.failed_unreported = 0
        return StatusReport(level, message, values)

    def counts(self) -> dict[str, int]:
        return {"processed": self.processed, "dropped": self.dropped, "errors": self.errors}


__all__ = ["NodeStats", "StatusReport"]

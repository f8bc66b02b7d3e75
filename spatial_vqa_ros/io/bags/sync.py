"""Match streamed bag messages to rgb images in bounded memory (ApproximateTime-like).

The reader feeds every frame-topic message here in log-time order and gets back one
:class:`Match` per rgb image: the image with its CameraInfo, depth, instance and
labels partners. Only a small window of messages is kept (the limits below).
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

_MAX_PENDING_FRAMES = 32
_IMAGE_BUFFER_LEN = 16
_SMALL_BUFFER_LEN = 32


class Stamped(NamedTuple):
    """One message with its header stamp and log time."""

    stamp_ns: int  # header stamp (log time for labels, which have no header)
    log_ns: int
    msg: Any


class Match(NamedTuple):
    """An rgb image and the partners matched to it (None: none in time)."""

    rgb: Stamped
    camera_info: Stamped | None
    depth: Stamped | None
    instances: Stamped | None
    labels: Stamped | None


class Synchroniser:
    """ApproximateTime-like matching of streamed messages to rgb images, bounded memory.

    Roles: rgb, camera_info, depth, instances, labels. Messages must arrive in
    log-time order. An rgb image is matched once every other stream present in the
    bag can no longer offer a better partner, or ``max_delay_ns`` of log time later.
    """

    def __init__(self, roles: set[str], slop_ns: int, max_delay_ns: int) -> None:
        self.roles = roles
        self.slop_ns = slop_ns
        self.max_delay_ns = max_delay_ns
        self.pending: deque[Stamped] = deque()
        self.buffers: dict[str, deque[Stamped]] = {
            "depth": deque(maxlen=_IMAGE_BUFFER_LEN),
            "instances": deque(maxlen=_IMAGE_BUFFER_LEN),
            "camera_info": deque(maxlen=_SMALL_BUFFER_LEN),
            "labels": deque(maxlen=_SMALL_BUFFER_LEN),
        }
        self.latest_stamp_ns: dict[str, int] = {}

    def add(self, role: str, item: Stamped) -> list[Match]:
        if role == "rgb":
            self.pending.append(item)
            self._prune()
        else:
            self.buffers[role].append(item)
            self.latest_stamp_ns[role] = max(item.stamp_ns, self.latest_stamp_ns.get(role, -1))
        return self._drain(item.log_ns)

    def flush(self) -> list[Match]:
        return self._drain(None)

    def _prune(self) -> None:
        """Drop depth / instance images too old to match any pending or later rgb image."""
        oldest_ns = min(p.stamp_ns for p in self.pending) - self.slop_ns
        for role in ("depth", "instances"):
            buffer = self.buffers[role]
            while buffer and buffer[0].stamp_ns < oldest_ns:
                buffer.popleft()

    def _drain(self, now_ns: int | None) -> list[Match]:
        matches = []
        while self.pending and (now_ns is None or len(self.pending) > _MAX_PENDING_FRAMES
                                or self._ready(self.pending[0], now_ns)):
            matches.append(self._match(self.pending.popleft()))
        return matches

    def _ready(self, rgb: Stamped, now_ns: int) -> bool:
        if now_ns - rgb.log_ns > self.max_delay_ns:
            return True
        horizon_ns = rgb.stamp_ns + self.slop_ns  # a later stamp cannot match any more
        for role in ("depth", "instances"):
            if role in self.roles and self.latest_stamp_ns.get(role, -1) <= horizon_ns:
                return False
        if "camera_info" in self.roles and not self.buffers["camera_info"]:
            return False
        return "labels" not in self.roles or now_ns > rgb.log_ns + self.slop_ns

    def _nearest_stamp(self, role: str, stamp_ns: int) -> Stamped | None:
        best = min(self.buffers[role], key=lambda e: abs(e.stamp_ns - stamp_ns), default=None)
        if best is None or abs(best.stamp_ns - stamp_ns) > self.slop_ns:
            return None
        return best

    def _latest_before(self, role: str, log_ns: int) -> Stamped | None:
        return next((e for e in reversed(self.buffers[role]) if e.log_ns <= log_ns), None)

    def _labels_for(self, rgb: Stamped) -> Stamped | None:
        before = self._latest_before("labels", rgb.log_ns)
        after = next((e for e in self.buffers["labels"]
                      if rgb.log_ns < e.log_ns <= rgb.log_ns + self.slop_ns), None)
        if before is None or after is None:
            return before or after
        return after if after.log_ns - rgb.log_ns < rgb.log_ns - before.log_ns else before

    def _match(self, rgb: Stamped) -> Match:
        camera_info = (self._nearest_stamp("camera_info", rgb.stamp_ns)
                       or self._latest_before("camera_info", rgb.log_ns))
        return Match(rgb, camera_info, self._nearest_stamp("depth", rgb.stamp_ns),
                      self._nearest_stamp("instances", rgb.stamp_ns), self._labels_for(rgb))

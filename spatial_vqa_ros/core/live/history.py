"""A short, bounded history of the tracks' state, by frame stamp.

A detection comes back for the keyframe it was computed on, several frames after it.
To reconcile it, the caller needs the tracks as they were on that keyframe, and, to
bring a new object forward, the frames that came after it. :class:`TrackHistory` keeps
both, bounded by count, by age (in stamp time, so live and offline evict alike) and
by bytes; masks are stored packed (:class:`~.masks.CompactMasks`).

A stamp is looked up exactly. A near stamp is accepted only within a tolerance the
caller sets (0 by default): a silently nearest frame would match a detection against
tracks that moved since, and nobody would know. A stamp no longer kept is reported as
evicted, so the caller can log it and fall back on purpose.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..stamps import NS_PER_S, check_stamp_ns
from .errors import LiveError
from .masks import CompactMasks


@dataclass(frozen=True, eq=False)
class TrackState:
    """The tracked objects on one frame, as the tracker answered for it.

    - ``stamp_ns``: the frame's stamp
    - ``ids``: (N,) int64 track ids, unique
    - ``labels``: N strings
    - ``boxes_xyxy``: (N, 4) float32 pixel boxes (the masks' tight boxes when built
      from masks; ``(0, 0, 0, 0)`` for an empty mask)
    - ``confidence``: (N,) float32 in [0, 1]
    - ``lost``: (N,) bool, the tracker's "lost" flag
    - ``masks``: the masks packed, or None when the tracker gives boxes only

    Build it from a tracker's arrays with :meth:`from_tracker`.
    """

    stamp_ns: int
    ids: np.ndarray
    labels: tuple[str, ...]
    boxes_xyxy: np.ndarray
    confidence: np.ndarray
    lost: np.ndarray
    masks: CompactMasks | None = None

    def __post_init__(self) -> None:
        check_stamp_ns(self.stamp_ns)
        n = len(self.labels)
        expected = {"ids": ((n,), np.int64), "boxes_xyxy": ((n, 4), np.float32),
                    "confidence": ((n,), np.float32), "lost": ((n,), np.bool_)}
        for name, (shape, dtype) in expected.items():
            value = getattr(self, name)
            if not isinstance(value, np.ndarray) or value.shape != shape or value.dtype != dtype:
                got = (value.shape, value.dtype) if isinstance(value, np.ndarray) else value
                raise LiveError(f"TrackState.{name} must be a {np.dtype(dtype)} array of shape "
                                f"{shape} for {n} labels, got {got}")
        if len(np.unique(self.ids)) != n:
            raise LiveError(f"TrackState.ids must be unique, got {self.ids.tolist()}")
        if self.masks is not None and len(self.masks) != n:
            raise LiveError(f"TrackState.masks holds {len(self.masks)} masks for {n} labels")

    @classmethod
    def from_tracker(cls, stamp_ns: int, ids: np.ndarray, labels: Sequence[str], *,
                     masks: np.ndarray | None, confidence: np.ndarray, lost: np.ndarray,
                     boxes_xyxy: np.ndarray | None = None) -> TrackState:
        """From a tracker's answer for one frame: ``ids`` (N,), ``masks`` (N, H, W) bool
        (or None with ``boxes_xyxy``), ``confidence`` (N,), ``lost`` (N,)."""
        packed = None if masks is None else CompactMasks.from_dense(masks)
        if boxes_xyxy is None:
            if packed is None:
                raise LiveError("give masks or boxes_xyxy: a track state needs one of them")
            boxes_xyxy = packed.boxes_xyxy
        return cls(check_stamp_ns(stamp_ns), np.asarray(ids).astype(np.int64, copy=False),
                   tuple(str(label) for label in labels),
                   np.asarray(boxes_xyxy, np.float32), np.asarray(confidence, np.float32),
                   np.asarray(lost).astype(bool, copy=False), packed)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def nbytes(self) -> int:
        """Bytes held, masks included."""
        arrays = self.ids.nbytes + self.boxes_xyxy.nbytes + self.confidence.nbytes
        return arrays + self.lost.nbytes + (self.masks.nbytes if self.masks else 0)


@dataclass(frozen=True)
class HistoryConfig:
    """Bounds of the history; a frame goes when any one is exceeded.

    ``max_frames``: frames kept; ``max_age_s``: the oldest kept is at most this much
    older than the newest (stamp time); ``max_bytes``: track states plus frames (the
    newest frame is always kept, even alone over it); ``tolerance_s``: how far a looked-up
    stamp may be from a kept one and still match it (0 = exact only).
    """

    max_frames: int = 90
    max_age_s: float = 6.0
    max_bytes: int = 512 * 2**20
    tolerance_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("max_frames", "max_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise LiveError(f"HistoryConfig.{name} must be a whole number >= 1, "
                                f"got {value!r}")
        for name, low in (("max_age_s", 0.0), ("tolerance_s", 0.0)):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or not math.isfinite(value) or value < low):
                raise LiveError(f"HistoryConfig.{name} must be a finite number of seconds "
                                f">= 0, got {value!r}")


@dataclass(frozen=True, eq=False)
class HistoryEntry:
    """One kept frame: the tracks' state, the caller's frame (any object, e.g. the
    capture to step a tracker through again; None if not kept) and the bytes counted."""

    state: TrackState
    frame: object | None
    nbytes: int

    @property
    def stamp_ns(self) -> int:
        return self.state.stamp_ns


#: What :meth:`TrackHistory.at` can answer.
LOOKUP_STATUS = ("exact", "nearest", "evicted", "missing", "ahead", "empty")


@dataclass(frozen=True, eq=False)
class HistoryLookup:
    """The answer of :meth:`TrackHistory.at`: ``entry`` for ``exact`` / ``nearest``
    (within the tolerance), None otherwise; ``message`` says what happened, for logs.

    ``evicted``: the stamp is no newer than the last state evicted (it was kept, or
    would have been, and is gone now); ``missing``: no frame was ever recorded there;
    ``ahead``: newer than the newest kept; ``empty``: nothing kept yet.
    """

    status: str
    entry: HistoryEntry | None
    message: str

    @property
    def found(self) -> bool:
        return self.entry is not None


@dataclass
class TrackHistory:
    """The bounded history (see the module docstring). Add frames in stamp order."""

    config: HistoryConfig = field(default_factory=HistoryConfig)
    _entries: deque[HistoryEntry] = field(default_factory=deque, init=False, repr=False)
    _bytes: int = field(default=0, init=False, repr=False)
    _evicted_to_ns: int | None = field(default=None, init=False, repr=False)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Bytes held by the kept entries."""
        return self._bytes

    @property
    def stamps_ns(self) -> tuple[int, ...]:
        return tuple(e.stamp_ns for e in self._entries)

    def clear(self) -> None:
        """Forget everything (after a time jump)."""
        self._entries.clear()
        self._bytes, self._evicted_to_ns = 0, None

    def add(self, state: TrackState, frame: object | None = None) -> HistoryEntry:
        """Keep ``state`` (and the caller's ``frame``), then evict what is over a bound."""
        if self._entries and state.stamp_ns <= self._entries[-1].stamp_ns:
            raise LiveError(f"track states must be added in stamp order: {state.stamp_ns} ns "
                            f"after {self._entries[-1].stamp_ns} ns; after a time jump call "
                            "clear()")
        entry = HistoryEntry(state, frame, state.nbytes + payload_nbytes(frame))
        self._entries.append(entry)
        self._bytes += entry.nbytes
        max_age_ns = round(self.config.max_age_s * NS_PER_S)
        while len(self._entries) > 1 and (
                len(self._entries) > self.config.max_frames
                or self._bytes > self.config.max_bytes
                or state.stamp_ns - self._entries[0].stamp_ns > max_age_ns):
            gone = self._entries.popleft()
            self._bytes -= gone.nbytes
            self._evicted_to_ns = gone.stamp_ns
        return entry

    def at(self, stamp_ns: int) -> HistoryLookup:
        """The entry at ``stamp_ns`` exactly, or the nearest within the tolerance;
        otherwise an answer that says why there is none."""
        stamp_ns = check_stamp_ns(stamp_ns)
        if not self._entries:
            return HistoryLookup("empty", None, f"no track state kept yet (asked {stamp_ns} ns)")
        stamps = np.array(self.stamps_ns, np.int64)
        nearest = int(np.argmin(np.abs(stamps - stamp_ns)))
        offset = int(stamps[nearest]) - stamp_ns
        if offset == 0:
            return HistoryLookup("exact", self._entries[nearest], "")
        if abs(offset) <= round(self.config.tolerance_s * NS_PER_S):
            return HistoryLookup("nearest", self._entries[nearest],
                                 f"{stamp_ns} ns matched the state at {stamps[nearest]} ns "
                                 f"({offset * 1e-6:+.1f} ms, within the tolerance)")
        span = f"kept: {stamps[0]} ns to {stamps[-1]} ns, {len(stamps)} frames"
        if stamp_ns < stamps[0]:
            if self._evicted_to_ns is not None and stamp_ns <= self._evicted_to_ns:
                return HistoryLookup("evicted", None, f"the state at {stamp_ns} ns was evicted "
                                     f"from the track history ({span})")
            return HistoryLookup("missing", None, f"no state was recorded at {stamp_ns} ns, "
                                 f"before the oldest kept ({span})")
        if stamp_ns > stamps[-1]:
            return HistoryLookup("ahead", None, f"no state at {stamp_ns} ns yet ({span})")
        return HistoryLookup("missing", None, f"no state was recorded at {stamp_ns} ns ({span})")

    def oldest(self) -> HistoryEntry | None:
        return self._entries[0] if self._entries else None

    def newest(self) -> HistoryEntry | None:
        return self._entries[-1] if self._entries else None

    def after(self, stamp_ns: int) -> tuple[HistoryEntry, ...]:
        """The kept entries strictly after ``stamp_ns``, oldest first: the frames to step
        a new object's mask through, from its keyframe to the newest."""
        stamp_ns = check_stamp_ns(stamp_ns)
        return tuple(e for e in self._entries if e.stamp_ns > stamp_ns)


def payload_nbytes(obj: object, _depth: int = 0) -> int:
    """Bytes of the numpy arrays reachable from ``obj`` (an array, a dataclass, a tuple,
    list or dict of them, a few levels deep): what a kept frame costs in memory.

    Counted, not trusted to the caller, so a frame of images is never kept for free.
    """
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if _depth >= 4:
        return 0
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        values = [getattr(obj, f.name) for f in dataclasses.fields(obj)]
    elif isinstance(obj, dict):
        values = list(obj.values())
    elif isinstance(obj, (tuple, list)):
        values = list(obj)
    else:
        return 0
    return sum(payload_nbytes(v, _depth + 1) for v in values)


__all__ = ["LOOKUP_STATUS", "HistoryConfig", "HistoryEntry", "HistoryLookup", "TrackHistory",
           "TrackState", "payload_nbytes"]

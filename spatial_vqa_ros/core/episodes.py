"""Recorded streams onto a fixed frame rate, and frames into episodes: pure rules.

Robot-learning datasets (LeRobot) hold frames at one fixed rate, while a recording
holds each stream at its own rate and jitter. :func:`resample` states the one policy
the package uses: a tick of the ``fps`` grid takes, from every stream, the *nearest
earlier* message (stamp <= tick) if it is at most ``tolerance_ns`` old; a tick that
some stream cannot serve so is dropped, and counted per stream, never filled in.
Taking only earlier messages means a frame never shows data from its future, which
is what a policy trained on it will see live.

:func:`split_by_gap` and :func:`split_by_marker` cut the kept frames into episodes: at
a pause in the recording, or where an episode-marker topic changes value. All stamps
are integer nanoseconds (``core.stamps``).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import CoreError
from .stamps import NS_PER_S


@dataclass(frozen=True)
class Resampled:
    """Frames on the fixed-rate grid.

    ``stamps_ns``: (F,) int64, the grid ticks kept, increasing. ``indices``: stream
    name -> (F,) int64, the index into that stream's stamps of the message each kept
    frame uses. ``ticks``: grid ticks considered (kept + dropped). ``dropped``: stream
    name -> ticks that stream could not serve (a tick several streams miss counts for
    each); ``dropped_frames``: ticks dropped (each once).
    """

    stamps_ns: np.ndarray
    indices: dict[str, np.ndarray]
    ticks: int
    dropped_frames: int
    dropped: dict[str, int] = field(default_factory=dict)


def _stamps(name: str, stamps: Sequence[int] | np.ndarray) -> np.ndarray:
    array = np.asarray(stamps)
    if array.ndim != 1 or array.size == 0:
        raise CoreError(f"stream {name!r} has no messages (stamps must be a non-empty "
                        f"1-D sequence, got shape {array.shape})")
    if not np.issubdtype(array.dtype, np.integer):
        raise CoreError(f"stream {name!r}: stamps are integer nanoseconds, got "
                        f"{array.dtype} (convert seconds with round(s * 1e9))")
    array = array.astype(np.int64)
    if np.any(np.diff(array) < 0):
        raise CoreError(f"stream {name!r}: stamps must be in time order (sort the "
                        "messages by stamp first)")
    return array


def grid_ns(start_ns: int, end_ns: int, fps: float) -> np.ndarray:
    """The ticks ``start + round(k * 1e9 / fps)`` from ``start_ns`` up to ``end_ns``
    inclusive, as int64 (rounded per tick, so no drift accumulates)."""
    if not fps > 0:
        raise CoreError(f"fps must be > 0, got {fps}")
    if end_ns < start_ns:
        return np.zeros(0, dtype=np.int64)
    count = int((end_ns - start_ns) * fps // NS_PER_S) + 1
    ticks = start_ns + np.round(np.arange(count) * (NS_PER_S / fps)).astype(np.int64)
    return ticks[ticks <= end_ns]


def resample(streams: Mapping[str, Sequence[int] | np.ndarray], fps: float,
             tolerance_ns: int, *, start_ns: int | None = None,
             end_ns: int | None = None) -> Resampled:
    """Each stream's message for every tick of an ``fps`` grid (see the module
    docstring for the policy).

    The grid runs from ``start_ns`` (default: the moment every stream has spoken, the
    latest first stamp) to ``end_ns`` (default: the earliest last stamp plus the
    tolerance, past which some stream can serve no tick). CoreError for an empty or
    unordered stream, fps <= 0 or a negative tolerance.
    """
    if not streams:
        raise CoreError("resample needs at least one stream")
    if tolerance_ns < 0:
        raise CoreError(f"tolerance_ns must be >= 0, got {tolerance_ns}")
    arrays = {name: _stamps(name, stamps) for name, stamps in streams.items()}
    start = max(int(a[0]) for a in arrays.values()) if start_ns is None else int(start_ns)
    end = (min(int(a[-1]) for a in arrays.values()) + int(tolerance_ns) if end_ns is None
           else int(end_ns))
    ticks = grid_ns(start, end, fps)
    keep = np.ones(ticks.size, dtype=bool)
    found: dict[str, np.ndarray] = {}
    dropped: dict[str, int] = {}
    for name, stamps in arrays.items():
        index = np.searchsorted(stamps, ticks, side="right") - 1  # last stamp <= tick
        ok = index >= 0
        ok[ok] = ticks[ok] - stamps[index[ok]] <= tolerance_ns
        dropped[name] = int(np.count_nonzero(~ok))
        keep &= ok
        found[name] = index
    return Resampled(stamps_ns=ticks[keep],
                     indices={name: index[keep] for name, index in found.items()},
                     ticks=int(ticks.size), dropped_frames=int(np.count_nonzero(~keep)),
                     dropped=dropped)


@dataclass(frozen=True)
class EpisodeSpan:
    """Frames ``start`` (inclusive) to ``stop`` (exclusive) of the kept frames; the
    marker value the episode had (None: split by gap, or before the first marker)."""

    start: int
    stop: int
    marker: Hashable | None = None

    def __len__(self) -> int:
        return self.stop - self.start


def split_by_gap(stamps_ns: Sequence[int] | np.ndarray, max_gap_ns: int
                 ) -> list[EpisodeSpan]:
    """Episodes of the frames at ``stamps_ns``: a new one starts after a pause longer
    than ``max_gap_ns`` between consecutive frames. No frames: no episodes."""
    if max_gap_ns <= 0:
        raise CoreError(f"max_gap_ns must be > 0, got {max_gap_ns}")
    stamps = np.asarray(stamps_ns, dtype=np.int64)
    if stamps.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(stamps) > max_gap_ns) + 1
    bounds = [0, *cuts.tolist(), int(stamps.size)]
    return [EpisodeSpan(a, b) for a, b in itertools.pairwise(bounds)]


def split_by_marker(stamps_ns: Sequence[int] | np.ndarray,
                    marker_stamps_ns: Sequence[int] | np.ndarray,
                    marker_values: Sequence[Hashable]) -> list[EpisodeSpan]:
    """Episodes of the frames at ``stamps_ns`` by an episode-marker topic: each frame
    takes the value of the latest marker message at or before it, and a change of
    value starts a new episode (a marker repeating its value does not). Frames before
    the first marker form an episode of their own with ``marker=None``."""
    stamps = np.asarray(stamps_ns, dtype=np.int64)
    values = list(marker_values)
    markers = np.asarray(marker_stamps_ns)
    if markers.ndim != 1 or len(values) != markers.size:
        raise CoreError(f"{markers.size} marker stamps but {len(values)} marker values; "
                        "give one value per marker message")
    if markers.size:
        markers = _stamps("marker", markers)
    if stamps.size == 0:
        return []
    at = np.searchsorted(markers, stamps, side="right") - 1
    labels = [None if i < 0 else values[i] for i in at.tolist()]
    spans: list[EpisodeSpan] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            spans.append(EpisodeSpan(start, i, labels[start]))
            start = i
    return spans


__all__ = ["EpisodeSpan", "Resampled", "grid_ns", "resample", "split_by_gap",
           "split_by_marker"]

"""Reconcile a keyframe's detections with the tracks as they were on that keyframe.

The detector answers for the frame it ran on (the keyframe, stamp K), several frames
after K. Compared with the tracks of the current frame, its boxes would be off by
whatever moved since; compared with the tracks at K (kept in a
:class:`~.history.TrackHistory`) they describe the same image. So the detections are
matched against the state at K:

- a pair is possible only when the labels are equal and the overlap (mask IoU when both
  sides have masks, box IoU otherwise) is at least ``min_iou``;
- among possible pairs, the Hungarian assignment (``scipy.optimize.linear_sum_assignment``)
  first matches as many as it can, then the most overlap in total; a greedy
  "best pair first" can take the one pair that leaves two objects unmatched;
- a detection with no track is a new object;
- a track with no detection is retired when it was visible at K (the detector looked
  at it and saw nothing), after ``retire_visible_after`` such keyframes (1 by default);
  a track that was not visible at K (the tracker marked it lost, or its mask had fewer
  than ``min_visible_pixels`` pixels: out of view or occluded) is kept, and retired only
  after ``retire_hidden_after`` keyframes missed in a row.

A label change retires and re-adds: a "cup" track whose detection now says "bowl" is
not matched (labels differ), so the cup is retired if it was visible and the bowl is a
new object with a new id. An id keeps one meaning for its whole life: relations,
rewards and dataset records keyed by it never silently change subject.

A detection whose keyframe is no longer in the history is reconciled, not dropped
(:func:`reconcile_keyframe`): it is matched against the nearest state kept (the oldest,
when K was evicted), and the result says so in ``status`` and ``message`` for the
caller to log. Matched against another frame than its own, a visible track without a
detection may only have moved, so nothing is retired at once: such tracks count a miss,
as hidden ones do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from .errors import LiveError
from .history import TrackHistory, TrackState
from .masks import CompactMasks, box_iou_matrix, mask_iou_matrix


@dataclass(frozen=True)
class ReconcileConfig:
    """``min_iou``: least overlap for a match; ``min_visible_pixels``: mask pixels (or box
    area, without masks) below which a track did not count as visible at the keyframe;
    ``retire_visible_after`` / ``retire_hidden_after``: keyframes missed in a row after
    which a track is retired, when it was visible / not visible at the last one."""

    min_iou: float = 0.3
    min_visible_pixels: int = 20
    retire_visible_after: int = 1
    retire_hidden_after: int = 5

    def __post_init__(self) -> None:
        if isinstance(self.min_iou, bool) or not 0 < self.min_iou <= 1:
            raise LiveError(f"ReconcileConfig.min_iou must be in (0, 1], got {self.min_iou!r}")
        for name, low in (("min_visible_pixels", 0), ("retire_visible_after", 1),
                          ("retire_hidden_after", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise LiveError(f"ReconcileConfig.{name} must be a whole number >= {low}, "
                                f"got {value!r}")


@dataclass(frozen=True, eq=False)
class Detections:
    """A keyframe's detections: N ``labels``, ``boxes_xyxy`` (N, 4) float32 pixel boxes,
    ``masks`` packed or None. Build it with :meth:`from_arrays`."""

    labels: tuple[str, ...]
    boxes_xyxy: np.ndarray
    masks: CompactMasks | None = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.boxes_xyxy.shape != (n, 4):
            raise LiveError(f"Detections.boxes_xyxy must have shape ({n}, 4) for {n} labels, "
                            f"got {self.boxes_xyxy.shape}")
        if self.masks is not None and len(self.masks) != n:
            raise LiveError(f"Detections.masks holds {len(self.masks)} masks for {n} labels")

    @classmethod
    def from_arrays(cls, labels: Sequence[str], *, boxes_xyxy: np.ndarray | None = None,
                    masks: np.ndarray | None = None) -> Detections:
        """From a detector's labels and boxes and, when segmented, (N, H, W) bool masks
        (the boxes default to the masks' tight boxes)."""
        packed = None if masks is None else CompactMasks.from_dense(masks)
        if boxes_xyxy is None:
            if packed is None:
                raise LiveError("give boxes_xyxy or masks: detections need one of them")
            boxes_xyxy = packed.boxes_xyxy
        return cls(tuple(str(label) for label in labels),
                   np.asarray(boxes_xyxy, np.float32).reshape(-1, 4), packed)


@dataclass(frozen=True)
class Reconciliation:
    """What to do with the tracks after a keyframe's detections.

    ``matched``: (track id, detection index) pairs, with ``matched_iou`` parallel to it;
    ``new``: detection indices that start new tracks; ``retired``: track ids to end;
    ``misses``: (track id, keyframes missed in a row) for tracks kept without a match
    (pass them back as ``misses`` next time); ``measure``: "mask" or "box";
    ``against_stamp_ns``: the state matched against (None when there was none);
    ``status``: how that state was found ("exact", "nearest", "evicted", "missing",
    "ahead", "empty"); ``message``: for the log, empty when the match was exact.
    """

    matched: tuple[tuple[int, int], ...] = ()
    matched_iou: tuple[float, ...] = ()
    new: tuple[int, ...] = ()
    retired: tuple[int, ...] = ()
    misses: tuple[tuple[int, int], ...] = ()
    measure: str = "mask"
    against_stamp_ns: int | None = None
    status: str = "exact"
    message: str = field(default="")


def visible_at(tracks: TrackState, min_visible_pixels: int) -> np.ndarray:
    """(N,) bool: which tracks were visible on their frame: not marked lost, and with at
    least ``min_visible_pixels`` mask pixels (box area when the state has no masks)."""
    if tracks.masks is not None:
        size = tracks.masks.areas
    else:
        b = tracks.boxes_xyxy.astype(np.float64)
        size = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    return ~tracks.lost & (size >= max(min_visible_pixels, 1))


def reconcile(detections: Detections, tracks: TrackState, *,
              config: ReconcileConfig = ReconcileConfig(),
              misses: Mapping[int, int] | None = None,
              retire_visible: bool = True) -> Reconciliation:
    """Match ``detections`` against ``tracks`` (the state on the detections' own frame).

    ``misses``: keyframes each track has missed in a row so far (from the previous
    result); ``retire_visible=False`` counts a visible unmatched track as a miss, as a
    hidden one, instead of applying ``retire_visible_after`` (for a state of another
    frame, see :func:`reconcile_keyframe`).
    """
    misses = dict(misses or {})
    both_masks = detections.masks is not None and tracks.masks is not None
    if both_masks:
        iou = mask_iou_matrix(tracks.masks, detections.masks)
    else:
        iou = box_iou_matrix(tracks.boxes_xyxy, detections.boxes_xyxy)
    same_label = (np.array(tracks.labels, dtype=object)[:, None]
                  == np.array(detections.labels, dtype=object)[None, :])
    allowed = same_label & (iou >= config.min_iou)
    pairs = _assign(iou, allowed)
    matched_tracks = {t for t, _ in pairs}
    matched_detections = {d for _, d in pairs}
    visible = visible_at(tracks, config.min_visible_pixels)
    retired, kept = [], []
    for t, track_id in enumerate(int(i) for i in tracks.ids):
        if t in matched_tracks:
            continue
        missed = misses.get(track_id, 0) + 1
        limit = (config.retire_visible_after if visible[t] and retire_visible
                 else config.retire_hidden_after)
        (retired if missed >= limit else kept).append((track_id, missed))
    return Reconciliation(
        matched=tuple((int(tracks.ids[t]), d) for t, d in pairs),
        matched_iou=tuple(float(iou[t, d]) for t, d in pairs),
        new=tuple(d for d in range(len(detections.labels)) if d not in matched_detections),
        retired=tuple(track_id for track_id, _ in retired), misses=tuple(kept),
        measure="mask" if both_masks else "box", against_stamp_ns=tracks.stamp_ns)


def reconcile_keyframe(history: TrackHistory, keyframe_stamp_ns: int,
                       detections: Detections, *, config: ReconcileConfig = ReconcileConfig(),
                       misses: Mapping[int, int] | None = None) -> Reconciliation:
    """Look the keyframe's state up in ``history`` and reconcile against it; when it is
    gone, against the nearest state kept, saying so (see the module docstring)."""
    lookup = history.at(keyframe_stamp_ns)
    if lookup.found:
        result = reconcile(detections, lookup.entry.state, config=config, misses=misses)
        return _with(result, lookup.status, lookup.message)
    if lookup.status == "empty":
        return Reconciliation(new=tuple(range(len(detections.labels))), status="empty",
                              message=f"keyframe detection at {keyframe_stamp_ns} ns: "
                              f"{lookup.message}; every detection starts a new track")
    stamps = np.array(history.stamps_ns, np.int64)
    nearest = history.at(int(stamps[np.argmin(np.abs(stamps - keyframe_stamp_ns))])).entry
    result = reconcile(detections, nearest.state, config=config, misses=misses,
                       retire_visible=False)
    offset_ms = (nearest.stamp_ns - keyframe_stamp_ns) * 1e-6
    return _with(result, lookup.status,
                 f"keyframe detection at {keyframe_stamp_ns} ns reconciled against the track "
                 f"state at {nearest.stamp_ns} ns ({offset_ms:+.1f} ms): {lookup.message}; "
                 "unmatched tracks count a miss instead of being retired")


def _assign(iou: np.ndarray, allowed: np.ndarray) -> list[tuple[int, int]]:
    """Allowed (track, detection) pairs of the assignment with the most pairs, then the
    most total IoU: a forbidden pair costs more than all allowed ones together."""
    if not allowed.any():
        return []
    forbidden_cost = float(min(iou.shape) + 1)
    cost = np.where(allowed, 1.0 - iou, forbidden_cost)
    rows, cols = linear_sum_assignment(cost)
    return sorted((int(t), int(d)) for t, d in zip(rows, cols) if allowed[t, d])


def _with(result: Reconciliation, status: str, message: str) -> Reconciliation:
    return dataclasses.replace(result, status=status, message=message)


__all__ = ["Detections", "ReconcileConfig", "Reconciliation", "reconcile",
           "reconcile_keyframe", "visible_at"]

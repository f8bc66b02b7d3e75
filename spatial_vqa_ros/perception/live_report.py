"""What the two-rate chain says about each frame, beside the serial chain's result.

Between the detector's keyframes a tracker carries the objects' masks, so a frame's
objects are not all equally fresh. :class:`LiveReport` (``ChainResult.live``) says for
each object of the frame's observations whether its mask was detected on this frame or
carried by the tracker, and how old (in stamp time) its last detection is; and for the
frame, whether it was a keyframe and why. The per-object origin and age also ride on the
frame's ``Observations`` (``mask_sources``, ``detection_age_s``), so the scene graph, its
JSON and ``SceneObject.msg`` carry them and the gate can refuse a stale object.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.capture import MASK_SOURCES

#: Where a frame's mask of an object came from (the core's names).
ORIGINS = MASK_SOURCES


@dataclass(frozen=True)
class ObjectOrigin:
    """One object of the frame (parallel to the observations).

    ``track_id``: the tracker's id (also the observation's source id); ``origin``: one of
    :data:`ORIGINS`; ``detection_age_s``: stamp time since the keyframe of its last
    detection (0 on that keyframe); ``confidence``: the tracker's, 1 when detected.
    """

    track_id: int
    label: str
    origin: str
    detection_age_s: float
    confidence: float


@dataclass(frozen=True)
class LiveReport:
    """One frame of the two-rate chain.

    ``keyframe``: a detection was started on this frame (``keyframe_reason``: why, the
    selector's reasons); ``held_by``: why a keyframe that is owed was not started
    ("min_interval", "detector_busy"; empty otherwise); ``detection_in_flight``: a
    detection is running after this frame; ``reconciled_stamp_ns``: the keyframe whose
    detection was reconciled on this frame (None when none arrived), with
    ``reconcile_status`` ("exact", or "evicted" and the like: matched against another
    kept state, said in the log); ``lost_ids``: tracks the tracker marks lost on this
    frame (absent from the observations); ``objects``: parallel to the observations.
    """

    frame_index: int
    keyframe: bool
    keyframe_reason: str
    held_by: str
    detection_in_flight: bool
    reconciled_stamp_ns: int | None
    reconcile_status: str
    lost_ids: tuple[int, ...]
    objects: tuple[ObjectOrigin, ...]


__all__ = ["ORIGINS", "LiveReport", "ObjectOrigin"]

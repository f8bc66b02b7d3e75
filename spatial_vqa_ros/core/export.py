"""Per-frame scene records as plain JSON-able dicts: the schema users audit data with.

Schema (documented in README.md, "Scene graph JSON lines"); lengths in metres in the
scene frame; ``size`` is [depth (x), width (y), height (z)], the order of ``center``,
of ``SceneObject.extent_scene`` and of the SceneObject message's ``size``. The sizes
of partial objects are lower bounds and are never stated as facts downstream.

Version 2 (from 1): ``size`` in x, y, z order (was [width, depth, height]); one stamp,
``stamp_ns`` (the float ``stamp`` in seconds is gone); ``provenance``: where the
numbers came from (depth source and model, detector, segmenter, intrinsics source,
depth scale and shift applied).

Version 3 (from 2): each object has ``mask_source`` ("detected", or "tracked": carried by
a tracker since a keyframe's detection) and ``detection_age_s`` (stamp seconds from its
last detection to this frame). :func:`read_scene_record` reads versions 2 and 3, a
version-2 object as detected on its frame (what every version-2 writer did).

Version 4 (from 3, issue 22): each object has ``hidden``, what the camera cannot see of
it: a list of ``{"direction": [x, y, z], "reach_m": [min, max], "cause": ...}`` (unit
scene direction; the interval by which the true box face along it may lie beyond the
stated one; cause "border", "occluded" or "far_side"; ``cut_bounds``), empty when seen
whole. Centres of objects with a far side are the middle of the depths the view allows
(version 3 wrote the visible front's box). Older records read with ``hidden`` empty:
they did not record it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .cut_bounds import hidden_causes, hidden_reach
from .errors import CoreError
from .pipeline import FrameResult

SCHEMA_VERSION = 4
#: Versions :func:`read_scene_record` reads.
READABLE_VERSIONS = (2, 3, 4)


def _rounded(values, digits: int = 4) -> list[float | None]:
    return [round(float(v), digits) if math.isfinite(float(v)) else None for v in values]


def frame_record(result: FrameResult, stamp_ns: int) -> dict[str, Any]:
    """One JSON line for one processed frame."""
    graph, scene = result.graph, result.scene
    objects = []
    for o in graph.objects:
        if not o.visible:
            continue
        objects.append({
            "id": o.id, "label": o.label, "description": o.description,
            "center": _rounded(o.center_scene), "size": _rounded(o.extent_scene),
            "visible_pixels": int(o.pixel_count), "points": int(o.point_count),
            "partial": bool(o.partial), "confidence": round(float(o.confidence), 3),
            "mask_source": o.mask_source, "detection_age_s": round(float(o.detection_age_s), 4),
            "hidden": [{"direction": _rounded(d), "reach_m": _rounded(r), "cause": c}
                       for d, r, c in zip(o.hidden_directions, hidden_reach(o),
                                          hidden_causes(o))],
        })
    return {
        "schema": SCHEMA_VERSION,
        "stamp_ns": int(stamp_ns),
        "frame_id": graph.frame_id,
        "camera_frame_id": graph.camera_frame_id,
        "floor_found": bool(scene.floor_found),
        "floor_plane_camera": _rounded(scene.floor_plane_cam, 5),
        "camera_height_m": round(float(scene.camera_height_m), 4),
        "camera_pitch_deg": round(math.degrees(scene.pitch_rad), 2),
        "camera_roll_deg": round(math.degrees(scene.roll_rad), 2),
        "objects": objects,
        "unlocalised": [{"label": label, "reason": reason}
                        for label, reason in graph.unlocalised],
        "warnings": list(result.warnings),
        "provenance": dict(graph.provenance),
    }


def read_scene_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A scene record of a readable version as this version spells it (a new dict);
    CoreError naming the version for any other (a version-1 record's ``size`` order
    differs, so it is not guessed at)."""
    version = record.get("schema")
    if version not in READABLE_VERSIONS:
        raise CoreError(f"scene record schema {version!r} is not one this spatial_vqa_ros "
                        f"reads ({', '.join(map(str, READABLE_VERSIONS))}): write it again "
                        "with `spatial-vqa scenes`")
    objects = [{"mask_source": "detected", "detection_age_s": 0.0, "hidden": [], **o}
               for o in record.get("objects", [])]
    return {**record, "schema": SCHEMA_VERSION, "objects": objects}

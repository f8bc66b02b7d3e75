"""Per-frame scene records as plain JSON-able dicts: the schema users audit data with.

Schema (documented in README.md, "Scene graph JSON lines"); lengths in metres in the
scene frame; ``size`` is [depth (x), width (y), height (z)], the order of ``center``,
of ``SceneObject.extent_scene`` and of the SceneObject message's ``size``. The sizes
of partial objects are lower bounds and are never stated as facts downstream.

Version 2 (from 1): ``size`` in x, y, z order (was [width, depth, height]); one stamp,
``stamp_ns`` (the float ``stamp`` in seconds is gone); ``provenance``: where the
numbers came from (depth source and model, detector, segmenter, intrinsics source,
depth scale and shift applied).
"""

from __future__ import annotations

import math
from typing import Any

from .pipeline import FrameResult

SCHEMA_VERSION = 2


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

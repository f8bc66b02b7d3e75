"""Messages -> core values: camera images -> perception inputs, and SceneGraph
messages -> core SceneGraph (so VQA can be synthesised from a live graph).

Duck-typed (any object with the message's fields): needs no rclpy, so it is tested
without ROS. Camera images go through :func:`sensor_inputs_from_msgs`, which hands
them to :func:`spatial_vqa_ros.perception.inputs.sensor_inputs`, the builder the
offline tools use too. The SceneGraph message lacks some of what the core keeps,
filled in as follows:

- ``position_sigma_m``: the message carries no uncertainty; every object gets the
  caller's value (the logger's ``position_sigma_m`` parameter, default 0.02 m). It
  widens the ambiguity margin of position predicates (left/above/behind/closer and
  the direction check) by ``sigmas x sqrt(2) x sigma``; 0.02 m is the typical 1-sigma
  of an object centre from an RGB-D sensor at 1-3 m.
- ``points_scene``: empty (0, 3); closest-point gaps are not available.
- ``pixel_count``: 0 (the message has the 2D box ``roi`` but not the mask size).
- ``visible``: the message's own ``visible`` flag (the object was observed in the
  graph's latest frame).
- hidden parts (``hidden_directions``, reaches, causes): as the message has them, so
  the gate bounds a graph read from a message as it bounds the live one; none for
  messages recorded before the fields existed.

The scene frame is rebuilt from ``floor_plane_camera`` exactly as the core builds it
(``scene_frame_from_floor``), or the camera-aligned fallback when ``floor_found`` is
false, so relations that need "up" are refused the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core.camera import CameraIntrinsics
from ..core.errors import CoreError
from ..core.scene_frame import SceneFrame, camera_aligned_frame, scene_frame_from_floor
from ..core.scene_graph import SceneGraph, SceneObject, visible_graph
from ..core.stamps import stamp_to_ns
from ..io.images import image_to_numpy
from ..perception.inputs import sensor_inputs
from ..perception.types import InputSettings, SensorInputs

#: Default 1-sigma position uncertainty given to objects of a SceneGraph message [m].
DEFAULT_POSITION_SIGMA_M = 0.02


def stamp_ns(stamp: Any) -> int:
    """builtin_interfaces/Time -> integer nanoseconds."""
    return stamp_to_ns(stamp)


def sensor_inputs_from_msgs(rgb: Any, depth: Any | None, instances: Any | None,
                            camera: CameraIntrinsics, settings: InputSettings, *,
                            id_to_label: Mapping[int, str] | None = None) -> SensorInputs:
    """One synchronised set of sensor_msgs/Image messages as perception inputs, built as
    the offline tools build them from a bag (same settings, same result).

    Raises DataIOError / CoreError for an encoding or layout that cannot be decoded,
    PerceptionError for sizes that disagree with each other or with ``camera``.
    """
    return sensor_inputs(
        image_to_numpy(rgb), None if depth is None else image_to_numpy(depth), camera, settings,
        rgb_encoding=rgb.encoding, depth_encoding="32FC1" if depth is None else depth.encoding,
        instance_ids=None if instances is None else image_to_numpy(instances),
        id_to_label=id_to_label)


def scene_frame_from_msg(msg: Any) -> SceneFrame:
    """The graph's scene frame from its floor plane (camera-aligned if no floor)."""
    if not msg.floor_found:
        return camera_aligned_frame()
    plane = np.asarray(msg.floor_plane_camera, dtype=np.float64)
    if plane.shape != (4,) or not np.isfinite(plane).all():
        raise CoreError(f"SceneGraph floor_plane_camera must be 4 finite numbers, got {plane}")
    return scene_frame_from_floor(plane[:3], float(plane[3]))


def scene_object_from_msg(o: Any,
                          position_sigma_m: float = DEFAULT_POSITION_SIGMA_M) -> SceneObject:
    """One SceneObject message as a core SceneObject (see the module docstring)."""
    center = np.array([o.center.x, o.center.y, o.center.z], dtype=np.float64)
    extent = np.array([o.size.x, o.size.y, o.size.z], dtype=np.float64)  # depth, width, height
    roi = o.roi
    x0, y0 = int(roi.x_offset), int(roi.y_offset)
    return SceneObject(
        id=int(o.id), label=str(o.label), description=str(o.description or f"the {o.label}"),
        confidence=float(o.confidence), center_scene=center, extent_scene=extent,
        points_scene=np.zeros((0, 3), np.float32), partial=bool(o.partial),
        roi_xyxy=(x0, y0, x0 + int(roi.width), y0 + int(roi.height)), pixel_count=0,
        point_count=int(o.point_count), position_sigma_m=float(position_sigma_m),
        first_seen_ns=stamp_ns(o.first_seen), last_seen_ns=stamp_ns(o.last_seen),
        observation_count=int(o.observation_count), visible=bool(o.visible),
        # getattr: objects recorded before these fields existed were all detected
        mask_source=str(getattr(o, "mask_source", "detected")),
        detection_age_s=float(getattr(o, "detection_age_s", 0.0)), **_hidden_from_msg(o))


def _hidden_from_msg(o: Any) -> dict[str, Any]:
    """The hidden parts of a SceneObject message (none for messages recorded before the
    fields existed); CoreError when the parallel arrays disagree in length."""
    directions = np.array([[d.x, d.y, d.z] for d in getattr(o, "hidden_directions", ())],
                          float).reshape(-1, 3)
    low = np.asarray(getattr(o, "hidden_reach_min_m", ()), float)
    high = np.asarray(getattr(o, "hidden_reach_max_m", ()), float)
    causes = tuple(str(c) for c in getattr(o, "hidden_causes", ()))
    count = len(directions)
    if not (low.shape == high.shape == (count,) and len(causes) == count):
        raise CoreError(f"SceneObject {o.label!r}: hidden_directions ({count}), "
                        f"hidden_reach_min_m ({low.size}), hidden_reach_max_m ({high.size}) "
                        f"and hidden_causes ({len(causes)}) must have one entry per direction")
    return {"hidden_directions": directions, "hidden_causes": causes,
            "hidden_reach_m": np.stack([low, high], 1).reshape(-1, 2)}


def scene_graph_from_msg(msg: Any, position_sigma_m: float = DEFAULT_POSITION_SIGMA_M, *,
                         visible_only: bool = True, naming_margin_m: float = 0.05
                         ) -> SceneGraph:
    """A SceneGraph message as a core SceneGraph.

    ``visible_only``: keep only the objects seen in the latest frame (what the image
    of that frame shows) and name them uniquely among themselves; otherwise keep all
    with the message's descriptions. Objects with a non-finite centre or size are
    dropped (they cannot be stated).
    """
    if not (np.isfinite(position_sigma_m) and position_sigma_m >= 0):
        raise CoreError(f"position_sigma_m must be finite and >= 0, got {position_sigma_m}")
    graph_ns = stamp_ns(msg.header.stamp)
    scene = scene_frame_from_msg(msg)
    objects = tuple(scene_object_from_msg(o, position_sigma_m) for o in msg.objects)
    objects = tuple(o for o in objects if np.isfinite(o.center_scene).all()
                    and np.isfinite(o.extent_scene).all())
    # getattr: graphs recorded before the provenance fields existed lack them
    provenance = {key: getattr(msg, field, None) for key, field in (
        ("depth_source", "depth_source"), ("depth_model", "depth_model"),
        ("detector", "detector"), ("segmenter", "segmenter"),
        ("intrinsics_source", "intrinsics_source"), ("depth_scale", "depth_scale"),
        ("depth_shift_m", "depth_shift"))}
    provenance = {k: v for k, v in provenance.items() if v is not None}
    graph = SceneGraph(stamp_ns=graph_ns, frame_id=str(msg.header.frame_id),
                       scene=scene, objects=objects, camera_frame_id=str(msg.camera_frame_id),
                       provenance=provenance if provenance.get("depth_source") else {})
    return visible_graph(graph, naming_margin_m) if visible_only else graph


__all__ = [
    "DEFAULT_POSITION_SIGMA_M",
    "scene_frame_from_msg",
    "scene_graph_from_msg",
    "scene_object_from_msg",
    "sensor_inputs_from_msgs",
    "stamp_ns",
]

"""Core values -> ROS messages. Messages are built once, at the boundary."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point, Vector3
from sensor_msgs.msg import RegionOfInterest
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from spatial_vqa_ros.msg import SceneGraph as SceneGraphMsg
from spatial_vqa_ros.msg import SceneObject as SceneObjectMsg

from ..core import stamps
from ..core.cut_bounds import hidden_causes, hidden_reach
from ..core.scene_graph import SceneGraph, SceneObject


def stamp_to_seconds(stamp: Time) -> float:
    return stamps.stamp_to_seconds(stamp)


def stamp_to_ns(stamp: Time) -> int:
    return stamps.stamp_to_ns(stamp)


def ns_to_stamp(nanoseconds: int) -> Time:
    """A Time of integer nanoseconds; the zero Time for 0 or less (ROS: unknown)."""
    if nanoseconds <= 0:
        return Time()
    sec, nanosec = stamps.split_ns(nanoseconds)
    return Time(sec=sec, nanosec=nanosec)


def seconds_to_stamp(seconds: float) -> Time:
    """A Time of float seconds; the zero Time for negative or non-finite seconds."""
    sec, nanosec = stamps.split_seconds(seconds)
    return Time(sec=sec, nanosec=nanosec)


def _roi(xyxy: tuple[int, int, int, int]) -> RegionOfInterest:
    x0, y0, x1, y1 = (int(v) for v in xyxy)
    return RegionOfInterest(x_offset=x0, y_offset=y0, width=max(0, x1 - x0),
                            height=max(0, y1 - y0), do_rectify=False)


def scene_object_to_msg(o: SceneObject) -> SceneObjectMsg:
    c, e = o.center_scene, o.extent_scene
    return SceneObjectMsg(
        id=int(o.id), label=o.label, description=o.description,
        confidence=float(o.confidence),
        center=Point(x=float(c[0]), y=float(c[1]), z=float(c[2])),
        size=Vector3(x=float(e[0]), y=float(e[1]), z=float(e[2])),
        partial=bool(o.partial), roi=_roi(o.roi_xyxy), point_count=int(o.point_count),
        first_seen=ns_to_stamp(o.first_seen_ns), last_seen=ns_to_stamp(o.last_seen_ns),
        observation_count=int(o.observation_count), visible=bool(o.visible),
        mask_source=o.mask_source, detection_age_s=float(o.detection_age_s),
        **hidden_fields(o))


def hidden_fields(o: SceneObject) -> dict[str, object]:
    """The message fields of an object's hidden parts (``cut_bounds``)."""
    directions = np.asarray(o.hidden_directions, float).reshape(-1, 3)
    reach = hidden_reach(o)
    return {"hidden_directions": [Vector3(x=float(d[0]), y=float(d[1]), z=float(d[2]))
                                  for d in directions],
            "hidden_reach_min_m": [float(r) for r in reach[:, 0]],
            "hidden_reach_max_m": [float(r) for r in reach[:, 1]],
            "hidden_causes": list(hidden_causes(o))}


def scene_graph_to_msg(graph: SceneGraph) -> SceneGraphMsg:
    scene = graph.scene
    return SceneGraphMsg(
        header=Header(stamp=ns_to_stamp(graph.stamp_ns), frame_id=graph.frame_id),
        objects=[scene_object_to_msg(o) for o in graph.objects],
        floor_found=bool(scene.floor_found),
        floor_plane_camera=np.asarray(scene.floor_plane_cam, dtype=np.float64),
        camera_height=float(scene.camera_height_m), camera_pitch=float(scene.pitch_rad),
        camera_roll=float(scene.roll_rad), camera_frame_id=graph.camera_frame_id,
        **provenance_fields(graph.provenance))


#: Provenance keys and the SceneGraph message fields that carry them.
PROVENANCE_FIELDS = {"depth_source": "depth_source", "depth_model": "depth_model",
                     "detector": "detector", "segmenter": "segmenter",
                     "intrinsics_source": "intrinsics_source", "depth_scale": "depth_scale",
                     "depth_shift_m": "depth_shift"}


def provenance_fields(provenance) -> dict[str, object]:
    """The message fields of a provenance mapping (absent keys: the fields' defaults)."""
    fields = {}
    for key, field_name in PROVENANCE_FIELDS.items():
        if key in provenance:
            value = provenance[key]
            numeric = key in ("depth_scale", "depth_shift_m")
            fields[field_name] = float(value) if numeric else str(value)
    return fields


def _colour(index: int, alpha: float) -> ColorRGBA:
    hue = (index * 0.618034) % 1.0  # golden-ratio hues stay distinct
    r, g, b = (abs(hue * 6.0 - k) for k in (3.0, 2.0, 4.0))
    return ColorRGBA(r=float(np.clip(r - 1, 0, 1)), g=float(np.clip(2 - g, 0, 1)),
                     b=float(np.clip(2 - b, 0, 1)), a=alpha)


def scene_graph_to_markers(graph: SceneGraph, lifetime_s: float = 1.0) -> MarkerArray:
    """Boxes, text labels and the floor, for RViz and Foxglove, in the graph frame."""
    header = Header(stamp=ns_to_stamp(graph.stamp_ns), frame_id=graph.frame_id)
    lifetime = Duration(sec=int(lifetime_s), nanosec=int((lifetime_s % 1) * 1e9))
    markers = [Marker(header=header, ns="objects", action=Marker.DELETEALL)]
    for o in graph.objects:
        c, e = o.center_scene, o.extent_scene
        box = Marker(header=header, ns="objects", id=int(o.id), type=Marker.CUBE,
                     action=Marker.ADD, lifetime=lifetime, color=_colour(o.id, 0.4))
        box.pose.position = Point(x=float(c[0]), y=float(c[1]), z=float(c[2]))
        box.pose.orientation.w = 1.0
        box.scale = Vector3(x=max(float(e[0]), 0.005), y=max(float(e[1]), 0.005),
                            z=max(float(e[2]), 0.005))
        text = Marker(header=header, ns="labels", id=int(o.id), type=Marker.TEXT_VIEW_FACING,
                      action=Marker.ADD, lifetime=lifetime, text=o.description,
                      color=ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0))
        text.pose.position = Point(x=float(c[0]), y=float(c[1]), z=float(c[2] + e[2] / 2 + 0.05))
        text.pose.orientation.w = 1.0
        text.scale.z = 0.06
        markers += [box, text]
    if graph.floor_found:
        floor = Marker(header=header, ns="floor", id=0, type=Marker.CUBE, action=Marker.ADD,
                       lifetime=lifetime, color=ColorRGBA(r=0.5, g=0.5, b=0.5, a=0.25))
        floor.pose.position = Point(x=2.0, y=0.0, z=-0.001)
        floor.pose.orientation.w = 1.0
        floor.scale = Vector3(x=4.0, y=4.0, z=0.002)
        markers.append(floor)
    return MarkerArray(markers=markers)

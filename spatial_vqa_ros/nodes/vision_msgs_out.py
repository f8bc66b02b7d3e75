"""The scene graph as standard ``vision_msgs`` detections, for the consumers that
already read them (RViz detection plugins, trackers, planners' perception adapters).

``vision_msgs`` is on every ROS install and not on PyPI, so the node publishes these
only where it imports (:func:`vision_msgs_module`); the conversion takes the message
module as an argument, so it is tested here with stand-in classes of the same fields.
Written for the ROS 2 Humble+ layout (``ObjectHypothesisWithPose.hypothesis``).

- ``Detection3DArray`` in the scene graph's frame (``<camera>_floor``): per visible
  object, its floor-aligned box (centre, size: x depth, y width, z height, metres),
  ``id`` its track id, one hypothesis (label, score) posed at the centre.
- ``Detection2DArray`` in the camera's frame and stamp: per visible object, its region
  of interest in pixels (centre and size).
"""

from __future__ import annotations

from typing import Any

from geometry_msgs.msg import Point, Pose, Quaternion, Vector3

from ..core.scene_graph import SceneGraph

__all__ = ["detections_2d", "detections_3d", "vision_msgs_module"]


def vision_msgs_module() -> Any | None:
    """``vision_msgs.msg`` where it is installed, else None."""
    try:
        import vision_msgs.msg as module
    except ImportError:
        return None
    return module


def _hypothesis(m: Any, label: str, score: float, pose: Pose | None = None) -> Any:
    result = m.ObjectHypothesisWithPose()
    result.hypothesis.class_id = label
    result.hypothesis.score = float(score)
    if pose is not None:
        result.pose.pose = pose
    return result


def detections_3d(m: Any, graph: SceneGraph, header: Any) -> Any:
    """A ``Detection3DArray`` of the visible objects, in ``header``'s frame."""
    out = m.Detection3DArray()
    out.header = header
    for o in graph.objects:
        if not o.visible:
            continue
        x, y, z = (float(v) for v in o.center_scene)
        pose = Pose(position=Point(x=x, y=y, z=z), orientation=Quaternion(w=1.0))
        detection = m.Detection3D()
        detection.header = header
        detection.id = str(o.id)
        detection.results = [_hypothesis(m, o.label, o.confidence, pose)]
        detection.bbox.center = pose
        dx, dy, dz = (float(v) for v in o.extent_scene)
        detection.bbox.size = Vector3(x=dx, y=dy, z=dz)
        out.detections.append(detection)
    return out


def detections_2d(m: Any, graph: SceneGraph, header: Any) -> Any:
    """A ``Detection2DArray`` of the visible objects' image regions, in ``header``'s
    (the camera image's) frame."""
    out = m.Detection2DArray()
    out.header = header
    for o in graph.objects:
        if not o.visible:
            continue
        x0, y0, x1, y1 = (float(v) for v in o.roi_xyxy)
        detection = m.Detection2D()
        detection.header = header
        detection.id = str(o.id)
        detection.results = [_hypothesis(m, o.label, o.confidence)]
        detection.bbox.center.position.x = (x0 + x1) / 2
        detection.bbox.center.position.y = (y0 + y1) / 2
        detection.bbox.size_x = x1 - x0
        detection.bbox.size_y = y1 - y0
        out.detections.append(detection)
    return out

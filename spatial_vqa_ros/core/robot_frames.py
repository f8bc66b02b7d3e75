"""The robot's own frames (a gripper's tool frame, the base) as ends of queries and
rewards, placed by forward kinematics instead of being looked for in the image.

Why: a planner or an RL loop knows exactly where its gripper is (TF, from the joint
encoders); segmenting it in the image is slower, fails when it is occluded or out of
view, and adds a detector's error to every reward. A frame enters the scene graph's
geometry as a point: its origin, looked up at the image's stamp (never "latest", which
would pair a moving arm with a frame it was not in), expressed in the camera optical
frame and mapped to the scene frame with that image's floor fit.

What a frame end supports: distances to objects (``center``: to the box centre;
``gap``: to the object's closest measured point) and the relations that compare
positions (left/right, above/below, behind/in front, closer to the camera, direction).
A frame has no size: height, width, volume and their comparisons are refused.

The lookup is behind :class:`TransformSource` (tf2_ros on a robot, the odometry's
child frame otherwise, a fake in tests); it raises :class:`TransformError` with what
was missing.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .errors import CoreError
from .scene_frame import SceneFrame
from .scene_graph import SceneObject

__all__ = ["FramePoint", "TransformError", "TransformSource", "frame_object",
           "frame_points", "is_frame_name", "strip_frame_prefix"]

#: A name that must be a robot frame, never an object ("tf:tool0").
FRAME_PREFIX = "tf:"


class TransformError(CoreError):
    """A frame's pose is not available at the stamp asked for (unknown frame, no
    transform yet, or only transforms older than the image)."""


class TransformSource(Protocol):
    """Where a robot frame's origin is, in the camera optical frame, at a stamp. A source
    may also offer ``pose_in_camera(...) -> (position (3,), rotation (3, 3))`` (the
    camera-from-frame rotation), which gives the frame a heading for clock directions."""

    def position_in_camera(self, frame_id: str, camera_frame_id: str,
                           stamp_ns: int) -> np.ndarray:
        """(3,) metres; raises TransformError when it is not known at ``stamp_ns``."""
        ...


@dataclass(frozen=True)
class FramePoint:
    """A robot frame's origin in the scene frame of one image (metres), and where its x
    axis points on the floor (degrees counter-clockwise from the scene's x axis; None
    when the source gives no orientation or the axis points up or down)."""

    frame_id: str
    point_scene: np.ndarray
    stamp_ns: int
    heading_deg: float | None = None


def is_frame_name(name: str) -> bool:
    return name.strip().startswith(FRAME_PREFIX)


def strip_frame_prefix(name: str) -> str:
    name = name.strip()
    return name[len(FRAME_PREFIX):] if name.startswith(FRAME_PREFIX) else name


def frame_points(source: TransformSource, frame_ids: Iterable[str], scene: SceneFrame,
                 camera_frame_id: str, stamp_ns: int) -> dict[str, FramePoint]:
    """Every frame in ``frame_ids`` placed in ``scene`` at ``stamp_ns``; TransformError
    (from the source) names the first that is not available."""
    points = {}
    for frame_id in dict.fromkeys(strip_frame_prefix(f) for f in frame_ids if f.strip()):
        rotation = None
        if hasattr(source, "pose_in_camera"):  # position and orientation in one lookup
            position, rotation = source.pose_in_camera(frame_id, camera_frame_id, stamp_ns)
        else:
            position = source.position_in_camera(frame_id, camera_frame_id, stamp_ns)
        position = np.asarray(position, np.float64)
        if position.shape != (3,) or not np.isfinite(position).all():
            raise TransformError(f"the transform of {frame_id} is not a finite position")
        point = scene.to_scene(position[None].astype(np.float32))[0].astype(np.float64)
        points[frame_id] = FramePoint(frame_id, point, stamp_ns,
                                      _heading(scene, rotation))
    return points


def _heading(scene: SceneFrame, camera_from_frame: np.ndarray | None) -> float | None:
    """The frame's x axis on the floor, degrees from the scene's x axis (None when it
    points within ~70 degrees of straight up or down: no heading to speak of)."""
    if camera_from_frame is None:
        return None
    x_scene = scene.rotation_scene_from_cam @ np.asarray(camera_from_frame, float)[:, 0]
    if float(np.hypot(x_scene[0], x_scene[1])) < 0.35:
        return None
    return float(np.degrees(np.arctan2(x_scene[1], x_scene[0])))


def frame_object(point: FramePoint) -> SceneObject:
    """The frame as a point-sized object for the relation table: no extent, exact
    position (TF is not the camera's noise), always "in view", and a negative id of its
    own (tracked objects have positive ones; two frames never share one)."""
    return SceneObject(
        id=-1 - zlib.crc32(point.frame_id.encode()) % 1_000_000_000, label=point.frame_id,
        description=point.frame_id, confidence=1.0,
        center_scene=point.point_scene.copy(), extent_scene=np.zeros(3),
        points_scene=point.point_scene[None].astype(np.float32), partial=False,
        roi_xyxy=(0, 0, 0, 0), pixel_count=0, point_count=1, position_sigma_m=0.0,
        first_seen_ns=point.stamp_ns, last_seen_ns=point.stamp_ns, observation_count=1)


def resolve_frame(frames: Mapping[str, FramePoint], name: str) -> FramePoint | None:
    """The frame ``name`` refers to ("tool0" or "tf:tool0"), or None."""
    return frames.get(strip_frame_prefix(name))

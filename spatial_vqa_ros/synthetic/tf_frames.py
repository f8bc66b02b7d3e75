"""TF for synthetic recordings: the camera and the approach's tool frame as
``tf2_msgs/msg/TFMessage``, so offline tools can be tested on ``tf:`` reward ends.

Frames: ``world`` (the synthetic world, z up = the floor normal) is the root; the
camera optical frame (``scene.camera.frame_id``) hangs under it, on ``/tf_static``
when the camera does not move (``scene``, ``approach``) and on ``/tf`` per frame when
it does (``sequence``); in an ``approach``, ``tool0`` is the gripper's tip (the centre
of its bottom face, x along the gripper's yaw) on ``/tf`` per frame. Exact values
come from the same scene the images are rendered from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from ..core.stamps import split_ns
from .scenes import SyntheticScene

TF_WORLD = "world"
TOOL_FRAME = "tool0"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"
#: (parent, child, translation (3,), quaternion xyzw (4,))
Transform = tuple[str, str, np.ndarray, np.ndarray]


def camera_transform(scene: SyntheticScene) -> Transform:
    """world -> camera optical frame."""
    quaternion = Rotation.from_matrix(scene.pose.rotation_world_from_cam).as_quat()
    return TF_WORLD, scene.camera.frame_id, np.asarray(scene.pose.position_world), quaternion


def tool_transform(scene: SyntheticScene, gripper_label: str = "gripper") -> Transform:
    """world -> tool0, the tip of the approach's gripper (bottom face centre)."""
    gripper = next(o for o in scene.objects if o.label == gripper_label)
    tip = np.asarray(gripper.center_world, np.float64) - [0.0, 0.0, gripper.dims[2] / 2]
    quaternion = Rotation.from_euler("z", gripper.yaw_rad).as_quat()
    return TF_WORLD, TOOL_FRAME, tip, quaternion


def tool_in_camera(scene: SyntheticScene) -> np.ndarray:
    """The tool frame's origin in the camera optical frame (m): the truth a TF lookup
    of ``tool0`` in the camera frame must give."""
    tip = tool_transform(scene)[2]
    return scene.pose.rotation_world_from_cam.T @ (tip - scene.pose.position_world)


def tf_message(typestore: Any, stamp_ns: int, transforms: list[Transform]) -> Any:
    """A TFMessage of ``transforms``, all stamped ``stamp_ns``."""
    types = typestore.types
    sec, nanosec = split_ns(stamp_ns)
    out = []
    for parent, child, t, q in transforms:
        header = types["std_msgs/msg/Header"](
            stamp=types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec),
            frame_id=parent)
        out.append(types["geometry_msgs/msg/TransformStamped"](
            header=header, child_frame_id=child,
            transform=types["geometry_msgs/msg/Transform"](
                translation=types["geometry_msgs/msg/Vector3"](
                    x=float(t[0]), y=float(t[1]), z=float(t[2])),
                rotation=types["geometry_msgs/msg/Quaternion"](
                    x=float(q[0]), y=float(q[1]), z=float(q[2]), w=float(q[3])))))
    return types[TF_MESSAGE](transforms=out)


def frame_transforms(kind: str, scene: SyntheticScene) -> tuple[list[Transform],
                                                                 list[Transform]]:
    """(static, dynamic) transforms of one frame of a recording of ``kind``."""
    camera = camera_transform(scene)
    static = [] if kind == "sequence" else [camera]
    dynamic = [camera] if kind == "sequence" else []
    if kind == "approach":
        dynamic.append(tool_transform(scene))
    return static, dynamic


__all__ = ["TF_WORLD", "TOOL_FRAME", "camera_transform", "frame_transforms", "tf_message",
           "tool_in_camera", "tool_transform"]

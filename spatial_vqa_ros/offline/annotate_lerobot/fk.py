"""The end effector's pose from a dataset's ``observation.state``: a user's forward
kinematics, as a :class:`~spatial_vqa_ros.core.robot_frames.TransformSource`.

The hook is ``module:function``; it is called with one frame's state, a (n,) float64
array, and returns the end effector's pose as a 4x4 homogeneous transform or its
origin as (3,) metres, in the **camera optical frame** (x right, y down, z forward),
or, when the camera's pose in the robot's base is given (``camera_in_base``: x y z
qx qy qz qw), in that **base frame**. The frame is a pair's ``tf:<name>`` end, placed
as the node places a tf2 frame, so the reward is the node's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...core.robot_frames import TransformError
from ...io.errors import DataIOError


def load_fk(spec: str) -> Callable[[np.ndarray], Any]:
    """The function ``module:function`` names; DataIOError says what is wrong."""
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise DataIOError(f"--fk {spec!r} is not 'module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise DataIOError(f"--fk {spec!r}: cannot import {module_name}: {error}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise DataIOError(f"--fk {spec!r}: {module_name} has no function {function_name}")
    return function


def _rotation(quaternion_xyzw: Sequence[float]) -> np.ndarray:
    x, y, z, w = np.asarray(quaternion_xyzw, np.float64) / np.linalg.norm(quaternion_xyzw)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def camera_from_base(camera_in_base: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(R, t) taking base-frame points to the camera optical frame, from the camera's
    pose in the base (x y z qx qy qz qw); DataIOError for a malformed pose."""
    pose = np.asarray(camera_in_base, np.float64)
    if pose.shape != (7,) or not np.isfinite(pose).all() or np.linalg.norm(pose[3:]) < 1e-9:
        raise DataIOError(f"the camera's pose in the base must be x y z qx qy qz qw, got "
                          f"{list(camera_in_base)}")
    rotation = _rotation(pose[3:])  # base <- camera
    return rotation.T, -rotation.T @ pose[:3]


def pose_of(result: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """A hook's answer as (position (3,), rotation (3, 3) or None); DataIOError when it
    is neither a finite 4x4 nor a finite (3,)."""
    try:
        array = np.asarray(result, np.float64)
    except (TypeError, ValueError):
        array = np.zeros(0)
    if array.shape == (4, 4) and np.isfinite(array).all():
        return array[:3, 3].copy(), array[:3, :3].copy()
    if array.shape == (3,) and np.isfinite(array).all():
        return array, None
    raise DataIOError(f"the forward kinematics must return a finite 4x4 transform or xyz "
                      f"(3,), got {type(result).__name__} of shape {array.shape}")


class FkSource:
    """The end effector ``frame_id`` at the state last given to :meth:`set_state`."""

    def __init__(self, fk: Callable[[np.ndarray], Any], frame_id: str,
                 camera_in_base: Sequence[float] = ()) -> None:
        self.fk = fk
        self.frame_id = frame_id
        self.base = camera_from_base(camera_in_base) if len(camera_in_base) else None
        self.state: np.ndarray | None = None

    def set_state(self, state: np.ndarray) -> None:
        self.state = np.asarray(state, np.float64)

    def pose_in_camera(self, frame_id: str, camera_frame_id: str, stamp_ns: int
                       ) -> tuple[np.ndarray, np.ndarray | None]:
        if frame_id != self.frame_id:
            raise TransformError(f"frame {frame_id!r} is not the end effector "
                                 f"{self.frame_id!r} the forward kinematics gives")
        if self.state is None:
            raise TransformError("no observation.state for this frame")
        try:
            position, rotation = pose_of(self.fk(self.state.copy()))
        except Exception as error:  # the user's code: the frame is unplaced, counted
            raise TransformError(f"forward kinematics: {type(error).__name__}: {error}"
                                 ) from None
        if self.base is not None:
            r, t = self.base
            position = r @ position + t
            rotation = None if rotation is None else r @ rotation
        return position, rotation

    def position_in_camera(self, frame_id: str, camera_frame_id: str,
                           stamp_ns: int) -> np.ndarray:
        return self.pose_in_camera(frame_id, camera_frame_id, stamp_ns)[0]


__all__ = ["FkSource", "camera_from_base", "load_fk", "pose_of"]

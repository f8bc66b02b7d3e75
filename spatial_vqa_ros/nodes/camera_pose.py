"""Where the camera is: poses from nav_msgs/Odometry, or TF where tf2_ros exists.

With a pose per frame the scene graph lives in a fixed frame and fuses views while
the camera moves (see SceneGraphTracker.update). Odometry's child frame is often
the robot base, not the camera: ``camera_in_child`` is the camera optical frame's
pose in that child frame (a static extrinsic; identity when the odometry is of the
camera itself).
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np
from scipy.spatial.transform import Rotation

from .conversions import stamp_to_seconds


def pose_matrix(xyz, quaternion_xyzw) -> np.ndarray:
    """4x4 transform from a position and a unit quaternion (x, y, z, w)."""
    transform = np.eye(4)
    transform[:3, :3] = Rotation.from_quat(np.asarray(quaternion_xyzw, float)).as_matrix()
    transform[:3, 3] = np.asarray(xyz, float)
    return transform


class OdometryPoses:
    """A bounded, thread-safe history of odometry poses, looked up by stamp."""

    def __init__(self, camera_in_child: np.ndarray, slop_s: float, history: int = 400) -> None:
        self._camera_in_child = camera_in_child
        self._slop_s = slop_s
        self._poses: deque[tuple[float, np.ndarray]] = deque(maxlen=history)
        self._lock = threading.Condition()
        self.frame_id = ""

    def add(self, msg) -> None:
        """Store a nav_msgs/Odometry pose (of the child frame in header.frame_id)."""
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        norm = np.linalg.norm([q.x, q.y, q.z, q.w])
        if not np.isfinite(norm) or norm < 1e-6:
            raise ValueError("odometry orientation is not a valid quaternion")
        world_from_child = pose_matrix((p.x, p.y, p.z), (q.x, q.y, q.z, q.w))
        with self._lock:
            self.frame_id = msg.header.frame_id
            self._poses.append((stamp_to_seconds(msg.header.stamp),
                                world_from_child @ self._camera_in_child))
            self._lock.notify_all()

    def wait_for(self, stamp_s: float, timeout_s: float) -> np.ndarray | None:
        """Like :meth:`lookup`, but waits up to ``timeout_s`` for a pose at or after the
        stamp to arrive (odometry published a little after the images)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not self._poses or self._poses[-1][0] < stamp_s:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
        return self.lookup(stamp_s)

    def lookup(self, stamp_s: float) -> np.ndarray | None:
        """World-from-camera at ``stamp_s``: the nearest pose within slop, else None."""
        with self._lock:
            if not self._poses:
                return None
            stamp, pose = min(self._poses, key=lambda item: abs(item[0] - stamp_s))
        return pose if abs(stamp - stamp_s) <= self._slop_s else None


class TfPoses:
    """Camera poses from TF (tf2_ros), when it is installed. Unverified here: the
    development machine has no tf2_ros; written against its documented API."""

    def __init__(self, node, fixed_frame: str, timeout_s: float = 0.05) -> None:
        import tf2_ros
        from rclpy.duration import Duration

        self._buffer = tf2_ros.Buffer()
        self._listener = tf2_ros.TransformListener(self._buffer, node)
        self._fixed_frame = fixed_frame
        self._timeout = Duration(seconds=timeout_s)
        self.frame_id = fixed_frame

    def lookup_frame(self, camera_frame: str, stamp) -> np.ndarray | None:
        import tf2_ros

        try:
            tf = self._buffer.lookup_transform(self._fixed_frame, camera_frame, stamp,
                                               timeout=self._timeout)
        except (tf2_ros.LookupException, tf2_ros.ExtrapolationException,
                tf2_ros.ConnectivityException):
            return None
        t, q = tf.transform.translation, tf.transform.rotation
        return pose_matrix((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))


class Tf2RobotFrames:
    """Robot frames' origins in the camera frame from TF, at an image's stamp (a
    ``robot_frames.TransformSource``). Unverified here: the development machine has no
    tf2_ros; written against its documented API (Buffer.lookup_transform with a
    timeout; Lookup, Connectivity and Extrapolation exceptions)."""

    def __init__(self, node, timeout_s: float = 0.1) -> None:
        import tf2_ros
        from rclpy.duration import Duration

        self._buffer = tf2_ros.Buffer()
        self._listener = tf2_ros.TransformListener(self._buffer, node)
        self._timeout = Duration(seconds=timeout_s)

    def position_in_camera(self, frame_id: str, camera_frame_id: str,
                           stamp_ns: int) -> np.ndarray:
        return self.pose_in_camera(frame_id, camera_frame_id, stamp_ns)[0]

    def pose_in_camera(self, frame_id: str, camera_frame_id: str,
                       stamp_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """(origin, camera-from-frame rotation) at ``stamp_ns``."""
        import tf2_ros
        from rclpy.time import Time

        from ..core.robot_frames import TransformError

        try:
            tf = self._buffer.lookup_transform(camera_frame_id, frame_id,
                                               Time(nanoseconds=int(stamp_ns)),
                                               timeout=self._timeout)
        except tf2_ros.ExtrapolationException as error:
            raise TransformError(f"no transform from {frame_id} to {camera_frame_id} at the "
                                 f"image's stamp (only older or newer ones: {error})") from None
        except (tf2_ros.LookupException, tf2_ros.ConnectivityException) as error:
            raise TransformError(f"no transform from {frame_id} to {camera_frame_id}: "
                                 f"{error} (is the robot_state_publisher running?)") from None
        t, q = tf.transform.translation, tf.transform.rotation
        pose = pose_matrix((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))
        return pose[:3, 3].copy(), pose[:3, :3].copy()


class OdometryRobotFrames:
    """The odometry's child frame (the robot base) as a robot frame, without TF: its
    origin in the camera optical frame is fixed by the camera extrinsic
    (``camera_in_odometry_child``), so it is known at every stamp odometry covers.
    Other frames need tf2_ros."""

    def __init__(self, child_frame_id: str, camera_in_child: np.ndarray,
                 poses: OdometryPoses) -> None:
        self.child_frame_id = child_frame_id
        self._child_in_camera = np.linalg.inv(camera_in_child)
        self._poses = poses

    def position_in_camera(self, frame_id: str, camera_frame_id: str,
                           stamp_ns: int) -> np.ndarray:
        return self.pose_in_camera(frame_id, camera_frame_id, stamp_ns)[0]

    def pose_in_camera(self, frame_id: str, camera_frame_id: str,
                       stamp_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """(origin, camera-from-frame rotation): fixed by the extrinsic."""
        from ..core.robot_frames import TransformError

        if frame_id != self.child_frame_id:
            raise TransformError(f"no transform for {frame_id}: without tf2_ros only the "
                                 f"odometry's child frame ({self.child_frame_id}) is known")
        if self._poses.lookup(stamp_ns * 1e-9) is None:
            raise TransformError(f"no odometry at the image's stamp ({stamp_ns} ns): "
                                 f"{frame_id} cannot be placed")
        return self._child_in_camera[:3, 3].copy(), self._child_in_camera[:3, :3].copy()

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

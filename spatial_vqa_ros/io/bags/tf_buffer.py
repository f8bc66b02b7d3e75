"""A recording's TF tree (``/tf`` and ``/tf_static``), answering transforms at a stamp.

Why: a reward end such as ``tf:tool0`` is placed live by tf2 at the image's stamp
(``nodes.camera_pose.Tf2RobotFrames``). Offline there is no tf2_ros, but the bag holds
the same ``tf2_msgs/msg/TFMessage`` stream; :class:`TfBuffer` answers from it as tf2's
buffer does, so the offline tools place robot frames exactly where the node would:

- a static transform is valid at every stamp; a dynamic one only within the stamps
  recorded for that edge: between two, translation is interpolated linearly and the
  rotation by slerp (tf2's rule); outside them the lookup fails ("extrapolation"),
  never reuses the nearest;
- ``lookup(target, source, stamp)`` walks both frames up to their common ancestor, each
  edge taken at ``stamp``, and returns ``target_from_source`` (4 x 4);
- an unknown frame, or two frames in unconnected trees, fail with the frames the
  buffer knows.

It is a ``core.robot_frames.TransformSource`` (``position_in_camera`` and
``pose_in_camera``) and raises that module's TransformError, so ``frame_points`` and
``RewardSession.stream_step`` treat it as they treat tf2. :func:`read_tf` fills one from
a bag (DataIOError when the bag cannot be read).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...core.robot_frames import TransformError
from ...core.stamps import stamp_to_ns
from ..errors import DataIOError
from .reader import _DESERIALIZE_ERRORS, _STORAGE_ERRORS, _open_reader
from .topics import ros2_typestore

TF_TOPIC = "/tf"
TF_STATIC_TOPIC = "/tf_static"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"
#: Longer chains than this are taken for a loop in the tree (tf2 refuses loops too).
_MAX_DEPTH = 1000


def quaternion_matrix(quaternion_xyzw: np.ndarray) -> np.ndarray:
    """The 3 x 3 rotation of a quaternion (x, y, z, w), normalised first."""
    x, y, z, w = np.asarray(quaternion_xyzw, np.float64) / np.linalg.norm(quaternion_xyzw)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def slerp(q0: np.ndarray, q1: np.ndarray, ratio: float) -> np.ndarray:
    """Spherical interpolation of unit quaternions (x, y, z, w) along the shorter arc."""
    q0 = np.asarray(q0, np.float64) / np.linalg.norm(q0)
    q1 = np.asarray(q1, np.float64) / np.linalg.norm(q1)
    dot = float(np.dot(q0, q1))
    if dot < 0.0:
        q1, dot = -q1, -dot
    if dot > 0.9995:  # nearly the same rotation: linear is exact to 1e-7 and stable
        q = q0 + ratio * (q1 - q0)
        return q / np.linalg.norm(q)
    theta = np.arccos(min(dot, 1.0))
    return (np.sin((1 - ratio) * theta) * q0 + np.sin(ratio * theta) * q1) / np.sin(theta)


@dataclass
class _Edge:
    """The transforms of one child frame in its parent, as recorded."""

    parent: str
    static: bool
    samples: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _stamps: np.ndarray | None = None
    _translations: np.ndarray | None = None
    _quaternions: np.ndarray | None = None

    def add(self, stamp_ns: int, translation: np.ndarray, quaternion: np.ndarray) -> None:
        if self.static:
            self.samples = {}  # a static transform republished replaces the old one
        self.samples[int(stamp_ns)] = (translation, quaternion)
        self._stamps = None

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._stamps is None:
            stamps = sorted(self.samples)
            self._stamps = np.array(stamps, dtype=np.int64)
            self._translations = np.array([self.samples[s][0] for s in stamps])
            self._quaternions = np.array([self.samples[s][1] for s in stamps])
        assert self._translations is not None and self._quaternions is not None
        return self._stamps, self._translations, self._quaternions

    def at(self, child: str, stamp_ns: int) -> np.ndarray:
        """parent_from_child (4 x 4) at ``stamp_ns``; TransformError outside the record."""
        stamps, translations, quaternions = self._arrays()
        if self.static:
            return _matrix(translations[-1], quaternions[-1])
        if stamp_ns < stamps[0] or stamp_ns > stamps[-1]:
            side = "before the first" if stamp_ns < stamps[0] else "after the last"
            raise TransformError(
                f"no transform from {child} to {self.parent} at {stamp_ns} ns: it is "
                f"{side} one recorded (the bag has {self.parent} -> {child} from "
                f"{int(stamps[0])} to {int(stamps[-1])} ns; transforms are interpolated, "
                "never extrapolated)")
        i = int(np.searchsorted(stamps, stamp_ns, side="right")) - 1
        if stamps[i] == stamp_ns:
            return _matrix(translations[i], quaternions[i])
        ratio = (stamp_ns - int(stamps[i])) / (int(stamps[i + 1]) - int(stamps[i]))
        translation = translations[i] + ratio * (translations[i + 1] - translations[i])
        return _matrix(translation, slerp(quaternions[i], quaternions[i + 1], ratio))


def _matrix(translation: np.ndarray, quaternion: np.ndarray) -> np.ndarray:
    transform = np.eye(4)
    transform[:3, :3] = quaternion_matrix(quaternion)
    transform[:3, 3] = translation
    return transform


def _frame_name(name: str) -> str:
    return name.strip().lstrip("/")  # tf2 drops a leading slash too


class TfBuffer:
    """Transforms between frames at a stamp, from recorded TF messages (see the module
    docstring for the rules). Each child frame has one parent, as in tf2; a child
    recorded under two parents is refused (DataIOError)."""

    def __init__(self) -> None:
        self._edges: dict[str, _Edge] = {}

    def add(self, parent: str, child: str, stamp_ns: int, translation: Iterable[float],
            quaternion_xyzw: Iterable[float], *, static: bool = False) -> None:
        """Record ``parent_from_child`` at ``stamp_ns`` (metres, unit quaternion)."""
        parent, child = _frame_name(parent), _frame_name(child)
        if not parent or not child or parent == child:
            raise DataIOError(f"a transform needs two different frame names, got "
                              f"{parent!r} -> {child!r}")
        t = np.asarray(list(translation), np.float64)
        q = np.asarray(list(quaternion_xyzw), np.float64)
        if t.shape != (3,) or q.shape != (4,) or not (np.isfinite(t).all()
                                                       and np.isfinite(q).all()):
            raise DataIOError(f"transform {parent} -> {child} at {stamp_ns} ns is not a "
                              "finite translation (3) and quaternion (4)")
        if not np.linalg.norm(q) > 1e-9:
            raise DataIOError(f"transform {parent} -> {child} at {stamp_ns} ns has a zero "
                              "quaternion")
        edge = self._edges.get(child)
        if edge is None:
            edge = self._edges[child] = _Edge(parent, static)
        elif edge.parent != parent or edge.static != static:
            raise DataIOError(
                f"frame {child} is recorded as a {'static' if static else 'dynamic'} child "
                f"of {parent} and as a {'static' if edge.static else 'dynamic'} child of "
                f"{edge.parent}; a TF frame has one parent")
        edge.add(stamp_ns, t, q)

    @property
    def frames(self) -> frozenset[str]:
        """Every frame named in the buffer (children and parents)."""
        return frozenset(self._edges) | {e.parent for e in self._edges.values()}

    def has_frame(self, frame_id: str) -> bool:
        return _frame_name(frame_id) in self.frames

    def span_ns(self) -> tuple[int, int] | None:
        """First and last stamp of any dynamic transform (None if all are static)."""
        stamps = [s for e in self._edges.values() if not e.static for s in e.samples]
        return (min(stamps), max(stamps)) if stamps else None

    def _chain(self, frame: str) -> list[str]:
        if frame not in self.frames:
            known = ", ".join(sorted(self.frames)) or "none (the bag has no /tf or /tf_static)"
            raise TransformError(f"frame {frame!r} is not in the recording's TF tree "
                                 f"(frames: {known})")
        chain = [frame]
        while chain[-1] in self._edges:
            chain.append(self._edges[chain[-1]].parent)
            if len(chain) > _MAX_DEPTH:
                raise TransformError(f"the TF tree above {frame} has a loop")
        return chain

    def _root_from(self, chain: list[str], stamp_ns: int) -> np.ndarray:
        """chain[-1]_from_chain[0]: the edges composed from the frame up."""
        transform = np.eye(4)
        for child in reversed(chain[:-1]):
            transform = transform @ self._edges[child].at(child, stamp_ns)
        return transform

    def lookup(self, target: str, source: str, stamp_ns: int) -> np.ndarray:
        """``target_from_source`` (4 x 4) at ``stamp_ns``, as tf2's
        ``lookup_transform(target, source, stamp)``. TransformError: a frame the buffer
        does not know, frames in separate trees, or a stamp outside an edge's record."""
        target, source = _frame_name(target), _frame_name(source)
        up_target, up_source = self._chain(target), self._chain(source)
        common = next((f for f in up_source if f in set(up_target)), None)
        if common is None:
            raise TransformError(f"frames {source} and {target} are not connected in the "
                                 f"recording's TF tree (roots {up_source[-1]} and "
                                 f"{up_target[-1]})")
        stamp_ns = int(stamp_ns)
        common_from_source = self._root_from(up_source[:up_source.index(common) + 1],
                                             stamp_ns)
        common_from_target = self._root_from(up_target[:up_target.index(common) + 1],
                                             stamp_ns)
        return np.linalg.solve(common_from_target, common_from_source)

    # -- core.robot_frames.TransformSource --------------------------------------------
    def position_in_camera(self, frame_id: str, camera_frame_id: str,
                           stamp_ns: int) -> np.ndarray:
        return self.pose_in_camera(frame_id, camera_frame_id, stamp_ns)[0]

    def pose_in_camera(self, frame_id: str, camera_frame_id: str,
                       stamp_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """(origin (3,), camera-from-frame rotation (3, 3)) at ``stamp_ns``."""
        transform = self.lookup(camera_frame_id, frame_id, stamp_ns)
        return transform[:3, 3].copy(), transform[:3, :3].copy()


def read_tf(path: str | Path, topics: tuple[str, str] = (TF_TOPIC, TF_STATIC_TOPIC)
            ) -> TfBuffer:
    """The TF buffer of a bag's ``/tf`` and ``/tf_static`` (``topics``: dynamic, static);
    empty when the bag has neither. DataIOError when the bag cannot be read or a
    message is not a valid transform."""
    buffer = TfBuffer()
    reader = _open_reader(Path(path))
    try:
        connections = [c for c in reader.connections
                       if c.topic in topics and c.msgtype == TF_MESSAGE]
        if not connections:
            return buffer
        typestore = ros2_typestore()
        try:
            for connection, _log_ns, raw in reader.messages(connections):
                msg = typestore.deserialize_cdr(raw, TF_MESSAGE)
                static = connection.topic == topics[1]
                for tf in msg.transforms:
                    t, q = tf.transform.translation, tf.transform.rotation
                    buffer.add(tf.header.frame_id, tf.child_frame_id,
                               stamp_to_ns(tf.header.stamp), (t.x, t.y, t.z),
                               (q.x, q.y, q.z, q.w), static=static)
        except (*_STORAGE_ERRORS, *_DESERIALIZE_ERRORS) as error:
            if isinstance(error, DataIOError):
                raise
            raise DataIOError(f"cannot read the TF messages of bag {path}: "
                              f"{type(error).__name__}: {error}") from None
    finally:
        reader.close()
    return buffer


__all__ = ["TF_MESSAGE", "TF_STATIC_TOPIC", "TF_TOPIC", "TfBuffer", "quaternion_matrix",
           "read_tf", "slerp"]

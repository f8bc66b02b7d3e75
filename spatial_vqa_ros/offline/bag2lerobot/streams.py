"""A first, cheap pass over a recording: the stamps and small values of every stream
the dataset resamples, before any image is decoded or perceived.

:func:`scan_bag` reads the camera's header stamps and size, the joint states
(``observation.state``), the action topic, the episode-marker topic, the TF tree and
the instance labels; the second pass (``build``) then perceives only the images the
fixed-rate grid uses. Every inconsistency a LeRobot feature cannot hold (a vector
whose length changes, JointState names and positions of different lengths, an image
size that changes) is a DataIOError here, before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...core.stamps import stamp_to_ns
from ...io.bags import BagFrameReader, BagTopics, TfBuffer, read_tf
from ...io.bags.reader import _DESERIALIZE_ERRORS, _STORAGE_ERRORS, _open_reader
from ...io.bags.topics import ros2_typestore
from ...io.errors import DataIOError
from ...io.labels import parse_labels_json

JOINT_STATE = "sensor_msgs/msg/JointState"


def _xyz(v: Any) -> list[float]:
    return [v.x, v.y, v.z]


#: Action message types -> (values, names or None). A table, one line per type.
ACTION_TYPES: dict[str, Callable[[Any], tuple[list[float], list[str] | None]]] = {
    JOINT_STATE: lambda m: (list(m.position), list(m.name)),
    "std_msgs/msg/Float64MultiArray": lambda m: (list(m.data), None),
    "std_msgs/msg/Float32MultiArray": lambda m: (list(m.data), None),
    "geometry_msgs/msg/Twist": lambda m: (_xyz(m.linear) + _xyz(m.angular),
                                          ["vx", "vy", "vz", "wx", "wy", "wz"]),
    "geometry_msgs/msg/TwistStamped": lambda m: (
        _xyz(m.twist.linear) + _xyz(m.twist.angular), ["vx", "vy", "vz", "wx", "wy", "wz"]),
    "geometry_msgs/msg/PoseStamped": lambda m: (
        _xyz(m.pose.position) + [m.pose.orientation.x, m.pose.orientation.y,
                                 m.pose.orientation.z, m.pose.orientation.w],
        ["x", "y", "z", "qx", "qy", "qz", "qw"]),
}
#: Episode-marker types: std_msgs messages with one scalar ``data``.
MARKER_TYPES = ("std_msgs/msg/String", "std_msgs/msg/Int32", "std_msgs/msg/Int64",
                "std_msgs/msg/UInt32", "std_msgs/msg/UInt64", "std_msgs/msg/Int16",
                "std_msgs/msg/UInt16", "std_msgs/msg/Int8", "std_msgs/msg/UInt8",
                "std_msgs/msg/Bool")


@dataclass(frozen=True)
class VectorStream:
    """A stream of fixed-length vectors: ``stamps_ns`` (N,) int64 in time order,
    ``values`` (N, n) float64, ``names`` (n) or None."""

    topic: str
    msgtype: str
    stamps_ns: np.ndarray
    values: np.ndarray
    names: tuple[str, ...] | None


@dataclass
class BagScan:
    """What the first pass learnt of one recording (see the module docstring)."""

    path: Path
    camera_stamps_ns: np.ndarray
    height: int
    width: int
    camera_frame_id: str
    tf: TfBuffer
    state: VectorStream | None = None
    action: VectorStream | None = None
    marker_stamps_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    marker_values: list[Hashable] = field(default_factory=list)
    labels: set[str] = field(default_factory=set)


class _Vectors:
    """Collects one vector stream, refusing a change of length or names."""

    def __init__(self, topic: str, msgtype: str) -> None:
        self.topic, self.msgtype = topic, msgtype
        self.stamps: list[int] = []
        self.values: list[list[float]] = []
        self.names: tuple[str, ...] | None = None

    def add(self, stamp_ns: int, values: list[float], names: list[str] | None) -> None:
        if names is not None and len(names) not in (0, len(values)):
            raise DataIOError(f"{self.topic}: a message at {stamp_ns} ns names {len(names)} "
                              f"joints but has {len(values)} values (mismatched lengths)")
        if self.values and len(values) != len(self.values[0]):
            raise DataIOError(f"{self.topic}: messages of mismatched lengths ({len(values)} "
                              f"values at {stamp_ns} ns, {len(self.values[0])} before); a "
                              "LeRobot feature has one shape")
        if names and self.names is None:
            self.names = tuple(names)
        elif names and tuple(names) != self.names:
            raise DataIOError(f"{self.topic}: the joint names change at {stamp_ns} ns "
                              f"({list(names)} after {list(self.names or ())})")
        if not values:
            raise DataIOError(f"{self.topic}: an empty message at {stamp_ns} ns")
        self.stamps.append(stamp_ns)
        self.values.append(values)

    def stream(self) -> VectorStream | None:
        if not self.stamps:
            return None
        order = np.argsort(np.asarray(self.stamps, np.int64), kind="stable")
        return VectorStream(self.topic, self.msgtype,
                            np.asarray(self.stamps, np.int64)[order],
                            np.asarray(self.values, np.float64)[order], self.names)


def _stamp(msg: Any, log_ns: int) -> int:
    header = getattr(msg, "header", None)
    return stamp_to_ns(header.stamp) if header is not None else int(log_ns)


def _check_topics(path: Path, by_topic: Any, state_topic: str, action_topic: str,
                  episode_topic: str) -> None:
    for role, topic in (("action", action_topic), ("episode", episode_topic)):
        if topic and topic not in by_topic:
            raise DataIOError(f"bag {path} has no {role} topic {topic!r}; topics: "
                              f"{', '.join(sorted(by_topic)) or 'none'}")
    if action_topic and by_topic[action_topic].msgtype not in ACTION_TYPES:
        raise DataIOError(f"action topic {action_topic} has type "
                          f"{by_topic[action_topic].msgtype}; readable action types: "
                          f"{', '.join(ACTION_TYPES)}")
    if episode_topic and by_topic[episode_topic].msgtype not in MARKER_TYPES:
        raise DataIOError(f"episode topic {episode_topic} has type "
                          f"{by_topic[episode_topic].msgtype}; it must be a std_msgs "
                          f"scalar ({', '.join(t.rsplit('/', 1)[1] for t in MARKER_TYPES)})")
    if state_topic in by_topic and by_topic[state_topic].msgtype != JOINT_STATE:
        raise DataIOError(f"state topic {state_topic} has type "
                          f"{by_topic[state_topic].msgtype}, not {JOINT_STATE}")


class _Collected:
    """The first pass's findings, message by message."""

    def __init__(self, topics: BagTopics, state_topic: str, action_topic: str,
                 episode_topic: str, action_type: str) -> None:
        self.topics = topics
        self.state_topic, self.action_topic = state_topic, action_topic
        self.episode_topic = episode_topic
        self.state = _Vectors(state_topic, JOINT_STATE)
        self.action = _Vectors(action_topic, action_type)
        self.camera: list[int] = []
        self.sizes: set[tuple[int, int]] = set()
        self.frame_ids: list[str] = []
        self.markers: list[tuple[int, Hashable]] = []
        self.labels: set[str] = set()

    def add(self, connection: Any, log_ns: int, msg: Any) -> None:
        topic = connection.topic
        if topic == self.topics.rgb:
            self.camera.append(_stamp(msg, log_ns))
            self.sizes.add((int(msg.height), int(msg.width)))
        elif topic == self.topics.camera_info and not self.frame_ids:
            self.frame_ids.append(msg.header.frame_id)
        elif topic == self.topics.labels:
            self.labels.update(_labels(msg.data))
        elif topic == self.state_topic:
            self.state.add(_stamp(msg, log_ns), list(msg.position), list(msg.name))
        elif topic == self.action_topic:
            values, names = ACTION_TYPES[connection.msgtype](msg)
            self.action.add(_stamp(msg, log_ns), [float(v) for v in values], names)
        elif topic == self.episode_topic:
            self.markers.append((int(log_ns), msg.data))


def scan_bag(path: str | Path, topics: BagTopics, *, state_topic: str = "",
             action_topic: str = "", episode_topic: str = "") -> BagScan:
    """The first pass over ``path`` (see the module docstring). DataIOError: no camera
    topic (the reader's message names the bag's image topics), a missing action or
    episode topic, a type this module cannot read on them, or inconsistent vectors."""
    path = Path(path)
    BagFrameReader(path, topics)  # checks the bag and its rgb topic, with the hints
    reader = _open_reader(path)
    try:
        _check_topics(path, reader.topics, state_topic, action_topic, episode_topic)
        wanted = {topics.rgb, topics.camera_info, topics.labels, state_topic, action_topic,
                  episode_topic} - {""}
        found = _Collected(topics, state_topic, action_topic, episode_topic,
                           reader.topics[action_topic].msgtype if action_topic else "")
        typestore = ros2_typestore()
        try:
            for connection, log_ns, raw in reader.messages(
                    [c for c in reader.connections if c.topic in wanted]):
                found.add(connection, log_ns, typestore.deserialize_cdr(raw, connection.msgtype))
        except (*_STORAGE_ERRORS, *_DESERIALIZE_ERRORS) as error:
            if isinstance(error, DataIOError):
                raise
            raise DataIOError(f"bag {path} is corrupt or truncated ({type(error).__name__}: "
                              f"{error})") from None
    finally:
        reader.close()
    camera, sizes, frame_ids = found.camera, found.sizes, found.frame_ids
    markers, labels, state, action = found.markers, found.labels, found.state, found.action
    if not camera:
        raise DataIOError(f"bag {path} has no message on its camera topic {topics.rgb}")
    if len(sizes) > 1:
        raise DataIOError(f"bag {path}: the camera's image size changes "
                          f"({', '.join(f'{w}x{h}' for h, w in sorted(sizes))}); a LeRobot "
                          "video has one size")
    if action_topic and not action.stamps:
        raise DataIOError(f"bag {path} has no message on its action topic {action_topic}")
    (height, width), = sizes
    markers.sort(key=lambda m: m[0])
    return BagScan(path, np.sort(np.asarray(camera, np.int64)), height, width,
                   frame_ids[0] if frame_ids else "", read_tf(path), state.stream(),
                   action.stream(), np.asarray([m[0] for m in markers], np.int64),
                   [m[1] for m in markers], labels)


def _labels(text: str) -> set[str]:
    try:
        return set(parse_labels_json(text).values())
    except DataIOError:
        return set()  # the reader counts malformed labels; nothing named here


__all__ = ["ACTION_TYPES", "MARKER_TYPES", "BagScan", "VectorStream", "scan_bag"]

"""rosbag2 (sqlite3 or mcap) <-> synchronised camera frames, with ``rosbags`` only.

Topic convention (:class:`BagTopics`, every name overridable):

- ``/camera/color/image_raw``: sensor_msgs/msg/Image, rgb8 (bgr8, rgba8, ... are read too)
- ``/camera/color/camera_info``: sensor_msgs/msg/CameraInfo
- ``/camera/depth/image_raw``: Image aligned to colour, 32FC1 metres or 16UC1 millimetres
- ``/camera/instances/image_raw``: Image of instance ids (16UC1 or 32SC1), 0 = none
- ``/camera/instances/labels``: std_msgs/msg/String, JSON ``{"<id>": "<label>"}``

Reading streams the bag in log-time order and keeps only a small window of messages:
an rgb image waits until each other stream has moved past its stamp (or until
``max_delay_s`` of log time has passed), then is matched and yielded.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NamedTuple

import numpy as np
from rosbags.interfaces import Connection
from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer, WriterError
from rosbags.serde import SerdeError
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

from ..core.camera import CameraIntrinsics
from ..core.frame import DEPTH_SCALE_TO_M, Frame, depth_to_metres
from .errors import DataIOError
from .images import camera_info_to_intrinsics, image_to_numpy, numpy_to_image_fields, to_rgb
from .labels import parse_labels_json

IMAGE = "sensor_msgs/msg/Image"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
STRING = "std_msgs/msg/String"

_STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}
_DEPTH_ENCODINGS = ("32FC1", "16UC1")
_INSTANCE_ENCODINGS: dict[str, type[np.integer[Any]]] = {"16UC1": np.uint16, "32SC1": np.int32}
_RGB_ENCODINGS = ("rgb8", "bgr8")
#: Integer single-channel encodings accepted as instance-id images when reading.
_INSTANCE_READ_ENCODINGS = ("16UC1", "32SC1", "mono16", "mono8", "8UC1", "16SC1")
#: Errors a corrupt or truncated storage file makes rosbags or its backends raise.
_STORAGE_ERRORS = (ReaderError, sqlite3.Error, OSError, struct.error, EOFError, ValueError,
                   KeyError, IndexError, ArithmeticError, AssertionError, TypeError)
_DESERIALIZE_ERRORS = (SerdeError, struct.error, ValueError, IndexError, TypeError)
_MM_PER_M = 1000.0
_MAX_PENDING_FRAMES = 32
_IMAGE_BUFFER_LEN = 16
_SMALL_BUFFER_LEN = 32
_MAX_NOTES = 20


@dataclass(frozen=True)
class BagTopics:
    """Topic names of one camera in a bag; the defaults are the convention in the module doc."""

    rgb: str = "/camera/color/image_raw"
    camera_info: str = "/camera/color/camera_info"
    depth: str = "/camera/depth/image_raw"
    instances: str = "/camera/instances/image_raw"
    labels: str = "/camera/instances/labels"

    def __post_init__(self) -> None:
        names = [getattr(self, f.name) for f in fields(self)]
        if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
            raise DataIOError(f"bag topics must be distinct non-empty names, got {self}")

    def msgtypes(self) -> dict[str, str]:
        """Topic name -> the message type this module reads and writes on it."""
        return {self.rgb: IMAGE, self.camera_info: CAMERA_INFO, self.depth: IMAGE,
                self.instances: IMAGE, self.labels: STRING}


_DEFAULT_TOPICS = BagTopics()


@lru_cache(maxsize=1)
def _typestore() -> Typestore:
    return get_typestore(Stores.ROS2_JAZZY)


def _split_ns(stamp_ns: int) -> tuple[int, int]:
    stamp_ns = int(stamp_ns)
    if stamp_ns < 0:
        raise DataIOError(f"timestamps must be non-negative nanoseconds, got {stamp_ns}")
    return stamp_ns // 1_000_000_000, stamp_ns % 1_000_000_000


def _stamp_ns(msg: Any) -> int:
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def encode_depth(depth_m: np.ndarray, encoding: str) -> np.ndarray:
    """Depth in metres (H, W) as the array of a depth image in ``encoding``.

    32FC1: float32 metres, NaN stays NaN. 16UC1: uint16 millimetres rounded to the
    nearest, with NaN, inf, <= 0 and > 65.535 m written as 0 (REP-118 "no return").
    """
    depth = np.asarray(depth_m, dtype=np.float32)
    if depth.ndim != 2:
        raise DataIOError(f"depth_m must be (H, W), got shape {depth.shape}")
    if encoding == "32FC1":
        return depth
    if encoding != "16UC1":
        raise DataIOError(f"depth encoding must be one of {_DEPTH_ENCODINGS}, got {encoding!r}")
    with np.errstate(invalid="ignore", over="ignore"):
        depth_mm = np.rint(depth * np.float32(_MM_PER_M))
        valid = (depth_mm > 0) & (depth_mm <= np.iinfo(np.uint16).max)  # False for NaN
    return np.where(valid, depth_mm, 0).astype(np.uint16)


def _encode_instances(instance_ids: np.ndarray, encoding: str) -> np.ndarray:
    ids = np.asarray(instance_ids)
    if ids.ndim != 2 or ids.dtype.kind not in "iu":
        raise DataIOError(f"instance_ids must be (H, W) integers, got {ids.shape} {ids.dtype}")
    dtype = _INSTANCE_ENCODINGS[encoding]
    info = np.iinfo(dtype)
    if ids.size and (int(ids.min()) < max(info.min, 0) or int(ids.max()) > info.max):
        raise DataIOError(
            f"instance ids span [{int(ids.min())}, {int(ids.max())}], outside what {encoding} "
            f"holds ([0, {info.max}]); use instance_encoding='32SC1' for large ids")
    return ids.astype(dtype, copy=False)


class BagFrameWriter:
    """Write synchronised camera frames (and any other messages) to a new rosbag2.

    Usage::

        with BagFrameWriter(path, storage="mcap") as writer:
            writer.write(stamp_ns, rgb, camera, depth_m=depth_m)

    Leaving the ``with`` block (or :meth:`close`) finalises the bag, also on an
    exception, so the frames written so far are kept.
    """

    def __init__(
        self,
        path: str | Path,
        storage: Literal["sqlite3", "mcap"] = "sqlite3",
        topics: BagTopics = _DEFAULT_TOPICS,
        depth_encoding: Literal["32FC1", "16UC1"] = "32FC1",
        instance_encoding: Literal["16UC1", "32SC1"] = "16UC1",
        rgb_encoding: Literal["rgb8", "bgr8"] = "rgb8",
    ) -> None:
        for name, value, allowed in (
            ("storage", storage, tuple(_STORAGES)),
            ("depth_encoding", depth_encoding, _DEPTH_ENCODINGS),
            ("instance_encoding", instance_encoding, tuple(_INSTANCE_ENCODINGS)),
            ("rgb_encoding", rgb_encoding, _RGB_ENCODINGS),
        ):
            if value not in allowed:
                raise DataIOError(f"{name} must be one of {allowed}, got {value!r}")
        self.path = Path(path)
        self.topics = topics
        self.depth_encoding = depth_encoding
        self.instance_encoding = instance_encoding
        self.rgb_encoding = rgb_encoding
        self._connections: dict[tuple[str, str], Connection] = {}
        try:
            self._writer: Writer | None = Writer(
                self.path, version=Writer.VERSION_LATEST, storage_plugin=_STORAGES[storage])
            self._writer.open()
        except (WriterError, OSError) as exc:
            raise DataIOError(f"cannot create bag {self.path}: {exc}") from None

    @property
    def typestore(self) -> Typestore:
        """The rosbags typestore (ROS 2 Jazzy); ``typestore.types[name]`` builds messages."""
        return _typestore()

    def header_message(self, stamp_ns: int, frame_id: str) -> Any:
        """A std_msgs/msg/Header with the stamp split into sec and nanosec."""
        sec, nanosec = _split_ns(stamp_ns)
        types = self.typestore.types
        return types["std_msgs/msg/Header"](
            stamp=types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec),
            frame_id=frame_id)

    def image_message(self, stamp_ns: int, image: np.ndarray, encoding: str, frame_id: str) -> Any:
        """A sensor_msgs/msg/Image for ``image`` (see :func:`numpy_to_image_fields`)."""
        return self.typestore.types[IMAGE](
            header=self.header_message(stamp_ns, frame_id),
            **numpy_to_image_fields(image, encoding))

    def camera_info_message(self, stamp_ns: int, camera: CameraIntrinsics) -> Any:
        """A sensor_msgs/msg/CameraInfo: K, D, distortion model, R = I, P = [K | 0]."""
        types = self.typestore.types
        p = np.zeros((3, 4))
        p[:, :3] = camera.k_matrix
        return types[CAMERA_INFO](
            header=self.header_message(stamp_ns, camera.frame_id),
            height=camera.height, width=camera.width,
            distortion_model=camera.distortion_model,
            d=np.array(camera.distortion, dtype=np.float64),
            k=camera.k_matrix.ravel(), r=np.eye(3).ravel(), p=p.ravel(),
            binning_x=0, binning_y=0,
            roi=types["sensor_msgs/msg/RegionOfInterest"](
                x_offset=0, y_offset=0, height=0, width=0, do_rectify=False))

    def write(
        self,
        stamp_ns: int,
        rgb: np.ndarray,
        camera: CameraIntrinsics,
        depth_m: np.ndarray | None = None,
        instance_ids: np.ndarray | None = None,
        id_to_label: Mapping[int, str] | None = None,
        *,
        log_time_ns: int | None = None,
    ) -> None:
        """Write one frame: one message per topic, all with header stamp ``stamp_ns``.

        ``rgb`` (H, W, 3) uint8 RGB; ``depth_m`` (H, W) metres, NaN = invalid;
        ``instance_ids`` (H, W) integers, 0 = none; ``id_to_label`` id -> label,
        written as JSON. H, W must match ``camera``. Messages are logged at
        ``log_time_ns`` (default: ``stamp_ns``). Everything is validated before
        anything is written, so a rejected frame leaves the bag unchanged.
        """
        log_ns = stamp_ns if log_time_ns is None else log_time_ns
        _split_ns(log_ns)
        frame_id = camera.frame_id
        rgb = np.asarray(rgb)
        size = (camera.height, camera.width)
        if rgb.shape != (*size, 3) or rgb.dtype != np.uint8:
            raise DataIOError(
                f"rgb must be {(*size, 3)} uint8 to match the camera, got {rgb.shape} {rgb.dtype}")
        if self.rgb_encoding == "bgr8":
            rgb = rgb[..., ::-1]
        rgb_msg = self.image_message(stamp_ns, rgb, self.rgb_encoding, frame_id)
        messages = [
            (self.topics.rgb, IMAGE, rgb_msg),
            (self.topics.camera_info, CAMERA_INFO, self.camera_info_message(stamp_ns, camera)),
        ]
        for name, image in (("depth_m", depth_m), ("instance_ids", instance_ids)):
            if image is not None and np.shape(image) != size:
                raise DataIOError(
                    f"{name} must be {size} to match the camera, got {np.shape(image)}")
        if depth_m is not None:
            depth = encode_depth(depth_m, self.depth_encoding)
            messages.append((self.topics.depth, IMAGE,
                             self.image_message(stamp_ns, depth, self.depth_encoding, frame_id)))
        if instance_ids is not None:
            ids = _encode_instances(instance_ids, self.instance_encoding)
            messages.append((self.topics.instances, IMAGE,
                             self.image_message(stamp_ns, ids, self.instance_encoding, frame_id)))
        if id_to_label is not None:
            text = json.dumps({str(int(k)): str(v) for k, v in id_to_label.items()})
            messages.append((self.topics.labels, STRING, self.typestore.types[STRING](data=text)))
        for topic, msgtype, msg in messages:
            self.write_message(topic, msgtype, log_ns, msg)

    def write_message(self, topic: str, msgtype: str, stamp_ns: int, msg: Any) -> None:
        """Write any message of the typestore (e.g. nav_msgs/msg/Odometry), logged at
        ``stamp_ns`` (the bag's receive time; the message's own header is not touched)."""
        _split_ns(stamp_ns)
        if msgtype not in self.typestore.types:
            raise DataIOError(f"unknown message type {msgtype!r} (not in the ROS 2 typestore)")
        try:
            raw = self.typestore.serialize_cdr(msg, msgtype)
        except (SerdeError, AttributeError, TypeError, ValueError, struct.error) as exc:
            raise DataIOError(f"cannot serialise a {msgtype} for {topic}: {exc}") from None
        connection = self._connection(topic, msgtype)
        try:
            self._open_writer().write(connection, int(stamp_ns), raw)
        except (WriterError, OSError, sqlite3.Error) as exc:
            raise DataIOError(f"cannot write to bag {self.path}: {exc}") from None

    def _open_writer(self) -> Writer:
        if self._writer is None:
            raise DataIOError(f"bag {self.path} is closed")
        return self._writer

    def _connection(self, topic: str, msgtype: str) -> Connection:
        key = (topic, msgtype)
        if key not in self._connections:
            try:
                self._connections[key] = self._open_writer().add_connection(
                    topic, msgtype, typestore=self.typestore)
            except (WriterError, OSError, sqlite3.Error) as exc:
                raise DataIOError(f"cannot add topic {topic} to bag {self.path}: {exc}") from None
        return self._connections[key]

    def close(self) -> None:
        """Finalise the bag (write its index and metadata.yaml). Idempotent."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            writer.close()
        except (WriterError, OSError, sqlite3.Error) as exc:
            writer.abort()
            raise DataIOError(f"cannot finalise bag {self.path}: {exc}") from None

    def __enter__(self) -> BagFrameWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
            return
        with suppress(DataIOError):  # the exception already propagating is the one to report
            self.close()


@dataclass(frozen=True)
class BagFrame:
    """One synchronised frame read from a bag.

    Arrays are read-only views into the message buffers where possible (copy before
    writing to them). H, W = ``camera.height``, ``camera.width``.

    - ``rgb``: (H, W, 3) uint8, RGB order whatever the bag's encoding
    - ``depth_raw``: (H, W) as stored (float32 metres for 32FC1, uint16 mm for 16UC1),
      ``depth_encoding`` its encoding; both None without matching depth
      (:meth:`depth_m` decodes to metres)
    - ``instance_ids``: (H, W) integer ids, 0 = none, or None
    - ``id_to_label``: instance id -> label from the labels JSON, or None
    - ``warnings``: what was wrong with this frame's optional parts
    """

    stamp_ns: int
    rgb: np.ndarray
    camera: CameraIntrinsics
    depth_raw: np.ndarray | None = None
    depth_encoding: str | None = None
    instance_ids: np.ndarray | None = None
    id_to_label: dict[int, str] | None = None
    warnings: tuple[str, ...] = ()
    log_time_ns: int = 0

    def __post_init__(self) -> None:
        size = (self.camera.height, self.camera.width)
        if self.rgb.shape != (*size, 3) or self.rgb.dtype != np.uint8:
            raise DataIOError(
                f"rgb must be {(*size, 3)} uint8, got {self.rgb.shape} {self.rgb.dtype}")
        for name, image in (("depth_raw", self.depth_raw), ("instance_ids", self.instance_ids)):
            if image is not None and image.shape != size:
                raise DataIOError(f"{name} must be {size}, got {image.shape}")
        if (self.depth_raw is None) != (self.depth_encoding is None):
            raise DataIOError("depth_raw and depth_encoding must be given together")

    def depth_m(self) -> np.ndarray | None:
        """Depth as (H, W) float32 metres, NaN where invalid (a new array), or None."""
        if self.depth_raw is None or self.depth_encoding is None:
            return None
        return depth_to_metres(self.depth_raw, self.depth_encoding)

    def to_frame(self) -> Frame:
        """The core Frame (rgb, depth in metres, intrinsics); needs depth."""
        depth_m = self.depth_m()
        if depth_m is None:
            raise DataIOError(
                f"frame at {self.stamp_ns} ns has no depth; estimate it with a depth model")
        return Frame(rgb=self.rgb, depth_m=depth_m, camera=self.camera,
                     stamp_s=self.stamp_ns * 1e-9)


@dataclass
class ReadStats:
    """Counts of what :class:`BagFrameReader` yielded and skipped (updated while iterating).

    - ``skipped_no_camera_info``: rgb images with no usable CameraInfo (none matched,
      or it was uncalibrated / invalid)
    - ``skipped_bad_encoding``: rgb images with an unsupported encoding or bad layout
    - ``skipped_size_mismatch``: rgb images whose size differs from their CameraInfo
    - ``skipped_corrupt``: messages on the frame topics that could not be deserialised
    - ``depth_missing`` / ``instances_missing``: frames yielded without depth / ids
    - ``malformed_labels``: labels messages whose JSON could not be parsed
    - ``notes``: the first distinct reasons behind the counts, for the user
    """

    frames_yielded: int = 0
    skipped_no_camera_info: int = 0
    skipped_bad_encoding: int = 0
    skipped_size_mismatch: int = 0
    skipped_corrupt: int = 0
    depth_missing: int = 0
    instances_missing: int = 0
    malformed_labels: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def frames_skipped(self) -> int:
        return (self.skipped_no_camera_info + self.skipped_bad_encoding
                + self.skipped_size_mismatch)

    def note(self, text: str) -> None:
        if text not in self.notes and len(self.notes) < _MAX_NOTES:
            self.notes.append(text)


class _Stamped(NamedTuple):
    stamp_ns: int  # header stamp (log time for labels, which have no header)
    log_ns: int
    msg: Any


class _Match(NamedTuple):
    rgb: _Stamped
    camera_info: _Stamped | None
    depth: _Stamped | None
    instances: _Stamped | None
    labels: _Stamped | None


class _MalformedLabels(NamedTuple):
    reason: str


class _Synchroniser:
    """ApproximateTime-like matching of streamed messages to rgb images, bounded memory.

    Roles: rgb, camera_info, depth, instances, labels. Messages must arrive in
    log-time order. An rgb image is matched once every other stream present in the
    bag can no longer offer a better partner, or ``max_delay_ns`` of log time later.
    """

    def __init__(self, roles: set[str], slop_ns: int, max_delay_ns: int) -> None:
        self.roles = roles
        self.slop_ns = slop_ns
        self.max_delay_ns = max_delay_ns
        self.pending: deque[_Stamped] = deque()
        self.buffers: dict[str, deque[_Stamped]] = {
            "depth": deque(maxlen=_IMAGE_BUFFER_LEN),
            "instances": deque(maxlen=_IMAGE_BUFFER_LEN),
            "camera_info": deque(maxlen=_SMALL_BUFFER_LEN),
            "labels": deque(maxlen=_SMALL_BUFFER_LEN),
        }
        self.latest_stamp_ns: dict[str, int] = {}

    def add(self, role: str, item: _Stamped) -> list[_Match]:
        if role == "rgb":
            self.pending.append(item)
            self._prune()
        else:
            self.buffers[role].append(item)
            self.latest_stamp_ns[role] = max(item.stamp_ns, self.latest_stamp_ns.get(role, -1))
        return self._drain(item.log_ns)

    def flush(self) -> list[_Match]:
        return self._drain(None)

    def _prune(self) -> None:
        """Drop depth / instance images too old to match any pending or later rgb image."""
        oldest_ns = min(p.stamp_ns for p in self.pending) - self.slop_ns
        for role in ("depth", "instances"):
            buffer = self.buffers[role]
            while buffer and buffer[0].stamp_ns < oldest_ns:
                buffer.popleft()

    def _drain(self, now_ns: int | None) -> list[_Match]:
        matches = []
        while self.pending and (now_ns is None or len(self.pending) > _MAX_PENDING_FRAMES
                                or self._ready(self.pending[0], now_ns)):
            matches.append(self._match(self.pending.popleft()))
        return matches

    def _ready(self, rgb: _Stamped, now_ns: int) -> bool:
        if now_ns - rgb.log_ns > self.max_delay_ns:
            return True
        horizon_ns = rgb.stamp_ns + self.slop_ns  # a later stamp cannot match any more
        for role in ("depth", "instances"):
            if role in self.roles and self.latest_stamp_ns.get(role, -1) <= horizon_ns:
                return False
        if "camera_info" in self.roles and not self.buffers["camera_info"]:
            return False
        return "labels" not in self.roles or now_ns > rgb.log_ns + self.slop_ns

    def _nearest_stamp(self, role: str, stamp_ns: int) -> _Stamped | None:
        best = min(self.buffers[role], key=lambda e: abs(e.stamp_ns - stamp_ns), default=None)
        if best is None or abs(best.stamp_ns - stamp_ns) > self.slop_ns:
            return None
        return best

    def _latest_before(self, role: str, log_ns: int) -> _Stamped | None:
        return next((e for e in reversed(self.buffers[role]) if e.log_ns <= log_ns), None)

    def _labels_for(self, rgb: _Stamped) -> _Stamped | None:
        before = self._latest_before("labels", rgb.log_ns)
        after = next((e for e in self.buffers["labels"]
                      if rgb.log_ns < e.log_ns <= rgb.log_ns + self.slop_ns), None)
        if before is None or after is None:
            return before or after
        return after if after.log_ns - rgb.log_ns < rgb.log_ns - before.log_ns else before

    def _match(self, rgb: _Stamped) -> _Match:
        camera_info = (self._nearest_stamp("camera_info", rgb.stamp_ns)
                       or self._latest_before("camera_info", rgb.log_ns))
        return _Match(rgb, camera_info, self._nearest_stamp("depth", rgb.stamp_ns),
                      self._nearest_stamp("instances", rgb.stamp_ns), self._labels_for(rgb))


def _open_reader(path: Path) -> Reader:
    """An open rosbags Reader, or a DataIOError saying why ``path`` cannot be read."""
    if not path.exists():
        raise DataIOError(f"bag {path} does not exist")
    try:
        reader = Reader(path)
    except FileNotFoundError:
        raise DataIOError(
            f"{path} is not a rosbag2 bag: its metadata.yaml is missing (a bag is a directory "
            "with metadata.yaml and .db3 or .mcap files; for an interrupted recording pass its "
            ".db3 / .mcap file itself, or run `ros2 bag reindex`)") from None
    except ReaderError:
        raise DataIOError(
            f"{path} is not a rosbag2 bag (expected a bag directory, or a .db3 / .mcap file)"
        ) from None
    try:
        reader.open()
    except _STORAGE_ERRORS as exc:
        raise DataIOError(f"bag {path} is corrupt or truncated: {exc}") from None
    return reader


def _topic_listing(reader: Reader) -> str:
    topics = reader.topics
    if not topics:
        return "none (the bag is empty)"
    return ", ".join(f"{name} ({info.msgtype})" for name, info in sorted(topics.items()))


def bag_topics_summary(path: str | Path) -> dict[str, tuple[str, int]]:
    """Topic -> (message type, message count) of a bag, sorted by topic."""
    path = Path(path)
    reader = _open_reader(path)
    try:
        return {
            name: (info.msgtype or " | ".join(sorted({c.msgtype for c in info.connections})),
                   info.msgcount)
            for name, info in sorted(reader.topics.items())
        }
    finally:
        reader.close()


def _parse_labels(text: str) -> dict[int, str] | _MalformedLabels:
    try:
        return parse_labels_json(text)
    except DataIOError as exc:
        return _MalformedLabels(str(exc))


class BagFrameReader:
    """Iterate over the synchronised frames of a rosbag2 (sqlite3 or mcap).

    For each rgb image: CameraInfo with the nearest stamp within ``slop_s`` (else the
    latest received before it), depth and instance images with the nearest header stamp
    within ``slop_s``, and the labels received nearest in log time (the latest before,
    or one within ``slop_s`` after). A stream that has not moved past an image's stamp
    after ``max_delay_s`` of log time is treated as missing for that image.

    Usage::

        reader = BagFrameReader(path)
        for frame in reader:
            ...
        print(reader.stats)

    The bag is checked on construction (DataIOError if it is not a readable bag or
    lacks the rgb topic); ``stats`` counts skips of the current or last iteration.
    """

    def __init__(
        self,
        path: str | Path,
        topics: BagTopics = _DEFAULT_TOPICS,
        slop_s: float = 0.02,
        *,
        max_delay_s: float = 0.5,
    ) -> None:
        if not slop_s >= 0 or not max_delay_s > 0:
            raise DataIOError(f"need slop_s >= 0 and max_delay_s > 0, got {slop_s}, {max_delay_s}")
        self.path = Path(path)
        self.topics = topics
        self.slop_ns = round(slop_s * 1e9)
        self.max_delay_ns = round(max_delay_s * 1e9)
        self.stats = ReadStats()
        self._cameras: dict[tuple[Any, ...], CameraIntrinsics | str] = {}
        reader = _open_reader(self.path)
        try:
            self._roles(reader)
        finally:
            reader.close()

    def _roles(self, reader: Reader) -> dict[int, str]:
        """Connection id -> role for the frame topics; checks the rgb topic exists."""
        topics = reader.topics
        rgb = topics.get(self.topics.rgb)
        if rgb is None:
            raise DataIOError(
                f"bag {self.path} has no rgb topic {self.topics.rgb!r}; topics in the bag: "
                f"{_topic_listing(reader)}. Pass BagTopics(rgb=...) to read another topic.")
        if rgb.msgtype != IMAGE:
            raise DataIOError(
                f"rgb topic {self.topics.rgb} of bag {self.path} has type {rgb.msgtype}; only "
                f"{IMAGE} is supported (decompress CompressedImage topics first)")
        expected = self.topics.msgtypes()
        role_of_topic = {getattr(self.topics, f.name): f.name for f in fields(self.topics)}
        roles = {}
        for connection in reader.connections:
            role = role_of_topic.get(connection.topic)
            if role is None or connection.msgcount == 0:
                continue
            if connection.msgtype != expected[connection.topic]:
                self.stats.note(f"topic {connection.topic} has type {connection.msgtype}, "
                                f"expected {expected[connection.topic]}; ignored")
                continue
            roles[connection.id] = role
        return roles

    def __iter__(self) -> Iterator[BagFrame]:
        self.stats = ReadStats()
        reader = _open_reader(self.path)
        try:
            roles = self._roles(reader)
            connections = [c for c in reader.connections if c.id in roles]
            sync = _Synchroniser(set(roles.values()), self.slop_ns, self.max_delay_ns)
            read_counts = dict.fromkeys(roles, 0)
            for connection, log_ns, raw in self._raw_messages(reader, connections):
                read_counts[connection.id] += 1
                item = self._deserialise(roles[connection.id], connection, log_ns, raw)
                if item is not None:
                    yield from self._frames(sync.add(roles[connection.id], item))
            yield from self._frames(sync.flush())
            self._check_counts(connections, read_counts)
        finally:
            reader.close()

    def _check_counts(self, connections: list[Connection], read_counts: dict[int, int]) -> None:
        """Storage backends can stop early on a garbled file; the index knows the truth."""
        for connection in connections:
            if read_counts[connection.id] < connection.msgcount:
                raise DataIOError(
                    f"bag {self.path} is corrupt or truncated: read {read_counts[connection.id]} "
                    f"of the {connection.msgcount} messages its index lists on "
                    f"{connection.topic} (the frames before the damage were yielded)")

    def _raw_messages(
        self, reader: Reader, connections: list[Connection]
    ) -> Iterator[tuple[Connection, int, bytes]]:
        messages = reader.messages(connections)
        while True:
            try:
                item = next(messages)
            except StopIteration:
                return
            except _STORAGE_ERRORS as exc:
                raise DataIOError(
                    f"bag {self.path} is corrupt or truncated ({type(exc).__name__}: {exc})"
                ) from None
            yield item

    def _deserialise(
        self, role: str, connection: Connection, log_ns: int, raw: bytes
    ) -> _Stamped | None:
        try:
            msg: Any = _typestore().deserialize_cdr(raw, connection.msgtype)
            if role == "labels":
                labels = _parse_labels(msg.data)
                if isinstance(labels, _MalformedLabels):
                    self.stats.malformed_labels += 1
                    self.stats.note(f"{connection.topic}: {labels.reason}")
                return _Stamped(log_ns, log_ns, labels)
            return _Stamped(_stamp_ns(msg), log_ns, msg)
        except _DESERIALIZE_ERRORS as exc:
            self.stats.skipped_corrupt += 1
            self.stats.note(f"{connection.topic}: message at {log_ns} ns is corrupt ({exc})")
            return None

    def _frames(self, matches: list[_Match]) -> Iterator[BagFrame]:
        for match in matches:
            frame = self._frame(match)
            if frame is not None:
                self.stats.frames_yielded += 1
                yield frame

    def _camera(self, msg: Any) -> CameraIntrinsics | str:
        """Intrinsics of a CameraInfo (cached per content), or why there are none."""
        key = (msg.header.frame_id, msg.width, msg.height, msg.distortion_model,
               tuple(np.asarray(msg.k).tolist()), tuple(np.asarray(msg.d).tolist()))
        if key not in self._cameras:
            if len(self._cameras) > _SMALL_BUFFER_LEN:
                self._cameras.clear()
            try:
                self._cameras[key] = camera_info_to_intrinsics(msg)
            except DataIOError as exc:
                self._cameras[key] = str(exc)
        return self._cameras[key]

    def _frame(self, match: _Match) -> BagFrame | None:
        stats = self.stats
        if match.camera_info is None:
            stats.skipped_no_camera_info += 1
            stats.note(f"no CameraInfo on {self.topics.camera_info} matched an rgb image")
            return None
        camera = self._camera(match.camera_info.msg)
        if isinstance(camera, str):
            stats.skipped_no_camera_info += 1
            stats.note(camera)
            return None
        image = match.rgb.msg
        try:
            rgb = to_rgb(image_to_numpy(image), image.encoding)
        except DataIOError as exc:
            stats.skipped_bad_encoding += 1
            stats.note(f"{self.topics.rgb}: {exc}")
            return None
        if rgb.shape[:2] != (camera.height, camera.width):
            stats.skipped_size_mismatch += 1
            stats.note(f"rgb image is {rgb.shape[1]}x{rgb.shape[0]} but CameraInfo says "
                       f"{camera.width}x{camera.height}")
            return None
        warnings: list[str] = []
        depth = self._single_channel(match.depth, "depth", tuple(DEPTH_SCALE_TO_M), camera,
                                     warnings)
        ids = self._single_channel(match.instances, "instances", _INSTANCE_READ_ENCODINGS,
                                   camera, warnings)
        stats.depth_missing += int(depth is None)
        stats.instances_missing += int(ids is None)
        depth_raw, depth_encoding = depth if depth is not None else (None, None)
        return BagFrame(
            stamp_ns=match.rgb.stamp_ns, rgb=rgb, camera=camera,
            depth_raw=depth_raw, depth_encoding=depth_encoding,
            instance_ids=None if ids is None else ids[0],
            id_to_label=self._labels(match.labels, warnings),
            warnings=tuple(warnings), log_time_ns=match.rgb.log_ns)

    def _single_channel(
        self, item: _Stamped | None, role: str, encodings: tuple[str, ...],
        camera: CameraIntrinsics, warnings: list[str],
    ) -> tuple[np.ndarray, str] | None:
        """The (H, W) array and encoding of a depth or instance image, or None (warned)."""
        if item is None:
            return None
        topic = getattr(self.topics, role)
        encoding = item.msg.encoding
        if encoding not in encodings:
            warnings.append(f"{topic}: encoding {encoding!r} is not one of {', '.join(encodings)}; "
                            "ignored")
            return None
        try:
            image = image_to_numpy(item.msg)
        except DataIOError as exc:
            warnings.append(f"{topic}: {exc}; ignored")
            return None
        if image.shape != (camera.height, camera.width):
            warnings.append(f"{topic}: image is {image.shape[1]}x{image.shape[0]}, rgb is "
                            f"{camera.width}x{camera.height} (not aligned to colour); ignored")
            return None
        return image, encoding

    @staticmethod
    def _labels(item: _Stamped | None, warnings: list[str]) -> dict[int, str] | None:
        if item is None:
            return None
        if isinstance(item.msg, _MalformedLabels):
            warnings.append(f"labels ignored: {item.msg.reason}")
            return None
        return dict(item.msg)


def read_frames(
    path: str | Path,
    topics: BagTopics = _DEFAULT_TOPICS,
    slop_s: float = 0.02,
    *,
    max_delay_s: float = 0.5,
) -> Iterator[BagFrame]:
    """Synchronised frames of a bag; see :class:`BagFrameReader` (which also has stats).

    The bag is checked at the call, not at the first ``next()``.
    """
    return iter(BagFrameReader(path, topics, slop_s, max_delay_s=max_delay_s))


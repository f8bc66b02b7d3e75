"""Write synchronised camera frames (and any other messages) to a new rosbag2.

:class:`BagFrameWriter` encodes rgb, depth, instance ids and labels on the topics of
a :class:`BagTopics` (the convention in the package docstring), validating a frame
before anything of it is written.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
from rosbags.interfaces import Connection
from rosbags.rosbag2 import StoragePlugin, Writer, WriterError
from rosbags.serde import SerdeError
from rosbags.typesys.store import Typestore

from ...core.camera import CameraIntrinsics
from ...core.errors import CoreError
from ...core.stamps import split_ns
from ..errors import DataIOError
from ..images import numpy_to_image_fields
from .topics import CAMERA_INFO, DEFAULT_TOPICS, IMAGE, STRING, BagTopics, ros2_typestore

_STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}
_DEPTH_ENCODINGS = ("32FC1", "16UC1")
_INSTANCE_ENCODINGS: dict[str, type[np.integer[Any]]] = {"16UC1": np.uint16, "32SC1": np.int32}
_RGB_ENCODINGS = ("rgb8", "bgr8")
_MM_PER_M = 1000.0


def _split_ns(stamp_ns: int) -> tuple[int, int]:
    """``(sec, nanosec)`` of a stamp; DataIOError for negative nanoseconds."""
    try:
        return split_ns(stamp_ns)
    except CoreError as error:
        raise DataIOError(str(error)) from None


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
        *,
        topics: BagTopics = DEFAULT_TOPICS,
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
        return ros2_typestore()

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
        *,
        depth_m: np.ndarray | None = None,
        instance_ids: np.ndarray | None = None,
        id_to_label: Mapping[int, str] | None = None,
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

"""Read synchronised camera frames from a rosbag2 (sqlite3 or mcap).

:class:`BagFrameReader` streams the bag's frame topics in log-time order through the
synchroniser (``sync``) and turns each match into a :class:`BagFrame`, counting what
it skips in :class:`ReadStats`; :func:`bag_topics_summary` lists a bag's topics.
Every failure of rosbags or its storage backends becomes a DataIOError.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from rosbags.interfaces import Connection
from rosbags.rosbag2 import Reader, ReaderError
from rosbags.serde import SerdeError

from ...core.camera import CameraIntrinsics
from ...core.capture import DEPTH_SCALE_TO_M, Capture, depth_to_metres
from ...core.stamps import stamp_to_ns
from ..errors import DataIOError
from ..images import camera_info_to_intrinsics, image_to_numpy, to_rgb
from ..labels import parse_labels_json
from .salvage import salvage
from .sync import Match, Stamped, Synchroniser
from .topics import DEFAULT_TOPICS, IMAGE, BagTopics, ros2_typestore

#: Integer single-channel encodings accepted as instance-id images when reading.
_INSTANCE_READ_ENCODINGS = ("16UC1", "32SC1", "mono16", "mono8", "8UC1", "16SC1")
#: Errors a corrupt or truncated storage file makes rosbags or its backends raise.
_STORAGE_ERRORS = (ReaderError, sqlite3.Error, OSError, struct.error, EOFError, ValueError,
                   KeyError, IndexError, ArithmeticError, AssertionError, TypeError)
_DESERIALIZE_ERRORS = (SerdeError, struct.error, ValueError, IndexError, TypeError)
_MAX_NOTES = 20
#: Distinct CameraInfo contents whose intrinsics are cached.
_MAX_CAMERAS = 32


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

    def decode_depth_m(self) -> np.ndarray | None:
        """Depth as (H, W) float32 metres, NaN where invalid (a new array), or None."""
        if self.depth_raw is None or self.depth_encoding is None:
            return None
        return depth_to_metres(self.depth_raw, self.depth_encoding)

    def to_capture(self) -> Capture:
        """The core :class:`Capture` (rgb, depth in metres, intrinsics, stamp); needs depth."""
        depth_m = self.decode_depth_m()
        if depth_m is None:
            raise DataIOError(
                f"frame at {self.stamp_ns} ns has no depth; estimate it with a depth model")
        return Capture(rgb=self.rgb, depth_m=depth_m, camera=self.camera,
                       stamp_ns=self.stamp_ns)


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


class _MalformedLabels(NamedTuple):
    reason: str


def _recording_file(path: Path) -> Path | None:
    """The one .mcap or .db3 file of a recording (the path itself, or the only one in a
    bag directory), or None."""
    if path.is_file():
        return path if path.suffix in (".mcap", ".db3") else None
    files = [p for p in path.iterdir() if p.suffix in (".mcap", ".db3")] if path.is_dir() \
        else []
    return files[0] if len(files) == 1 else None


def _open_reader(path: Path) -> Reader:
    """An open rosbags Reader, or a DataIOError saying why ``path`` cannot be read.

    A recording cut short (no metadata.yaml, a truncated mcap or sqlite3 file) is
    salvaged (:mod:`.salvage`): the reader reads every complete message up to the
    damage, and ``reader.salvage_note`` says so (None otherwise)."""
    if not path.exists():
        raise DataIOError(f"bag {path} does not exist")
    try:
        reader = Reader(path)
        reader.open()
    except FileNotFoundError:
        return _salvaged_reader(path, "its metadata.yaml is missing")
    except ReaderError as exc:
        if _recording_file(path) is None:
            raise DataIOError(f"{path} is not a rosbag2 bag (expected a bag directory, or a "
                              ".db3 / .mcap file)") from None
        return _salvaged_reader(path, str(exc))
    except _STORAGE_ERRORS as exc:
        return _salvaged_reader(path, str(exc))
    reader.salvage_note = None
    return reader


def _salvaged_reader(path: Path, why: str) -> Reader:
    """A reader on a salvaged copy of the recording at ``path`` (see :mod:`.salvage`)."""
    recording = _recording_file(path)
    if recording is None:
        raise DataIOError(
            f"{path} is not a rosbag2 bag ({why}; a bag is a directory with metadata.yaml "
            "and .db3 or .mcap files, or one such file)")
    try:
        copy = salvage(recording)
    except DataIOError as error:
        raise DataIOError(f"bag {path} is corrupt or truncated ({why}) and nothing could be "
                          f"salvaged: {error}") from None
    try:
        reader = Reader(copy.path)
        reader.open()
    except _STORAGE_ERRORS as exc:
        copy.close()
        raise DataIOError(f"bag {path} is corrupt or truncated ({why}) and could not be "
                          f"salvaged: {exc}") from None
    if not reader.message_count:
        reader.close()
        copy.close()
        raise DataIOError(f"bag {path} is corrupt or truncated ({why}) and nothing could be "
                          "salvaged: no complete message before the damage")
    reader.salvage_note = f"{copy.note} ({why})"
    reader.salvage_copy = copy  # the copy lives as long as the reader
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
        topics: BagTopics = DEFAULT_TOPICS,
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
            images = sorted(name for name, info in topics.items() if info.msgtype == IMAGE)
            hint = (f"choose one of its image topics ({', '.join(images)}) with --rgb-topic "
                    "(BagTopics(rgb=...) in Python)" if images else
                    "it records no sensor_msgs/msg/Image topic at all: record the camera's "
                    "rgb image (compressed images must be decompressed first)")
            raise DataIOError(
                f"bag {self.path} has no rgb topic {self.topics.rgb!r}; topics in the bag: "
                f"{_topic_listing(reader)}. {hint[0].upper()}{hint[1:]}.")
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
        if reader.salvage_note:
            self.stats.note(reader.salvage_note)
        try:
            roles = self._roles(reader)
            connections = [c for c in reader.connections if c.id in roles]
            sync = Synchroniser(set(roles.values()), self.slop_ns, self.max_delay_ns)
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
    ) -> Stamped | None:
        try:
            msg: Any = ros2_typestore().deserialize_cdr(raw, connection.msgtype)
            if role == "labels":
                labels = _parse_labels(msg.data)
                if isinstance(labels, _MalformedLabels):
                    self.stats.malformed_labels += 1
                    self.stats.note(f"{connection.topic}: {labels.reason}")
                return Stamped(log_ns, log_ns, labels)
            return Stamped(stamp_to_ns(msg.header.stamp), log_ns, msg)
        except _DESERIALIZE_ERRORS as exc:
            self.stats.skipped_corrupt += 1
            self.stats.note(f"{connection.topic}: message at {log_ns} ns is corrupt ({exc})")
            return None

    def _frames(self, matches: list[Match]) -> Iterator[BagFrame]:
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
            if len(self._cameras) > _MAX_CAMERAS:
                self._cameras.clear()
            try:
                self._cameras[key] = camera_info_to_intrinsics(msg)
            except DataIOError as exc:
                self._cameras[key] = str(exc)
        return self._cameras[key]

    def _frame(self, match: Match) -> BagFrame | None:
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
        self, item: Stamped | None, role: str, encodings: tuple[str, ...],
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
    def _labels(item: Stamped | None, warnings: list[str]) -> dict[int, str] | None:
        if item is None:
            return None
        if isinstance(item.msg, _MalformedLabels):
            warnings.append(f"labels ignored: {item.msg.reason}")
            return None
        return dict(item.msg)


def read_frames(
    path: str | Path,
    topics: BagTopics = DEFAULT_TOPICS,
    slop_s: float = 0.02,
    *,
    max_delay_s: float = 0.5,
) -> Iterator[BagFrame]:
    """Synchronised frames of a bag; see :class:`BagFrameReader` (which also has stats).

    The bag is checked at the call, not at the first ``next()``.
    """
    return iter(BagFrameReader(path, topics, slop_s, max_delay_s=max_delay_s))

"""Replay a rosbag2 (sqlite3 or mcap) onto live topics, without ``ros2 bag``.

Messages are read with ``rosbags`` and published as the *serialized* CDR bytes they
were recorded as (no deserialisation), by rclpy publishers of the recorded type,
keeping the recorded log-time spacing divided by ``rate``. Usage::

    rclpy.init()
    node = rclpy.create_node("player")
    player = BagPlayer(node, "my_bag", PlayOptions(rate=2.0, loop=True))
    player.wait_for_subscribers(5.0)
    summary = player.play(stop_event)        # returns when done or stop_event is set
    print(summary.text())

With ``loop``, every pass after the first shifts the header stamps (of messages that
start with a std_msgs/Header) by the pass's time offset, so stamps keep increasing as
on a live robot (``restamp_loops=False`` replays the recorded stamps each pass).

QoS: reliable (or best effort), keep-last ``qos_depth``, volatile; the latched topics
(by default the labels topic of the package's convention, plus every topic recorded
with transient-local durability) are published reliable + transient local, depth 1,
so late subscribers still get the last message. Topics whose message type cannot
be imported are skipped with a warning.

It lives with the nodes, not in ``offline``, because it publishes through rclpy:
``offline`` stays importable without ROS.
"""

from __future__ import annotations

import contextlib
import importlib
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.interfaces import QosDurability
from rosbags.rosbag2 import Reader, ReaderError

from ..io.bags import BagTopics, bag_topics_summary
from ..io.errors import DataIOError

#: Loop gap (s of bag time) for bags whose frame period cannot be inferred.
#: Pause after every subscriber is matched, for the other side of discovery [s].
_DISCOVERY_SETTLE_S = 0.5
_DEFAULT_LOOP_GAP_S = 0.1
#: Longest single sleep, so that a stop request is seen promptly.
_MAX_SLEEP_S = 0.1


@dataclass(frozen=True)
class PlayOptions:
    """How to replay. ``topics``: the bag topics to play (empty: all).

    ``remap``: bag topic -> published topic. ``latched_topics``: topics published
    reliable + transient local (depth 1). ``max_loops``: with ``loop``, stop after
    this many passes (0: until stopped). ``restamp_loops``: shift header stamps of
    later passes so they keep increasing.
    """

    rate: float = 1.0
    loop: bool = False
    topics: tuple[str, ...] = ()
    best_effort: bool = False
    qos_depth: int = 10
    latched_topics: tuple[str, ...] = (BagTopics().labels,)
    remap: tuple[tuple[str, str], ...] = ()
    max_loops: int = 0
    restamp_loops: bool = True

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise DataIOError(f"rate must be > 0, got {self.rate}")
        if self.qos_depth < 1:
            raise DataIOError(f"qos_depth must be >= 1, got {self.qos_depth}")
        if self.max_loops < 0:
            raise DataIOError(f"max_loops must be >= 0, got {self.max_loops}")


@dataclass
class PlaySummary:
    """What a replay did. ``published``: bag topic -> messages published."""

    published: dict[str, int] = field(default_factory=dict)
    skipped_topics: dict[str, str] = field(default_factory=dict)
    loops: int = 0
    wall_time_s: float = 0.0
    #: Largest lateness of a publication behind the schedule (s).
    max_lag_s: float = 0.0
    interrupted: bool = False

    def text(self) -> str:
        lines = [f"published {sum(self.published.values())} messages in "
                 f"{self.wall_time_s:.2f} s ({self.loops} pass(es)"
                 + (", interrupted" if self.interrupted else "")
                 + f", max lag {self.max_lag_s * 1e3:.0f} ms):"]
        width = max((len(t) for t in self.published), default=0)
        lines += [f"  {topic:<{width}}  {count}" for topic, count in sorted(self.published.items())]
        lines += [f"  skipped {topic}: {why}" for topic, why in sorted(self.skipped_topics.items())]
        return "\n".join(lines)


def message_class(type_name: str) -> type:
    """``"sensor_msgs/msg/Image"`` -> the rclpy message class; DataIOError if missing."""
    parts = type_name.split("/")
    if len(parts) == 2:  # "pkg/Type" (ROS 1 style names in some tools)
        parts = [parts[0], "msg", parts[1]]
    if len(parts) != 3 or not all(parts):
        raise DataIOError(f"{type_name!r} is not a message type name like "
                          "'sensor_msgs/msg/Image'")
    package, kind, name = parts
    try:
        module = importlib.import_module(f"{package}.{kind}")
    except ImportError:
        raise DataIOError(f"message type {type_name} is not installed (no Python module "
                          f"{package}.{kind}); install or build the package {package}") from None
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        raise DataIOError(f"message type {type_name} not found: {package}.{kind} has no {name}")
    return cls


def has_header(cls: type) -> bool:
    """Whether a message class starts with a std_msgs/Header (its stamp leads the CDR)."""
    fields = list(cls.get_fields_and_field_types().items())  # type: ignore[attr-defined]
    return bool(fields) and fields[0][1] == "std_msgs/Header"


#: CDR encapsulation (first two bytes) -> struct byte order; other kinds are left alone.
_CDR_BYTE_ORDER = {b"\x00\x00": ">", b"\x00\x01": "<"}


def shift_stamp(cdr: bytes, shift_ns: int) -> bytes:
    """A serialized message starting with a Header, with its stamp moved by ``shift_ns``.

    CDR puts the header's stamp (int32 sec, uint32 nanosec) right after the 4-byte
    encapsulation header; other encapsulations are returned unchanged.
    """
    order = _CDR_BYTE_ORDER.get(cdr[:2])
    if order is None or len(cdr) < 12 or not shift_ns:
        return cdr
    sec, nanosec = struct.unpack_from(order + "iI", cdr, 4)
    sec, nanosec = divmod(sec * 1_000_000_000 + nanosec + shift_ns, 1_000_000_000)
    if not -(2**31) <= sec < 2**31:
        return cdr
    return cdr[:4] + struct.pack(order + "iI", sec, nanosec) + cdr[12:]


def _recorded_latched(connection: Any) -> bool:
    profiles = getattr(getattr(connection, "ext", None), "offered_qos_profiles", None) or []
    return any(getattr(p, "durability", None) == QosDurability.TRANSIENT_LOCAL
               for p in profiles if not isinstance(p, str))


class BagPlayer:
    """Publishes a bag's messages on ``node`` (see the module docstring).

    The bag is opened and checked on construction: DataIOError for a missing or
    unreadable bag, or requested topics that the bag does not have, or nothing
    left to play. ``skipped`` lists topics whose type could not be imported.
    """

    def __init__(self, node: Node, bag: str | Path, options: PlayOptions = PlayOptions(),
                 warn: Callable[[str], None] | None = None) -> None:
        self.node = node
        self.path = Path(bag)
        self.options = options
        self._warn = warn or (lambda text: node.get_logger().warning(text))
        summary = bag_topics_summary(self.path)  # DataIOError with a clear message
        missing = [t for t in options.topics if t not in summary]
        if missing:
            listing = ", ".join(f"{t} ({ty})" for t, (ty, _) in summary.items()) or "none"
            raise DataIOError(f"bag {self.path} has no topic {', '.join(missing)}; topics in "
                              f"the bag: {listing}")
        wanted = set(options.topics) if options.topics else set(summary)
        remap = dict(options.remap)
        self.skipped: dict[str, str] = {}
        self.publishers: dict[str, Any] = {}
        self.output_topics: dict[str, str] = {}
        self._stamped: set[str] = set()
        reader = self._open()
        try:
            self._period_s = self._frame_period_s(reader)
            for topic in sorted(wanted):
                connections = [c for c in reader.connections if c.topic == topic]
                types = sorted({c.msgtype for c in connections})
                if len(types) != 1:
                    self._skip(topic, f"recorded with several types ({', '.join(types)})")
                    continue
                try:
                    cls = message_class(types[0])
                except DataIOError as error:
                    self._skip(topic, str(error))
                    continue
                latched = topic in options.latched_topics or any(
                    _recorded_latched(c) for c in connections)
                if has_header(cls):
                    self._stamped.add(topic)
                out_topic = remap.get(topic, topic)
                self.output_topics[topic] = out_topic
                self.publishers[topic] = node.create_publisher(cls, out_topic,
                                                               self._qos(latched))
        finally:
            reader.close()
        if not self.publishers:
            raise DataIOError(f"nothing to play from {self.path}: "
                              + ("; ".join(f"{t}: {w}" for t, w in self.skipped.items())
                                 or "the bag has no messages"))

    # --- set-up --------------------------------------------------------------
    def _open(self) -> Reader:
        try:
            reader = Reader(self.path)
            reader.open()
        except (ReaderError, OSError, ValueError, KeyError) as exc:
            raise DataIOError(f"cannot read bag {self.path}: {exc}") from None
        return reader

    def _skip(self, topic: str, reason: str) -> None:
        self.skipped[topic] = reason
        self._warn(f"skipping topic {topic}: {reason}")

    def _qos(self, latched: bool) -> QoSProfile:
        if latched:
            return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                              reliability=ReliabilityPolicy.RELIABLE,
                              durability=DurabilityPolicy.TRANSIENT_LOCAL)
        return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=self.options.qos_depth,
                          reliability=ReliabilityPolicy.BEST_EFFORT if self.options.best_effort
                          else ReliabilityPolicy.RELIABLE,
                          durability=DurabilityPolicy.VOLATILE)

    def _frame_period_s(self, reader: Reader) -> float:
        """Mean spacing of the busiest topic: the gap between two passes of a loop."""
        counts = [c.msgcount for c in reader.connections if c.msgcount]
        busiest = max(counts, default=0)
        if busiest < 2 or reader.duration <= 1:
            return _DEFAULT_LOOP_GAP_S
        return reader.duration * 1e-9 / (busiest - 1)

    # --- replay --------------------------------------------------------------
    def wait_for_subscribers(self, timeout_s: float, topics: Iterable[str] | None = None,
                             stop: threading.Event | None = None) -> list[str]:
        """Wait until each played (bag) topic has a subscriber; the topics still without one.

        Discovery is not symmetric: a publisher can count a subscription before that
        subscription has matched the publisher, and a reliable, volatile sample sent in
        between is lost. A short settling pause after the last match closes that gap.
        """
        topics = list(self.publishers) if topics is None else list(topics)
        deadline = time.monotonic() + timeout_s
        while True:
            waiting = [t for t in topics if self.publishers[t].get_subscription_count() == 0]
            if not waiting or time.monotonic() >= deadline or (stop and stop.is_set()):
                if not waiting:
                    time.sleep(_DISCOVERY_SETTLE_S)
                return waiting
            time.sleep(0.05)

    def play(self, stop: threading.Event | None = None) -> PlaySummary:
        """Publish until the bag ends (or every loop did), or ``stop`` is set."""
        stop = stop or threading.Event()
        opts = self.options
        summary = PlaySummary(published=dict.fromkeys(self.publishers, 0),
                              skipped_topics=dict(self.skipped))
        start = time.monotonic()
        offset_ns = 0  # bag time of the current pass relative to the first pass
        try:
            while not stop.is_set():
                span_ns = self._play_once(start, offset_ns, summary, stop)
                if span_ns is None:
                    break
                summary.loops += 1
                if not opts.loop or (opts.max_loops and summary.loops >= opts.max_loops):
                    break
                offset_ns += span_ns + round(self._period_s * 1e9)
        finally:
            summary.wall_time_s = time.monotonic() - start
            summary.interrupted = stop.is_set()
        return summary

    def _play_once(self, start: float, offset_ns: int, summary: PlaySummary,
                   stop: threading.Event) -> int | None:
        """One pass; its bag-time span (ns), or None if stopped before the end."""
        reader = self._open()
        try:
            connections = [c for c in reader.connections if c.topic in self.publishers]
            shift_ns = offset_ns if self.options.restamp_loops else 0
            first_ns = last_ns = None
            for connection, log_ns, raw in reader.messages(connections):
                if first_ns is None:
                    first_ns = log_ns
                last_ns = log_ns
                due = start + (offset_ns + log_ns - first_ns) * 1e-9 / self.options.rate
                if not _sleep_until(due, stop):
                    return None
                summary.max_lag_s = max(summary.max_lag_s, time.monotonic() - due)
                data = raw if isinstance(raw, bytes) else bytes(raw)
                if shift_ns and connection.topic in self._stamped:
                    data = shift_stamp(data, shift_ns)
                self.publishers[connection.topic].publish(data)
                summary.published[connection.topic] += 1
            return 0 if first_ns is None or last_ns is None else last_ns - first_ns
        finally:
            reader.close()

    def close(self, ack_timeout_s: float = 2.0) -> None:
        """Destroy the publishers (the node stays), once subscribers have what was sent.

        A reliable sample still in flight when its publisher goes away is lost: the last
        messages of a bag would be, on a busy machine. Waiting for acknowledgements (up
        to ``ack_timeout_s`` in all) delivers them; best-effort publishers return at once.
        """
        deadline = time.monotonic() + ack_timeout_s
        for publisher in self.publishers.values():
            remaining = deadline - time.monotonic()
            if remaining > 0:
                with contextlib.suppress(Exception):  # unsupported by some middlewares
                    publisher.wait_for_all_acked(Duration(nanoseconds=int(remaining * 1e9)))
            self.node.destroy_publisher(publisher)
        self.publishers.clear()


def _sleep_until(due: float, stop: threading.Event) -> bool:
    """Sleep until monotonic time ``due``; False if ``stop`` was set meanwhile."""
    while True:
        if stop.is_set():
            return False
        remaining = due - time.monotonic()
        if remaining <= 0:
            return True
        stop.wait(min(remaining, _MAX_SLEEP_S))


__all__ = ["BagPlayer", "PlayOptions", "PlaySummary", "has_header", "message_class",
           "shift_stamp"]

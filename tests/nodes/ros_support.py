"""Helpers for the tests that run real nodes in separate processes over real DDS.

Processes (:func:`node_command`, :func:`running`), service calls (:func:`call`,
:func:`wait_for_service`), and :class:`Probe`: a node in the test process that publishes
camera frames, watches a spatial node's outputs and calls its services.

Plain helpers, not fixtures (those are in ``conftest.py`` here); this folder is on
``sys.path`` (its conftest), so test modules import them as ``from ros_support import
Probe`` after their ``pytest.importorskip("rclpy")``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import CameraInfo, Image
from spatial_vqa_ros.msg import SceneGraph
from spatial_vqa_ros.srv import ComputeReward, QuerySpatial
from std_msgs.msg import String

from spatial_vqa_ros.core.stamps import split_ns, stamp_to_ns
from spatial_vqa_ros.io.bags import BagTopics
from spatial_vqa_ros.nodes.player import message_class

REPO = Path(__file__).resolve().parents[2]
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
#: Multiply an answer's value in this unit to get metres.
UNIT_TO_M = {"m": 1.0, "cm": 0.01, "mm": 0.001, "ft": 0.3048, "in": 0.0254}


def node_command(*ros_args: str) -> list[str]:
    """`spatial-vqa node` as a module call, so it runs with this interpreter."""
    return [sys.executable, "-m", "spatial_vqa_ros.cli", "node", "--ros-args", *ros_args]


@contextmanager
def running(command: list[str], log_path: Path, env: dict[str, str] | None = None):
    """Run a process for the duration of the block; its output goes to log_path.

    ``env``: variables to set for it on top of this process's environment."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})}, cwd=REPO)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def call(node: Node, client, request, timeout_s: float = 10.0):
    """Call a service and spin until the answer arrives (or fail the test)."""
    future = client.call_async(request)
    spin_until(node, future.done, timeout_s)
    if not future.done():
        raise AssertionError(f"no answer from {client.srv_name} within {timeout_s} s")
    return future.result()


def wait_for_service(client, log_path: Path, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.wait_for_service(timeout_sec=0.5):
            return
    raise AssertionError(f"service {client.srv_name} did not appear within {timeout_s} s; "
                         f"node log:\n{log_path.read_text(errors='replace')[-3000:]}")


def left_by_sync(values: dict[str, str]) -> int:
    """Messages the node's synchroniser dropped unmatched or still holds unmatched, over
    every topic (``<role>_unsynced``, ``<role>_waiting``): a frame that lost any of its
    topics on the way is among them, counted once per topic that did arrive."""
    return sum(int(v) for k, v in values.items()
               if k.endswith("_unsynced") or k.endswith("_waiting"))


#: Between two non-blocking spins [s]: at most a thousand callbacks a second.
_SPIN_PAUSE_S = 0.001


def spin_once_now(node: Node) -> None:
    """Run one ready callback of ``node``, if any, without waiting. A blocking
    ``spin_once(timeout_sec=t)`` waits on a timer the executor makes for ``t`` and loops
    until that timer reports ready; full test runs hung there for minutes, the main
    thread busy inside ``wait_set.wait`` in every py-spy sample and out of
    pytest-timeout's reach, so the tests spin without it."""
    rclpy.spin_once(node, timeout_sec=0.0)


def spin_for(node: Node, seconds: float) -> None:
    """Run ``node``'s callbacks for ``seconds`` (wall clock)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        spin_once_now(node)
        time.sleep(_SPIN_PAUSE_S)


#: How long spin_until spins between two looks at its condition [s]: the longest the
#: blocking spin it replaces waited. Some conditions publish a frame each time (a node
#: with a real detector fell behind at one every millisecond).
_CONDITION_EVERY_S = 0.05


def spin_until(node: Node, condition: Callable[[], Any], timeout_s: float) -> Any:
    """Spin ``node`` until ``condition()`` is truthy or ``timeout_s`` passes; its last value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        spin_for(node, min(_CONDITION_EVERY_S, max(deadline - time.monotonic(), 0.0)))
    return condition()


def bag_frames(path: Path) -> list[dict[str, tuple[str, bytes]]]:
    """The raw messages of a bag grouped by log time: per frame, topic -> (type, cdr)."""
    reader = Reader(path)
    reader.open()
    try:
        messages = [(c.topic, c.msgtype, t, bytes(raw)) for c, t, raw in reader.messages()]
    finally:
        reader.close()
    return [{topic: (msgtype, raw) for topic, msgtype, _, raw in group}
            for _, group in groupby(messages, key=lambda m: m[2])]


class Probe:
    """A node in the test process, wired to one spatial node (``ns``: its namespace)."""

    def __init__(self, name: str, ns: str = "", topics: BagTopics = BagTopics()) -> None:
        self.node = rclpy.create_node(name)
        self.topics = topics
        base = f"{ns}/spatial_vqa"
        self.graphs: list[Any] = []
        self.diagnostics: list[Any] = []
        # deep enough for a burst: a node emptying its input queue after a stall
        # publishes graphs faster than this process may take them, and a keep-last
        # reader of 10 would lose some that were sent
        self.node.create_subscription(SceneGraph, f"{base}/scene_graph", self.graphs.append,
                                      QoSProfile(depth=100,
                                                 reliability=ReliabilityPolicy.RELIABLE))
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append,
                                      RELIABLE)
        self.query_client = self.node.create_client(QuerySpatial, f"{base}/query")
        self.reward_client = self.node.create_client(ComputeReward, f"{base}/compute_reward")
        self._publishers: dict[str, Any] = {}

    def destroy(self) -> None:
        self.node.destroy_node()

    # --- publishing -----------------------------------------------------------
    def publisher(self, topic: str, msg_type: type, qos: QoSProfile = RELIABLE):
        if topic not in self._publishers:
            self._publishers[topic] = self.node.create_publisher(msg_type, topic, qos)
        return self._publishers[topic]

    def frame_publishers(self, frame: dict[str, tuple[str, bytes]]) -> list[str]:
        """Create the publishers a frame of :func:`bag_frames` needs; their topics."""
        for topic, (msgtype, _) in frame.items():
            qos = LATCHED if topic == self.topics.labels else RELIABLE
            self.publisher(topic, message_class(msgtype), qos)
        return sorted(frame)

    def publish_raw(self, frame: dict[str, tuple[str, bytes]]) -> None:
        """Publish one frame of :func:`bag_frames` (labels latched, the rest reliable)."""
        self.frame_publishers(frame)
        for topic, (_, raw) in sorted(frame.items()):
            self._publishers[topic].publish(raw)

    def publish_labels(self, text: str) -> None:
        self.publisher(self.topics.labels, String, LATCHED).publish(String(data=text))

    def publish_image(self, topic: str, stamp: int, array: np.ndarray, encoding: str,
                      frame_id: str = "cam_optical") -> None:
        array = np.ascontiguousarray(array)
        msg = Image(height=array.shape[0], width=array.shape[1], encoding=encoding,
                    is_bigendian=0, step=array.strides[0])
        msg.header.stamp.sec, msg.header.stamp.nanosec = split_ns(stamp)
        msg.header.frame_id = frame_id
        msg.data = array.tobytes()
        self.publisher(topic, Image).publish(msg)

    def publish_frame(self, stamp: int, rendered, *, camera_info: bool = True,
                      rgb: tuple[np.ndarray, str] | None = None,
                      depth: tuple[np.ndarray, str] | None = None) -> None:
        """Publish a ``synthetic.RenderedFrame`` (rgb8, 32FC1, 16UC1 ids) stamped ``stamp``;
        ``rgb`` / ``depth`` replace an image by (array, encoding). A frame without
        ``instance_ids`` (a real camera's, ``io.samples.RgbdSample``) publishes none."""
        cam = rendered.camera
        if camera_info:
            msg = CameraInfo(width=cam.width, height=cam.height, distortion_model="plumb_bob")
            msg.header.stamp.sec, msg.header.stamp.nanosec = split_ns(stamp)
            msg.header.frame_id = cam.frame_id
            msg.k = cam.k_matrix.ravel().tolist()
            msg.p = np.hstack([cam.k_matrix, np.zeros((3, 1))]).ravel().tolist()
            msg.r = np.eye(3).ravel().tolist()
            msg.d = [0.0] * 5
            self.publisher(self.topics.camera_info, CameraInfo).publish(msg)
        rgb = rgb or (rendered.rgb, "rgb8")
        depth = depth or (rendered.depth_m.astype(np.float32), "32FC1")
        self.publish_image(self.topics.rgb, stamp, *rgb, frame_id=cam.frame_id)
        self.publish_image(self.topics.depth, stamp, *depth, frame_id=cam.frame_id)
        if getattr(rendered, "instance_ids", None) is not None:
            self.publish_image(self.topics.instances, stamp,
                               rendered.instance_ids.astype(np.uint16), "16UC1",
                               frame_id=cam.frame_id)

    def frame_topics(self) -> list[str]:
        """Create the publishers :meth:`publish_frame` uses; their topics."""
        self.publisher(self.topics.camera_info, CameraInfo)
        for topic in (self.topics.rgb, self.topics.depth, self.topics.instances):
            self.publisher(topic, Image)
        return [self.topics.camera_info, self.topics.rgb, self.topics.depth,
                self.topics.instances]

    def wait_for_subscribers(self, topics: list[str], timeout_s: float = 20.0) -> None:
        self.wait_for(lambda: all(self._publishers[t].get_subscription_count() > 0
                                  for t in topics), timeout_s, f"subscribers on {topics}")

    # --- waiting and reading --------------------------------------------------
    def wait_for(self, condition: Callable[[], Any], timeout_s: float, what: str,
                 log_path: Path | None = None) -> Any:
        """Spin until ``condition()`` is truthy; return its value (or fail the test)."""
        value = spin_until(self.node, condition, timeout_s)
        if value:
            return value
        log = f"\nnode log:\n{log_path.read_text(errors='replace')[-3000:]}" if log_path else ""
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}{log}")

    def diagnostic_values(self) -> dict[str, str]:
        """Key/values of the latest spatial_vqa diagnostic status ({} if none yet)."""
        for array in reversed(self.diagnostics):
            for status in array.status:
                if "scene graph" in status.name:
                    return {kv.key: kv.value for kv in status.values} | {
                        "message": status.message}
        return {}

    def graph_for(self, stamp: int) -> Any:
        """The latest scene graph of the frame stamped ``stamp`` (ns), or None.

        Matched within 1 us: the node carries stamps as float seconds (~0.2 us steps).
        """
        return next((g for g in reversed(self.graphs)
                     if abs(stamp_to_ns(g.header.stamp) - stamp) < 1000), None)

    def call(self, client, request, timeout_s: float = 10.0):
        return call(self.node, client, request, timeout_s)

    def query(self, timeout_s: float = 10.0, **fields: str):
        return self.call(self.query_client, QuerySpatial.Request(**fields), timeout_s)

    def reward(self, timeout_s: float = 10.0, **fields: Any):
        return self.call(self.reward_client, ComputeReward.Request(**fields), timeout_s)


def answer_metres(reply) -> float:
    """A measure's answer value in metres."""
    assert reply.success, reply.error_message
    return reply.value * UNIT_TO_M[reply.unit]


def labels_json(labels: dict[int, str]) -> str:
    return json.dumps({str(k): v for k, v in labels.items()})


def spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    rho = spearmanr(a, b).statistic
    return float(rho) if math.isfinite(rho) else 0.0


def prefixed_topics(prefix: str) -> BagTopics:
    """The camera topics of the convention under ``prefix`` (one set per test)."""
    default = BagTopics()
    return BagTopics(rgb=prefix + default.rgb, camera_info=prefix + default.camera_info,
                     depth=prefix + default.depth, instances=prefix + default.instances,
                     labels=prefix + default.labels)


def node_topic_args(topics: BagTopics) -> list[str]:
    """``-p name:=topic`` ROS arguments pointing the node at ``topics``."""
    return ["-p", f"rgb_topic:={topics.rgb}", "-p", f"camera_info_topic:={topics.camera_info}",
            "-p", f"depth_topic:={topics.depth}", "-p", f"instances_topic:={topics.instances}",
            "-p", f"labels_topic:={topics.labels}"]

"""The DDS mode of ``bench_graph_rate.py``: a recording played over DDS into the node.

A rendered moving sequence (odometry included) is written as a bag and its raw messages
are published from this process at the camera's rate into ``spatial-vqa node`` in its
own process, with the slow simulation detector. Reported per mode: the share of the
streamed frames that got a scene graph, and the latency from a frame's send to its
graph's arrival here (p50/p99: what the camera stamp to publish would be with a camera
stamping at send), and the node's own ``/diagnostics`` counts (frames dropped, and in
tracked mode frames dropped by its input queue).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
NS = "/bench_graph_rate"
NODE = (sys.executable, "-m", "spatial_vqa_ros.cli", "node")


@dataclass
class DdsRun:
    """One play: what was sent and what came back (monotonic seconds, stamps in ns)."""

    sent_s: dict[int, float] = field(default_factory=dict)
    graphs: list[tuple[float, int]] = field(default_factory=list)
    diagnostics: dict[str, str] = field(default_factory=dict)

    def summary(self) -> tuple[float, float, float]:
        """Share of the streamed frames with a graph, latency p50 and p99 (ms)."""
        sent = np.array(sorted(self.sent_s), np.int64)
        got: dict[int, float] = {}
        for t, stamp in self.graphs:  # the node carries stamps as float seconds: +-1 us
            k = int(np.clip(np.searchsorted(sent, stamp), 1, len(sent) - 1)) if len(sent) > 1 \
                else 0
            near = min(sent[max(k - 1, 0):k + 1], key=lambda s: abs(int(s) - stamp),
                       default=None)
            if near is not None and abs(int(near) - stamp) < 1000:
                got.setdefault(int(near), t)
        latencies = [t - self.sent_s[s] for s, t in got.items()]
        p50, p99 = (np.percentile(latencies, (50, 99)) * 1e3 if latencies
                    else (np.nan, np.nan))
        return len(got) / max(len(self.sent_s), 1), float(p50), float(p99)


@dataclass(frozen=True)
class Recording:
    """What is played: raw frames (``_bag_frames``), their topics, odometry topic, rate."""

    frames: list
    topics: object
    odom: str
    rate_hz: float
    detector_s: float


def _bag_frames(path: Path) -> list[dict[str, tuple[str, bytes]]]:
    """The raw messages of a bag grouped by log time: per frame, topic -> (type, cdr)."""
    from rosbags.rosbag2 import Reader

    reader = Reader(path)
    reader.open()
    try:
        messages = [(c.topic, c.msgtype, t, bytes(raw)) for c, t, raw in reader.messages()]
    finally:
        reader.close()
    return [{topic: (msgtype, raw) for topic, msgtype, _, raw in group}
            for _, group in groupby(messages, key=lambda m: m[2])]


def _node_args(mode: str, topics, odom: str) -> list[str]:
    from spatial_vqa_ros.synthetic.doubles import SLOW_DETECTOR

    args = ["--ros-args", "-r", f"__ns:={NS}", "-p", "qos:=reliable",
            "-p", f"rgb_topic:={topics.rgb}", "-p", f"camera_info_topic:={topics.camera_info}",
            "-p", f"depth_topic:={topics.depth}", "-p", f"instances_topic:={topics.instances}",
            "-p", f"labels_topic:={topics.labels}", "-p", f"odometry_topic:={odom}",
            "-p", f"detector:={SLOW_DETECTOR}", "-p", "segmenter:=simulation",
            "-p", f"live_mode:={mode}"]
    return args + (["-p", "keyframe_every_s:=1.0"] if mode == "tracked" else [])


def play_over_dds(recording: Recording, mode: str, log: Path, *,
                  node: tuple[str, ...] = NODE) -> DdsRun | None:
    """Start the node (``node`` + its arguments), play the recording, collect."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from spatial_vqa_ros.msg import SceneGraph

    from spatial_vqa_ros.core.stamps import stamp_to_ns
    from spatial_vqa_ros.nodes.player import message_class
    from spatial_vqa_ros.nodes.runner import stop_process
    from spatial_vqa_ros.synthetic.doubles import DELAY_ENV

    frames, topics, odom = recording.frames, recording.topics, recording.odom
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
    run = DdsRun()
    with open(log, "wb") as out:
        proc = subprocess.Popen([*node, *_node_args(mode, topics, odom)], stdout=out,
                                stderr=subprocess.STDOUT, cwd=REPO,
                                env={**os.environ, DELAY_ENV: str(recording.detector_s)})
    probe = rclpy.create_node("bench_graph_rate_probe")
    try:
        probe.create_subscription(
            SceneGraph, f"{NS}/spatial_vqa/scene_graph",
            lambda g: run.graphs.append((time.monotonic(), stamp_to_ns(g.header.stamp))),
            QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        diagnostics: list = []
        probe.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
        publishers = {topic: probe.create_publisher(
            message_class(msgtype), topic, latched if topic == topics.labels else reliable)
            for topic, (msgtype, _) in frames[0].items()}

        def spin(seconds: float, until=lambda: False) -> bool:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not until():
                rclpy.spin_once(probe, timeout_sec=0.01)
            return until()

        def send(frame) -> None:
            for topic, (_, raw) in sorted(frame.items()):
                publishers[topic].publish(raw)

        # both sides of discovery: the publisher sees the reader before the reader has
        # matched the publisher, so wait a little longer than the counts say
        if not spin(60, lambda: all(p.get_subscription_count() > 0
                                    for t, p in publishers.items() if t != odom)
                    and proc.poll() is None):
            print(f"{mode}: the node did not subscribe; log: {log}", file=sys.stderr)
            return None
        spin(0.5)
        for _ in range(10):  # the first image may beat its CameraInfo: resend until it counts
            send(frames[0])
            if spin(2.0, lambda: run.graphs):
                break
        if not run.graphs:
            print(f"{mode}: no first graph; log: {log}", file=sys.stderr)
            return None
        start = time.monotonic()
        for k, frame in enumerate(frames[1:], start=1):
            spin(start + k / recording.rate_hz - time.monotonic())
            run.sent_s[_stamp(frame)] = time.monotonic()
            send(frame)
        last = _stamp(frames[-1])
        spin(5.0, lambda: any(abs(s - last) < 1000 for _, s in run.graphs))
        spin(1.5)  # one more diagnostics period
        for array in reversed(diagnostics):
            values = {kv.key: kv.value for s in array.status if "scene graph" in s.name
                      for kv in s.values}
            if values:
                run.diagnostics = values
                break
        return run
    finally:
        probe.destroy_node()
        stop_process(proc)


def _stamp(frame) -> int:
    """The header stamp (ns) of a frame's images: the rgb message is decoded for it."""
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import Image

    from spatial_vqa_ros.core.stamps import stamp_to_ns

    for msgtype, raw in frame.values():
        if msgtype == "sensor_msgs/msg/Image":
            return stamp_to_ns(deserialize_message(raw, Image).header.stamp)
    raise ValueError(f"a frame without an image: {sorted(frame)}")


def section_graph_rate_dds(frames_n: int, size_wh: tuple[int, int], *, seed: int,
                           rate_hz: float, detector_s: float, modes: list[str]) -> None:
    import rclpy

    from spatial_vqa_ros.io.bags.topics import BagTopics
    from spatial_vqa_ros.synthetic.bags import write_synthetic_bag

    default = BagTopics()
    topics = BagTopics(*(NS + getattr(default, f) for f in
                         ("rgb", "camera_info", "depth", "instances", "labels")))
    odom = NS + "/camera/odom"
    with tempfile.TemporaryDirectory() as tmp:
        bag = write_synthetic_bag(Path(tmp) / "sequence", "sequence", frames=frames_n,
                                  seed=seed, noise=True, rate_hz=rate_hz, width=size_wh[0],
                                  height=size_wh[1], topics=topics, odom_topic=odom)
        frames = _bag_frames(bag.path)
        recording = Recording(frames, topics, odom, rate_hz, detector_s)
        print(f"\n## graph_rate over DDS: {len(frames) - 1} frames of a {size_wh[0]}x"
              f"{size_wh[1]} moving sequence streamed at {rate_hz:g} Hz (reliable) into "
              f"`spatial-vqa node`, slow simulation detector {detector_s:g} s, simulation "
              f"masks, odometry; send -> graph received; Fast DDS profile: "
              f"{os.environ.get('FASTRTPS_DEFAULT_PROFILES_FILE') or 'default'}", flush=True)
        rclpy.init()
        try:
            for mode in modes:
                run = play_over_dds(recording, mode, Path(tmp) / f"{mode}.log")
                if run is None:
                    continue
                share, p50, p99 = run.summary()
                d = run.diagnostics
                print(f"  {mode:7s}  graphs {share:6.1%} of {len(run.sent_s)} frames   "
                      f"send -> graph p50 {p50:6.0f} ms  p99 {p99:6.0f} ms   node: "
                      f"frames_dropped {d.get('frames_dropped', '?')}, queue_dropped "
                      f"{d.get('input_queue_dropped', '-')}, rgb_unsynced "
                      f"{d.get('rgb_unsynced', '-')}, tracker step "
                      f"{d.get('tracker_latency_median_ms', '-')} ms, detector "
                      f"{d.get('detector_rate_hz', '?')} Hz", flush=True)
        finally:
            rclpy.shutdown()

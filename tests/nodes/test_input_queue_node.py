"""The tracked node's input queue over DDS: a worker stall longer than the queue fills it
(the burst waits instead of being overwritten), then its oldest frames are dropped,
counted and reported in /diagnostics with a warning: every frame without a graph is
accounted for. (That the frames of short stalls all get graphs is
test_live_tracking_node.py's graph share.)"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("spatial_vqa_ros.srv", reason="interfaces not built (colcon build)")

from ros_support import (  # noqa: E402
    Probe,
    bag_frames,
    left_by_sync,
    node_command,
    node_topic_args,
    prefixed_topics,
    running,
    spin_for,
    spin_until,
    wait_for_service,
)
from stall_doubles import STALL_AFTER_ENV, STALL_S_ENV  # noqa: E402

from spatial_vqa_ros.core.stamps import stamp_to_ns  # noqa: E402
from spatial_vqa_ros.synthetic.bags import write_synthetic_bag  # noqa: E402
from spatial_vqa_ros.synthetic.doubles import DELAY_ENV, SLOW_DETECTOR  # noqa: E402

pytestmark = pytest.mark.ros
RATE_HZ, FRAMES, QUEUE, STALL_AT, STALL_S = 15.0, 45, 8, 20, 1.0


def test_a_worker_stall_queues_the_burst_and_drops_only_the_overflow_counted(tmp_path, ros):
    topics = prefixed_topics("/inqueue")
    odom = "/inqueue/camera/odom"
    bag = write_synthetic_bag(tmp_path / "sequence", "sequence", frames=FRAMES, seed=5,
                              noise=True, rate_hz=RATE_HZ, width=320, height=240,
                              topics=topics, odom_topic=odom)
    frames = bag_frames(bag.path)
    log = tmp_path / "node.log"
    command = node_command("-r", "__ns:=/inqueue", "-p", "qos:=reliable",
                           *node_topic_args(topics), "-p", f"odometry_topic:={odom}",
                           "-p", f"detector:={SLOW_DETECTOR}", "-p", "segmenter:=simulation",
                           "-p", "live_mode:=tracked", "-p", "keyframe_every_s:=1.0",
                           "-p", "tracker:=stall_doubles:StallingTracker",
                           "-p", f"input_queue_frames:={QUEUE}")
    env = {DELAY_ENV: "0.3", STALL_S_ENV: str(STALL_S),
           STALL_AFTER_ENV: str(bag.stamps_ns[STALL_AT]),
           "PYTHONPATH": f"{Path(__file__).parent}:{os.environ.get('PYTHONPATH', '')}"}
    with running(command, log, env=env) as proc:
        probe = Probe("input_queue_probe", "/inqueue", topics)
        try:
            wait_for_service(probe.query_client, log)
            probe.wait_for_subscribers([t for t in probe.frame_publishers(frames[0])
                                        if t != odom], 30.0)
            spin_until(probe.node, lambda: False, 0.5)  # the reader side of discovery
            for _ in range(5):  # the first image may beat its CameraInfo: send it again
                probe.publish_raw(frames[0])
                if spin_until(probe.node, lambda: probe.graphs, 2.0):
                    break
            probe.wait_for(lambda: probe.graphs, 1.0, "a first scene graph", log)
            start = time.monotonic()
            for k, frame in enumerate(frames[1:], start=1):
                probe.publish_raw(frame)
                spin_for(probe.node, start + k / RATE_HZ - time.monotonic())
            probe.wait_for(lambda: probe.graph_for(bag.stamps_ns[-1]), 30.0,
                           "the last frame's graph", log)
            spin_until(probe.node, lambda: False, 1.5)  # one more diagnostics period
            values = probe.diagnostic_values()
            assert proc.poll() is None, "the node stopped"
        finally:
            probe.destroy()
    text = log.read_text(errors="replace")
    assert "stalling the worker" in text, text[-2000:]
    streamed = bag.stamps_ns[1:]
    graphed = {stamp_to_ns(g.header.stamp) for g in probe.graphs}
    missing = [s for s in streamed if not any(abs(s - t) < 1000 for t in graphed)]
    dropped = int(values["input_queue_dropped"])
    # the stall (15 frame periods) filled the queue, then its oldest frames made way ...
    assert values["input_queue_frames"] == str(QUEUE)
    assert values["input_queue_most_waiting"] == str(QUEUE)
    assert dropped >= 1 and int(values["frames_dropped"]) >= dropped
    # ... and every frame without a graph is counted: dropped by the queue, or (on a
    # loaded machine) left unmatched by the synchroniser or failed
    accounted = (int(values["frames_dropped"]) + int(values["errors"])
                 + left_by_sync(values))
    assert len(missing) <= accounted, (len(missing), {k: v for k, v in values.items()
                                                      if "drop" in k or "unsynced" in k
                                                      or k == "errors"})
    assert float(values["frames_dropped_pct"]) > 0
    warnings = [s.message for a in probe.diagnostics for s in a.status
                if "scene graph" in s.name]
    assert any(m.startswith("the worker falls behind the camera: the input queue "
                            f"({QUEUE} frames) is full") for m in warnings), warnings


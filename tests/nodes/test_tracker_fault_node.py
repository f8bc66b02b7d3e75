"""A tracker that fails for a while, in the node's tracked mode over DDS (issue 21,
faults): a failing frame publishes no graph (the last one stands), /diagnostics says
ERROR with the reason while the latest frame has failed (seven frames, longer than the
1 s diagnostics period) and goes back once a frame succeeds, and the node stays alive."""

from __future__ import annotations

import time

import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("spatial_vqa_ros.srv", reason="interfaces not built (colcon build)")

from diagnostic_msgs.msg import DiagnosticStatus  # noqa: E402
from ros_support import (  # noqa: E402
    Probe,
    bag_frames,
    left_by_sync,
    node_command,
    node_topic_args,
    prefixed_topics,
    running,
    spin_for,
    wait_for_service,
)

from spatial_vqa_ros.core.stamps import stamp_to_ns  # noqa: E402
from spatial_vqa_ros.synthetic.bags import write_synthetic_bag  # noqa: E402
from spatial_vqa_ros.synthetic.doubles import FlakyDepthFlowTracker  # noqa: E402

pytestmark = pytest.mark.ros
FLAKY_TRACKER = "spatial_vqa_ros.synthetic.doubles:FlakyDepthFlowTracker"
RATE_HZ, FRAMES = 6.0, 30


def _levels(probe: Probe) -> list[tuple[int, str]]:
    return [(status.level, status.message) for array in probe.diagnostics
            for status in array.status if "scene graph" in status.name]


def test_a_failing_tracker_frame_keeps_the_last_graph_and_reports_error(tmp_path, ros):
    topics = prefixed_topics("/trackfault")
    bag = write_synthetic_bag(tmp_path / "sequence", "sequence", frames=FRAMES, seed=5,
                              rate_hz=RATE_HZ, width=160, height=120, topics=topics)
    frames = bag_frames(bag.path)
    log = tmp_path / "node.log"
    command = node_command("-r", "__ns:=/trackfault", "-p", "qos:=reliable",
                           *node_topic_args(topics), "-p", "live_mode:=tracked",
                           "-p", f"tracker:={FLAKY_TRACKER}")
    with running(command, log) as proc:
        probe = Probe("tracker_fault_probe", "/trackfault", topics)
        try:
            wait_for_service(probe.query_client, log)
            probe.wait_for_subscribers([t for t in probe.frame_publishers(frames[0])
                                        if t != bag.odom_topic], 30.0)
            start = time.monotonic()
            for k, frame in enumerate(frames):
                probe.publish_raw(frame)
                spin_for(probe.node, start + (k + 1) / RATE_HZ - time.monotonic())
            probe.wait_for(lambda: probe.graph_for(bag.stamps_ns[-1]), 5.0,
                           "the last frame's graph", log)
            time.sleep(0.3)
            spin_for(probe.node, 0.1)
            before = len(probe.diagnostics)  # a report made after the last frame's graph
            values = probe.wait_for(lambda: len(probe.diagnostics) > before
                                    and probe.diagnostic_values(), 5.0,
                                    "a report after the last frame", log)
            assert proc.poll() is None, "the node stopped"
        finally:
            probe.destroy()
    published = {stamp_to_ns(g.header.stamp) for g in probe.graphs}
    # the first frame may come before the node's sync has every topic: judge the rest
    missing = [k for k, s in enumerate(bag.stamps_ns) if k > 0
               and not any(abs(s - t) < 1000 for t in published)]
    # seven tracker calls in a row fail: seven consecutive frames publish no graph. Any
    # other frame without one was dropped or failed and said so in the counts (under
    # CI's load an image may beat its CameraInfo, or its reader drop it), never lost
    # silently; here at most two, apart from the run
    failing = len(FlakyDepthFlowTracker.FAILING_CALLS)
    runs, run = [], []
    for k in missing:
        run = run + [k] if run and k == run[-1] + 1 else [k]
        runs.append(run)
    assert max(map(len, runs), default=0) == failing, missing
    assert len(missing) - failing <= 2, missing
    accounted = sum(int(values.get(k, 0)) for k in ("frames_dropped", "errors")) \
        + left_by_sync(values)
    assert len(missing) <= accounted, (missing, values)
    levels = _levels(probe)
    errors = [message for level, message in levels if level == DiagnosticStatus.ERROR]
    assert errors and all("the latest frame failed" in m or "failed since the last report"
                          in m for m in errors), levels
    # the one other failure a run may see: the first frame, come before the node's
    # CameraInfo (a start-up race on a loaded machine); every other ERROR is the tracker's
    tracker_errors = [m for m in errors if "simulated tracker failure" in m]
    assert tracker_errors, errors
    assert all(m in tracker_errors or "no CameraInfo received" in m for m in errors), errors
    assert levels[-1][0] != DiagnosticStatus.ERROR, "the last frames succeeded"

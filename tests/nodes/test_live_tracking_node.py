"""The node in tracked mode over DDS: a moving recording played at 8 Hz into a node whose
detector takes 1 s a frame gets a scene graph for nearly every frame (its input queue
rides out the worker's stalls; a frame it drops is counted), with objects from the
first detection on, while the detector completes about one frame a second. Each object
says its mask was tracked and how old its detection is (growing between detections),
and the query service refuses an object detected longer ago than max_detection_age_s."""

from __future__ import annotations

import time

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

from spatial_vqa_ros.core.stamps import stamp_to_ns  # noqa: E402
from spatial_vqa_ros.synthetic.bags import write_synthetic_bag  # noqa: E402
from spatial_vqa_ros.synthetic.doubles import DELAY_ENV, SLOW_DETECTOR  # noqa: E402

pytestmark = pytest.mark.ros
RATE_HZ, FRAMES, DETECTOR_S = 8.0, 40, 1.0
#: Shorter than any tracked mask's age here (a detection is 1 s old when it arrives).
MAX_AGE_S = 0.3


def test_tracked_mode_publishes_a_graph_for_most_frames_with_a_one_second_detector(
        tmp_path, ros):
    topics = prefixed_topics("/livetrack")
    odom = "/livetrack/camera/odom"
    bag = write_synthetic_bag(tmp_path / "sequence", "sequence", frames=FRAMES, seed=3,
                              noise=True, rate_hz=RATE_HZ, width=320, height=240,
                              topics=topics, odom_topic=odom)
    frames = bag_frames(bag.path)
    log = tmp_path / "node.log"
    command = node_command("-r", "__ns:=/livetrack", "-p", "qos:=reliable",
                           *node_topic_args(topics), "-p", f"odometry_topic:={odom}",
                           "-p", f"detector:={SLOW_DETECTOR}", "-p", "segmenter:=simulation",
                           "-p", "live_mode:=tracked", "-p", "keyframe_every_s:=1.0",
                           "-p", f"max_detection_age_s:={MAX_AGE_S}")
    with running(command, log, env={DELAY_ENV: str(DETECTOR_S)}) as proc:
        probe = Probe("live_tracking_probe", "/livetrack", topics)
        try:
            wait_for_service(probe.query_client, log)
            probe.wait_for_subscribers([t for t in probe.frame_publishers(frames[0])
                                        if t != odom], 30.0)
            # the labels (latched) and a first frame before the stream; the topics of one
            # frame travel on separate DDS readers, so the image may beat its CameraInfo
            # (then that frame is dropped, as it should be): send it again until it counts
            for _ in range(5):
                probe.publish_raw(frames[0])
                if spin_until(probe.node, lambda: probe.graphs, 2.0):
                    break
            probe.wait_for(lambda: probe.graphs, 1.0, "a first scene graph", log)
            start = time.monotonic()
            for k, frame in enumerate(frames[1:], start=1):
                probe.publish_raw(frame)
                spin_for(probe.node, start + k / RATE_HZ - time.monotonic())
            # the end of the stream: one of its last frames' graphs (under load a frame
            # whose odometry came too late is skipped, said in the log and counted). In
            # about one full run of three, none of them came within 15 s and the node
            # logged nothing after its last keyframe, as if the tail of the stream (each
            # frame is five topics on separate DDS readers) never made a frame. As with
            # the first frame, the last one is sent again until one of them counts; a
            # node that stopped working still fails here.
            def tail_graph():
                return any(probe.graph_for(s) for s in bag.stamps_ns[-3:])

            for _ in range(6):
                if spin_until(probe.node, tail_graph, 5.0):
                    break
                probe.publish_raw(frames[-1])
            probe.wait_for(tail_graph, 15.0, "a graph of the last three frames", log)
            time.sleep(0.2)
            spin_for(probe.node, 0.1)
            before = len(probe.diagnostics)  # a report made after the last frame's graph
            values = probe.wait_for(lambda: len(probe.diagnostics) > before
                                    and probe.diagnostic_values().get("detector_rate_hz")
                                    and probe.diagnostic_values(), 5.0,
                                    "tracked-mode diagnostics", log)
            seen = [o for o in probe.graphs[-1].objects if o.visible]
            assert len(seen) >= 2, "the last graph shows fewer than two objects"
            stale = probe.query(relation="distance", subject=f"#{seen[0].id}",
                                object=f"#{seen[1].id}")
            assert proc.poll() is None, "the node stopped"
        finally:
            probe.destroy()
    streamed = set(bag.stamps_ns[1:])
    stamps = {stamp_to_ns(g.header.stamp): len(g.objects) for g in probe.graphs}
    got = [s for s in sorted(streamed) if any(abs(s - t) < 1000 for t in stamps)]
    # A serial chain would give about one graph a second (1/8 of the frames). Tracked,
    # each frame's work takes ~20 ms of CPU, but on this shared 2-core machine the worker
    # is at times held off the CPU for 0.1-1 s; the frames arriving meanwhile wait in
    # the input queue (8 frames) instead of overwriting each other (one slot: 74-77% with
    # two CPU hogs). Measured with the queue: 100% in 4 of 4 runs; beside two CPU hogs
    # 87-100% in 3 runs, and 62% in one with a slower depth_flow (a step of 270 ms, twice
    # the frame period: the worker truly fell behind, and said so). The floor sits below.
    assert len(got) >= 0.5 * len(streamed), f"{len(got)}/{len(streamed)} " + " ".join(
        f"{k}={v}" for k, v in values.items()
        if "ms" in k or "frames" in k or "rate" in k or "queue" in k)
    with_objects = [t for t, n in stamps.items() if n]
    assert with_objects, "no graph with objects"
    first = min(with_objects)
    assert all(n >= 1 for t, n in stamps.items() if t > first)
    detections = int(values["keyframe_detections"])
    # a serial chain would publish one graph per detection: tracked, several times that
    assert len(got) >= 3 * detections, (len(got), detections)
    assert values["live_mode"] == "tracked" and float(values["tracker_latency_median_ms"]) > 0
    assert float(values["detector_rate_hz"]) <= 1.5 / DETECTOR_S
    # the graph and input rates while the stream ran: the last report may come long after
    # it ended (when its tail had to be sent again), when the recent rates have decayed
    # (a full run failed so: input_rate_hz 0.0 in that last report)
    assert max(reported(probe, "graph_rate_hz")) > 2 * float(values["detector_rate_hz"])
    assert max(reported(probe, "input_rate_hz")) > 0
    assert values["input_queue_frames"] == "8"
    # a frame without a graph was dropped by the queue or the synchroniser (counted) or
    # failed (an error), never lost silently (message_filters, where installed, says
    # nothing of what it drops)
    accounted = [int(values[k]) for k in ("frames_dropped", "errors")]
    assert len(streamed) - len(got) <= sum(accounted) + left_by_sync(values)
    _assert_ages_grow_between_detections(probe.graphs)
    assert not stale.success
    assert "was last detected" in stale.error_message, stale.error_message
    assert f"limit max_detection_age_s = {MAX_AGE_S:g} s" in stale.error_message


def _assert_ages_grow_between_detections(graphs) -> None:
    """Every visible object's mask is tracked (an asynchronous detection comes back for a
    frame already published: its masks are brought forward, tracked, as old as the
    detector's delay), out-of-view ones say "", and each object's detection age grows
    by about a frame period from graph to graph, falling back when a detection lands."""
    sources, rising, falling = set(), 0, 0
    last_age: dict[int, tuple[int, float]] = {}
    for g in sorted(graphs, key=lambda g: stamp_to_ns(g.header.stamp)):
        stamp = stamp_to_ns(g.header.stamp)
        for o in g.objects:
            sources.add((o.visible, o.mask_source))
            if not o.visible:
                continue
            if o.id in last_age:
                before_ns, before = last_age[o.id]
                step_s = (stamp - before_ns) * 1e-9
                if abs(o.detection_age_s - before - step_s) < 0.02:
                    rising += 1
                elif o.detection_age_s < before:
                    falling += 1
            last_age[o.id] = (stamp, o.detection_age_s)
    assert sources <= {(True, "tracked"), (False, "")}, sources
    assert (True, "tracked") in sources
    assert rising >= 20 and falling >= 1, (rising, falling)


def reported(probe, key: str) -> list[float]:
    """Every value of ``key`` in the node's scene-graph diagnostics reports so far."""
    return [float(kv.value) for array in probe.diagnostics for status in array.status
            if "scene graph" in status.name for kv in status.values if kv.key == key]


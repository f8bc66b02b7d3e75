"""The two-rate chain on rendered moving sequences: the serial chain's objects on
keyframes and tracked ones between, steps that never wait for a slow detector, new
objects and label changes at keyframes, tracker faults and late detections."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from spatial_vqa_ros.core.live import HistoryConfig, KeyframePolicy
from spatial_vqa_ros.perception.chain import PerceptionChain
from spatial_vqa_ros.perception.depth import SensorDepth
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.live_chain import LiveChain, LiveConfig
from spatial_vqa_ros.perception.simulation import SimulationDetector, SimulationSegmenter
from spatial_vqa_ros.perception.trackers.depth_flow import DepthFlowTracker
from spatial_vqa_ros.perception.types import SensorInputs
from spatial_vqa_ros.synthetic.doubles import SlowSimulationDetector

sys.path.insert(0, str(Path(__file__).parent / "trackers"))
from tracking_support import PERIOD_NS, rendered, world_from_camera

T0_NS = 1_700_000_000_000_000_000
EVERY_8 = KeyframePolicy(every_n_frames=8, every_s=0.0)
NEVER_AGAIN = KeyframePolicy(every_n_frames=0, every_s=0.0, lost_tracks_min=0,
                             view_translation_m=0.0, view_rotation_deg=0.0,
                             view_image_change=0.0)


def chain_with(detector=None) -> PerceptionChain:
    return PerceptionChain(SensorDepth(), detector or SimulationDetector(),
                           SimulationSegmenter())


def frame_inputs(seq, k: int, hidden_ids: tuple[int, ...] = ()) -> SensorInputs:
    r = seq.rendered[k]
    ids = r.instance_ids.copy()
    ids[np.isin(ids, hidden_ids)] = 0  # the detector does not see them (yet)
    return SensorInputs(r.rgb, r.camera, r.depth_m, ids, r.id_to_label)


def step(live: LiveChain, seq, k: int, prompts=(), **kwargs):
    return live.step(frame_inputs(seq, k, **kwargs), prompts, T0_NS + k * PERIOD_NS,
                     world_from_camera(seq.scenes[k]))


def best_iou(mask: np.ndarray, label: str, result) -> float:
    obs = result.observations
    ious = [(mask & m).sum() / max((mask | m).sum(), 1)
            for m, other in zip(obs.masks, obs.labels) if other == label]
    return float(max(ious, default=0.0))


def test_synchronous_mode_gives_the_serial_objects_on_keyframes_and_tracks_between():
    seq = rendered("sequence", 16, 3)
    chain = chain_with()
    live = LiveChain(chain, DepthFlowTracker(), LiveConfig(policy=EVERY_8))
    between, ids_first = [], None
    for k in range(16):
        result = step(live, seq, k)
        serial = chain.run(frame_inputs(seq, k), (), T0_NS + k * PERIOD_NS)
        assert result.live.keyframe == (k % 8 == 0)
        if result.live.keyframe:
            assert sorted(result.observations.labels) == sorted(serial.observations.labels)
            assert all(best_iou(m, label, result) == 1.0 for m, label in
                       zip(serial.observations.masks, serial.observations.labels))
            assert {o.origin for o in result.live.objects} == {"detected"}
            assert all(o.detection_age_s == 0.0 for o in result.live.objects)
        else:
            between += [best_iou(m, label, result) for m, label in
                        zip(serial.observations.masks, serial.observations.labels)]
            assert {o.origin for o in result.live.objects} == {"tracked"}
            assert all(o.detection_age_s == pytest.approx((k % 8) * PERIOD_NS * 1e-9)
                       for o in result.live.objects)
        ids = set(result.observations.source_ids.tolist())
        ids_first = ids if ids_first is None else ids_first
        assert ids <= ids_first  # the same objects keep their track ids across keyframes
    assert len(between) >= 14 * 4
    assert np.mean(between) >= 0.85 and np.mean(np.array(between) >= 0.7) >= 0.9


def test_asynchronous_steps_never_wait_for_a_slow_detector_and_objects_follow_it():
    delay_s, n = 0.3, 18
    seq = rendered("sequence", n, 3)
    live = LiveChain(chain_with(SlowSimulationDetector(delay_s)), DepthFlowTracker(),
                     LiveConfig(policy=EVERY_8, asynchronous=True))
    try:
        results, step_s = [], []
        start = time.perf_counter()
        for k in range(n):
            before = time.perf_counter()
            results.append(step(live, seq, k))
            step_s.append(time.perf_counter() - before)
            time.sleep(max(0.0, PERIOD_NS * 1e-9 - step_s[-1]))  # a 15 Hz camera
        total_s = time.perf_counter() - start
    finally:
        live.close()
    assert max(step_s) < delay_s / 2, step_s  # generous: a step is ~10 ms here
    assert total_s < 0.5 * n * delay_s  # the detector ran beside the frames
    arrived = next(k for k, r in enumerate(results) if r.live.reconciled_stamp_ns)
    assert results[arrived].live.reconciled_stamp_ns == T0_NS  # the first keyframe's
    assert arrived >= 3 and all(len(r.observations) == 0 for r in results[:arrived])
    # on arrival, or from the next frame when bringing them forward ran past the budget
    counts = [len(r.observations) for r in results]
    assert all(c >= 4 for c in counts[arrived + 1:]), (arrived, counts)
    # frames tracked while a later detection ran: the two rates overlapped
    assert any(r.live.detection_in_flight and len(r.observations) for r in results[arrived:])
    values = live.diagnostics()
    assert float(values["detector_rate_hz"]) > 0 and int(values["keyframe_detections"]) >= 2
    assert float(values["tracker_latency_median_ms"]) > 0


def test_a_new_object_is_added_at_the_next_keyframe():
    seq = rendered("sequence", 9, 3)
    ids, counts = np.unique(seq.rendered[0].instance_ids, return_counts=True)
    newcomer = int(ids[1:][np.argmax(counts[1:])])  # the largest object, not the floor (0)
    label = seq.rendered[0].id_to_label[newcomer]
    live = LiveChain(chain_with(), DepthFlowTracker(), LiveConfig(policy=KeyframePolicy(
        every_n_frames=4, every_s=0.0)))
    seen = []
    for k in range(9):
        result = step(live, seq, k, hidden_ids=(newcomer,) if k < 4 else ())
        seen.append(len(result.observations))
        truth = seq.rendered[k].instance_ids == newcomer
        if k == 4:
            assert result.live.keyframe and best_iou(truth, label, result) == 1.0
        elif k > 4:
            assert best_iou(truth, label, result) > 0.6  # tracked on
    assert seen[4] == seen[3] + 1


def test_changing_the_labels_forces_a_keyframe_and_retires_the_other_labels():
    seq = rendered("sequence", 6, 3)
    live = LiveChain(chain_with(), DepthFlowTracker(), LiveConfig(policy=NEVER_AGAIN))
    labels = [step(live, seq, k).observations.labels for k in range(3)]
    assert len(set(labels[0])) >= 2
    wanted = labels[0][0]
    changed = step(live, seq, 3, prompts=(wanted,))
    assert changed.live.keyframe and changed.live.keyframe_reason == "labels"
    assert set(changed.observations.labels) == {wanted}
    assert not step(live, seq, 4, prompts=(wanted,)).live.keyframe


def test_without_a_pose_a_new_view_in_the_images_forces_a_keyframe():
    """No odometry or TF: the image-change measure (core.live.view_change) sees the
    camera turn to another part of the room; a still view never triggers it."""
    still, other = rendered("sequence", 1, 3), rendered("sequence", 1, 11)
    policy = KeyframePolicy(every_n_frames=0, every_s=0.0, lost_tracks_min=0,
                            view_image_change=0.5)
    live = LiveChain(chain_with(), DepthFlowTracker(), LiveConfig(policy=policy))
    frames = [frame_inputs(still, 0)] * 4 + [frame_inputs(other, 0)] * 2
    results = [live.step(f, (), T0_NS + k * PERIOD_NS) for k, f in enumerate(frames)]
    assert [r.live.keyframe for r in results] == [True, False, False, False, True, False]
    assert results[4].live.keyframe_reason == "view_change"


class _FailingOnce(DepthFlowTracker):
    """depth_flow, raising on its third track() like a model out of memory."""

    name = "failing_once"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def track(self, frame):
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("simulated tracker failure")
        return super().track(frame)


def test_a_tracker_that_raises_fails_that_step_by_name_and_the_next_frame_works():
    seq = rendered("sequence", 6, 3)
    live = LiveChain(chain_with(), _FailingOnce(), LiveConfig(policy=NEVER_AGAIN),
                     new_tracker=DepthFlowTracker)
    counts = [len(step(live, seq, k).observations) for k in range(3)]
    with pytest.raises(PerceptionError, match=r"track \(failing_once\) failed: RuntimeError: "
                       "simulated tracker failure"):
        step(live, seq, 3)
    after = step(live, seq, 4)
    assert len(after.observations) == counts[0] and counts[0] >= 4
    assert {o.origin for o in after.live.objects} == {"tracked"}


class _GatedDetector(SimulationDetector):
    """The simulation detector, holding its answer until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def detect(self, inputs, prompts):
        self.gate.wait(timeout=10.0)
        return super().detect(inputs, prompts)


def _run_until_reconciled(live: LiveChain, seq, first: int, detector: _GatedDetector):
    detector.gate.set()
    results, k, deadline = [], first, time.monotonic() + 10.0
    while time.monotonic() < deadline and k < len(seq.rendered):
        results.append(step(live, seq, k))
        k += 1
        if results[-1].live.reconciled_stamp_ns is not None:
            break
        time.sleep(0.05)
    return results, k


def test_a_detection_for_a_stamp_evicted_from_the_history_is_reconciled_and_logged():
    seq = rendered("sequence", 14, 3)
    detector, notes = _GatedDetector(), []
    live = LiveChain(chain_with(detector), DepthFlowTracker(),
                     # a budget no machine load exhausts: this test is about the
                     # evicted stamp, not the budget (see the test after it)
                     LiveConfig(policy=NEVER_AGAIN, history=HistoryConfig(max_frames=3),
                                forward_budget_s=30.0, asynchronous=True),
                     log=lambda level, message: notes.append((level, message)))
    try:
        for k in range(6):  # the keyframe (frame 0) leaves the 3-frame history
            assert len(step(live, seq, k).observations) == 0
        results, _ = _run_until_reconciled(live, seq, 6, detector)
    finally:
        live.close()
    last = results[-1]
    assert last.live.reconciled_stamp_ns == T0_NS and last.live.reconcile_status == "evicted"
    assert len(last.observations) >= 4  # reconciled, not dropped
    assert any(level == "warn" and f"keyframe detection at {T0_NS} ns reconciled against"
               in message and "evicted" in message for level, message in notes), notes


def test_masks_past_the_forward_budget_appear_from_the_next_frame_on():
    seq = rendered("sequence", 14, 3)
    detector, notes = _GatedDetector(), []
    live = LiveChain(chain_with(detector), DepthFlowTracker(),
                     LiveConfig(policy=NEVER_AGAIN, forward_budget_s=0.0, asynchronous=True),
                     log=lambda level, message: notes.append((level, message)))
    try:
        for k in range(3):
            step(live, seq, k)
        results, k = _run_until_reconciled(live, seq, 3, detector)
        arrival = results[-1]
        following = step(live, seq, k)
    finally:
        live.close()
    assert arrival.live.reconcile_status == "exact" and len(arrival.observations) == 0
    assert len(following.observations) >= 4
    assert {o.origin for o in following.live.objects} == {"tracked"}
    assert any("appears from the next frame on" in message for _, message in notes), notes


def test_a_stamp_that_goes_back_starts_tracks_and_keyframes_over():
    seq = rendered("sequence", 4, 3)
    live = LiveChain(chain_with(), DepthFlowTracker(), LiveConfig(policy=NEVER_AGAIN))
    for k in range(3):
        step(live, seq, k)
    again = step(live, seq, 0)
    assert again.live.keyframe and again.live.keyframe_reason == "first"
    assert len(again.observations) >= 4


@pytest.mark.parametrize(("changes", "message"), [
    ({"forward_budget_s": -0.1}, "forward_budget_s must be a finite number of seconds >= 0"),
    ({"forward_budget_s": float("nan")}, "forward_budget_s must be a finite number"),
    ({"forward_max_stride": 0}, "forward_max_stride must be a whole number >= 1"),
])
def test_bad_live_settings_are_refused_by_name(changes, message):
    with pytest.raises(PerceptionError, match=message):
        LiveConfig(**changes)


class _FailingFirst(SimulationDetector):
    """The simulation detector, failing its first call (the labels not received yet)."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, inputs, prompts):
        self.calls += 1
        if self.calls == 1:
            raise PerceptionError("no labels received yet")
        return super().detect(inputs, prompts)


def test_a_failed_keyframe_detection_is_retried_on_the_next_frame_not_a_period_later():
    seq = rendered("sequence", 4, 3)
    live = LiveChain(chain_with(_FailingFirst()), DepthFlowTracker(),
                     LiveConfig(policy=NEVER_AGAIN))
    with pytest.raises(PerceptionError, match="no labels received yet"):
        step(live, seq, 0)  # inline: the keyframe's frame fails as a serial chain's would
    second = step(live, seq, 1)  # NEVER_AGAIN: only the retry makes this a keyframe
    assert second.live.keyframe_reason == "detection_failed"
    assert len(second.observations) >= 4


def test_a_failed_asynchronous_detection_is_retried_on_the_frame_that_learns_of_it():
    seq = rendered("sequence", 4, 3)
    notes: list[tuple[str, str]] = []
    live = LiveChain(chain_with(_FailingFirst()), DepthFlowTracker(),
                     LiveConfig(policy=NEVER_AGAIN, forward_budget_s=30.0, asynchronous=True),
                     log=lambda level, message: notes.append((level, message)))
    try:
        assert len(step(live, seq, 0).observations) == 0
        _wait_idle(live)
        second = step(live, seq, 1)
        assert second.live.keyframe_reason == "detection_failed"
        assert any("failed" in m and "detecting again on the next frame" in m
                   for _, m in notes), notes
        _wait_idle(live)
        assert len(step(live, seq, 2).observations) >= 4
    finally:
        live.close()


def _wait_idle(live: LiveChain, timeout_s: float = 10.0) -> None:
    """Until the detection in flight has finished (it is picked up by the next step)."""
    deadline = time.monotonic() + timeout_s
    while live._slot._future is not None and not live._slot._future.done():
        assert time.monotonic() < deadline, "the detection did not finish"
        time.sleep(0.01)

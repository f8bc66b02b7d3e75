"""Accuracy at camera rate with a slow detector, simulated in stamp time: the delayed
hand-over itself, distances between tracked objects under a gliding, panning camera,
and the reward between a robot frame and a tracked cube (approach and push)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from spatial_vqa_ros.core.live import KeyframePolicy
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.live_chain import LiveChain, LiveConfig
from spatial_vqa_ros.perception.simulation import SimulationSegmenter
from spatial_vqa_ros.perception.trackers.depth_flow import DepthFlowTracker
from spatial_vqa_ros.perception.types import SensorInputs
from spatial_vqa_ros.synthetic.live_scoring import (
    PERIOD_NS,
    T0_NS,
    RunFigures,
    TrackMatch,
    detection_chain,
    glide_and_pan,
    live_chain,
    play_frames,
    reward_run,
    run_sequence,
    tracked,
)
from spatial_vqa_ros.synthetic.scenes import random_camera

sys.path.insert(0, str(Path(__file__).parent / "trackers"))
from tracking_support import rendered, world_from_camera

ONE_HZ = KeyframePolicy(every_n_frames=15, every_s=1.0)


def moving(seed: int, n: int, pan_rad: float):
    camera = random_camera(np.random.default_rng(seed), 320, 240)
    return play_frames(glide_and_pan(seed, n, camera, pan_rad=pan_rad), seed)


def test_a_detection_delayed_in_stamp_time_arrives_at_its_keyframe_stamp_plus_the_delay():
    seq = rendered("sequence", 18, 3)
    live = LiveChain(detection_chain(SimulationSegmenter()), DepthFlowTracker(),
                     LiveConfig(policy=ONE_HZ, detection_delay_s=1.0,
                                forward_budget_s=10.0))  # brought forward in full
    results = []
    for k in range(18):
        r = seq.rendered[k]
        inputs = SensorInputs(r.rgb, r.camera, r.depth_m, r.instance_ids, r.id_to_label)
        results.append(live.step(inputs, (), T0_NS + k * PERIOD_NS,
                                 world_from_camera(seq.scenes[k])))
    first = 15  # 15 x 66.67 ms is the first stamp >= the keyframe's + 1 s
    assert all(len(r.observations) == 0 and r.live.detection_in_flight
               for r in results[:first])
    assert [r.live.keyframe for r in results[:first]] == [True] + [False] * (first - 1)
    assert results[first].live.reconciled_stamp_ns == T0_NS
    assert all(len(r.observations) >= 4 for r in results[first:])
    ages = [o.detection_age_s for o in results[first].live.objects]
    assert ages == pytest.approx([first * PERIOD_NS * 1e-9] * len(ages))


@pytest.mark.parametrize(("changes", "message"), [
    ({"detection_delay_s": -1.0}, r"detection_delay_s must be a finite number of seconds "
                                  r">= 0, got -1.0"),
    ({"detection_delay_s": float("nan")}, "detection_delay_s must be a finite number"),
    ({"detection_delay_s": 1.0, "asynchronous": True},
     "detection_delay_s simulates a slow detector in stamp time and needs "
     "asynchronous=False"),
])
def test_a_bad_detection_delay_is_refused_by_name(changes, message):
    with pytest.raises(PerceptionError, match=message):
        LiveConfig(**changes)


def test_a_track_is_scored_as_the_instance_under_most_of_its_mask_for_its_life():
    ids = np.zeros((4, 6), np.int32)
    ids[:, :3], ids[:, 3:] = 7, 9

    class Result:
        def __init__(self, masks, source_ids):
            self.observations = type("Obs", (), {"masks": masks,
                                                 "source_ids": np.array(source_ids)})

    mostly_7 = np.zeros((4, 6), bool)
    mostly_7[:, :4] = True  # 12 pixels of 7, 4 of 9
    half_background = np.zeros((4, 6), bool)
    half_background[:, 5] = True
    match = TrackMatch()
    match.update(Result(np.stack([mostly_7]), [1]), ids)
    match.update(Result(np.stack([~mostly_7, mostly_7]), [1, 2]), ids)  # 1 kept as 7
    assert match.truth_of == {1: 7, 2: 7}
    ids[:, 4:] = 0
    match.update(Result(np.stack([half_background]), [3]), ids)
    assert match.truth_of[3] == -1 and match.unmatched == 1


def test_tracked_distances_with_a_1_s_detector_stay_within_25_percent():
    played = moving(seed=0, n=30, pan_rad=0.2)  # 2 s: half the bench's pan rate
    figures = RunFigures()
    run_sequence(played, tracked(live_chain()), figures, by_track=True)
    assert figures.frames == 30 and figures.frames_after_first == 15  # first arrives at 1 s
    assert figures.objects_share == 1.0
    # measured 86.8% of 205 since the benchmark judges pairs with the camera, as the
    # service does (bb5d000): it now states the pairs of a book lying on a crate, whose
    # depth_box mask takes strips of the crate's top beside it (centre 12 cm off, in
    # both modes; open in issue 21). Before, 95.1% of the pairs then stated.
    assert figures.pairs >= 20 and figures.distance_success >= 0.85, figures.scores.summary()
    assert figures.unmatched_tracks == 0


@pytest.mark.parametrize(("kind", "n"), [("approach", 30), ("push", 45)])
def test_the_reward_from_a_robot_frame_to_a_tracked_cube_follows_the_true_gap(kind, n):
    est, true = reward_run(kind, seed=0, n=n, size=(320, 240),
                           perceive=tracked(live_chain(policy=ONE_HZ)))
    valid = np.isfinite(est)
    assert not valid[:15].any() and valid[15:].all()  # from the first detection, each frame
    apart = valid & (true > 1e-3)
    assert apart.sum() >= 5
    assert spearmanr(est[apart], true[apart]).statistic >= 0.95
    assert np.median(np.abs(est[valid] - true[valid])) <= 0.03  # the pushed cube followed


def test_pairs_are_scored_as_the_gate_states_them_with_the_refused_counted():
    figures = RunFigures()
    scores = figures.scores
    scores.add_measure("distance", 1.0, 1.0)  # a whole pair the gate states
    scores.add_measure("stated.distance", 1.0, 1.0)
    scores.add_measure("distance", 2.0, 1.0)  # a whole pair the gate refuses (stale)
    scores.partial_pairs["distance"] += 2  # two with a cut object: one stated, one not
    scores.add_measure("stated.distance", 1.1, 1.0)
    assert figures.pairs == 2 and figures.distance_success == 1.0
    assert figures.refused == 2
    assert figures.whole_pairs == 2 and figures.whole_success == 0.5

"""Keyframe choice in stamp time: periodic, on demand, held, never lost, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.errors import CoreError
from spatial_vqa_ros.core.live.errors import LiveError
from spatial_vqa_ros.core.live.keyframes import (
    KeyframeDecision,
    KeyframePolicy,
    KeyframeSelector,
)

#: Every trigger off, so a test turns on only the one it checks.
QUIET = dict(every_n_frames=0, every_s=0.0, min_interval_s=0.0, lost_tracks_min=0,
             lost_share_min=0.0, view_translation_m=0.0, view_rotation_deg=0.0,
             view_image_change=0.0)


def _stamp(i: int, hz: float = 15.0) -> int:
    return 1_000_000_000 + round(i * 1e9 / hz)


def _keyframes(selector: KeyframeSelector, frames: int, hz: float = 15.0,
               **per_frame: dict) -> list[int]:
    """Frame indices chosen; ``per_frame[name][i]`` gives decide()'s argument on frame i."""
    chosen = []
    for i in range(frames):
        kwargs = {name: values[i] for name, values in per_frame.items() if i in values}
        if selector.decide(_stamp(i, hz), i, **kwargs).is_keyframe:
            chosen.append(i)
    return chosen


def _pose(x_m: float = 0.0, yaw_deg: float = 0.0) -> np.ndarray:
    c, s = np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))
    pose = np.eye(4)
    pose[:2, :2] = [[c, -s], [s, c]]
    pose[0, 3] = x_m
    return pose


def test_the_first_frame_is_always_a_keyframe() -> None:
    decision = KeyframeSelector(KeyframePolicy(**QUIET)).decide(_stamp(0), 0)
    assert decision == KeyframeDecision(True, "first", "", 0)


def test_every_n_frames() -> None:
    selector = KeyframeSelector(KeyframePolicy(**{**QUIET, "every_n_frames": 5}))
    assert _keyframes(selector, 17) == [0, 5, 10, 15]


def test_every_s_counts_stamp_time_not_frames() -> None:
    selector = KeyframeSelector(KeyframePolicy(**{**QUIET, "every_s": 1.0}))
    assert _keyframes(selector, 25, hz=10.0) == [0, 10, 20]
    dropped = KeyframeSelector(KeyframePolicy(**{**QUIET, "every_s": 1.0}))
    # frames 1-8 never arrive (dropped live): the next keyframe is still 1 s after the first
    chosen = [i for i in [0, 9, 10, 11, 19, 20, 21]
              if dropped.decide(_stamp(i, 10.0), i).is_keyframe]
    assert chosen == [0, 10, 20]


def test_newly_lost_tracks_force_a_keyframe_once() -> None:
    selector = KeyframeSelector(KeyframePolicy(**{**QUIET, "lost_tracks_min": 1}))
    lost = {3: [7], 4: [7], 5: [7], 8: [7, 9]}
    decisions = [selector.decide(_stamp(i), i, lost_ids=lost.get(i, ()), track_count=3)
                 for i in range(10)]
    assert [i for i, d in enumerate(decisions) if d.is_keyframe] == [0, 3, 8]
    assert decisions[3].reason == "lost_tracks" and decisions[8].reason == "lost_tracks"


def test_a_share_of_lost_tracks_forces_a_keyframe() -> None:
    selector = KeyframeSelector(KeyframePolicy(**{**QUIET, "lost_share_min": 0.5}))
    assert _keyframes(selector, 4, lost_ids={1: [1], 2: [1, 2]},
                      track_count={1: 4, 2: 4}) == [0, 2]


def test_changing_the_labels_forces_a_keyframe() -> None:
    selector = KeyframeSelector(KeyframePolicy(**{**QUIET, "every_n_frames": 100}))
    versions = {i: (("cup",) if i < 6 else ("cup", "bowl")) for i in range(12)}
    decisions = [selector.decide(_stamp(i), i, labels_version=versions[i]) for i in range(12)]
    assert [i for i, d in enumerate(decisions) if d.is_keyframe] == [0, 6]
    assert decisions[6].reason == "labels"


def test_camera_translation_and_rotation_since_the_keyframe_force_one() -> None:
    policy = KeyframePolicy(**{**QUIET, "view_translation_m": 0.5, "view_rotation_deg": 20.0})
    selector = KeyframeSelector(policy)
    poses = {i: _pose(x_m=0.11 * i) for i in range(8)}  # 0.11 m a frame
    assert _keyframes(selector, 8, world_from_camera=poses) == [0, 5]
    selector = KeyframeSelector(policy)
    poses = {i: _pose(yaw_deg=4.5 * i) for i in range(12)}  # 4.5 deg a frame
    assert _keyframes(selector, 12, world_from_camera=poses) == [0, 5, 10]


def test_the_callers_image_measure_forces_one_without_a_pose() -> None:
    selector = KeyframeSelector(KeyframePolicy(**{**QUIET, "view_image_change": 0.4}))
    decisions = [selector.decide(_stamp(i), i, image_change=[0, 0.1, 0.39, 0.45, 0][i])
                 for i in range(5)]
    assert [d.is_keyframe for d in decisions] == [True, False, False, True, False]
    assert decisions[3].reason == "view_change"


def test_min_interval_holds_a_trigger_and_fires_it_after_the_interval() -> None:
    policy = KeyframePolicy(**{**QUIET, "min_interval_s": 0.5, "lost_tracks_min": 1})
    selector = KeyframeSelector(policy)  # 0.5 s = 7.5 frames at 15 Hz
    # track 3 is lost on frame 2 only (it comes back): the trigger is held, not dropped
    decisions = [selector.decide(_stamp(i), i, lost_ids=[3] if i == 2 else (), track_count=4)
                 for i in range(12)]
    assert [i for i, d in enumerate(decisions) if d.is_keyframe] == [0, 8]
    assert decisions[2] == KeyframeDecision(False, "lost_tracks", "min_interval", 0)
    assert decisions[8] == KeyframeDecision(True, "lost_tracks", "", 6)


def test_a_keyframe_wanted_while_the_detector_is_busy_is_not_lost() -> None:
    policy = KeyframePolicy(**{**QUIET, "every_n_frames": 10, "view_image_change": 0.5})
    selector = KeyframeSelector(policy)
    busy = set(range(3, 7))
    # a one-frame spike: the trigger is gone on the next frame, the want must stay
    decisions = [selector.decide(_stamp(i), i, image_change=0.9 if i == 3 else 0.0,
                                 detector_free=i not in busy) for i in range(20)]
    assert [i for i, d in enumerate(decisions) if d.is_keyframe] == [0, 7, 17]
    assert all(decisions[i] == KeyframeDecision(False, "view_change", "detector_busy", i - 3)
               for i in busy)
    assert decisions[7] == KeyframeDecision(True, "view_change", "", 4)
    assert decisions[17].reason == "every_n_frames"  # the clock restarted at the one taken


def test_reasons_owed_together_are_all_reported_in_a_fixed_order() -> None:
    selector = KeyframeSelector(KeyframePolicy(**{**QUIET, "every_n_frames": 3,
                                                  "lost_tracks_min": 1}))
    decisions = [selector.decide(_stamp(i), i, lost_ids=[4] if i == 2 else (),
                                 labels_version=1 if i >= 1 else 0,
                                 detector_free=i in (0, 3))
                 for i in range(4)]
    assert decisions[3] == KeyframeDecision(True, "every_n_frames,lost_tracks,labels", "", 2)


def test_the_same_inputs_give_the_same_keyframes_twice() -> None:
    rng = np.random.default_rng(5)
    frames = 300
    hz = 15.0
    kept = np.sort(rng.choice(np.arange(1, 400), frames - 1, replace=False))  # gaps: drops
    indices = [0, *kept.tolist()]
    inputs = [dict(lost_ids=rng.choice(8, rng.integers(0, 2), replace=False).tolist(),
                   track_count=8, world_from_camera=_pose(0.02 * i, 0.5 * i),
                   image_change=float(rng.random() * 0.6), labels_version=i // 120,
                   detector_free=bool(rng.random() > 0.3)) for i in indices]

    def run() -> list[KeyframeDecision]:
        selector = KeyframeSelector(KeyframePolicy(min_interval_s=0.2))
        return [selector.decide(_stamp(i, hz), i, **kw) for i, kw in zip(indices, inputs)]

    first, second = run(), run()
    assert first == second
    assert 5 < sum(d.is_keyframe for d in first) < frames  # the sequence does exercise it


def test_frames_out_of_order_are_refused_until_reset() -> None:
    selector = KeyframeSelector(KeyframePolicy(**QUIET))
    selector.decide(_stamp(5), 5)
    with pytest.raises(LiveError, match=r"frames must come in order.*call reset\(\)"):
        selector.decide(_stamp(4), 6)
    with pytest.raises(LiveError, match="frames must come in order"):
        selector.decide(_stamp(6), 5)
    selector.reset()
    assert selector.decide(_stamp(0), 0).reason == "first"


def test_a_stamp_in_float_seconds_is_refused() -> None:
    with pytest.raises(CoreError, match="integer nanoseconds"):
        KeyframeSelector().decide(1.5, 0)


@pytest.mark.parametrize(("fields", "message"), [
    ({"every_n_frames": -1}, r"every_n_frames must be a whole number >= 0"),
    ({"every_n_frames": True}, r"every_n_frames must be a whole number"),
    ({"every_s": float("nan")}, r"every_s must be a finite number >= 0"),
    ({"lost_share_min": 1.5}, r"lost_share_min is a share of 0-1"),
    ({"view_rotation_deg": 200.0}, r"view_rotation_deg must be <= 180"),
    ({"every_s": 0.5, "min_interval_s": 1.0}, r"every_s \(0.5 s\) is shorter than "
                                              r"min_interval_s \(1.0 s\)"),
])
def test_a_bad_policy_is_refused_with_its_field_named(fields: dict, message: str) -> None:
    with pytest.raises(LiveError, match=message):
        KeyframePolicy(**fields)


def test_bad_per_frame_inputs_are_refused() -> None:
    selector = KeyframeSelector()
    with pytest.raises(LiveError, match="finite 4x4 transform"):
        selector.decide(_stamp(0), 0, world_from_camera=np.eye(3))
    with pytest.raises(LiveError, match="image_change is a share of 0-1"):
        selector.decide(_stamp(1), 1, image_change=3.0)


def test_a_failed_detection_makes_the_next_free_frame_a_keyframe() -> None:
    selector = KeyframeSelector(KeyframePolicy(**{**QUIET, "every_s": 1.0}))
    assert selector.decide(_stamp(0), 0).is_keyframe
    assert not selector.decide(_stamp(1), 1).is_keyframe
    selector.detection_failed()  # the keyframe's detection came back with an error
    busy = selector.decide(_stamp(2), 2, detector_free=False)
    assert busy == KeyframeDecision(False, "detection_failed", "detector_busy", 0)
    again = selector.decide(_stamp(3), 3)
    assert again == KeyframeDecision(True, "detection_failed", "", 1)
    assert not selector.decide(_stamp(4), 4).is_keyframe  # and then the period again

"""The reward session: shapings, progress memory, ``reached`` and side resolution."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import SCENE, est, graph_of, ns

from spatial_vqa_ros.core.errors import CoreError, UnknownObjectError
from spatial_vqa_ros.core.reward import (
    RewardSession,
    RewardSettings,
    RewardSide,
    object_side,
    request_side,
    shape_reward,
)
from spatial_vqa_ros.core.scene_graph import SceneGraphTracker


def side(key: str, x: float) -> RewardSide:
    """A 10 cm cube of points whose near face is at ``x`` metres along the scene x axis."""
    grid = np.stack(np.meshgrid(*[np.linspace(0, 0.1, 5)] * 3), -1).reshape(-1, 3)
    points = (grid + [x, 0.0, 0.5]).astype(np.float32)
    return RewardSide(key, key, points, points.mean(axis=0).astype(np.float64))


def test_negative_distance_is_the_scaled_gap():
    session = RewardSession()
    step = session.step(side("a", 0.0), side("b", 0.6), RewardSettings(gain_per_m=2.0))
    assert step.valid and step.distance_m == pytest.approx(0.5)
    assert step.reward == pytest.approx(-1.0)
    assert step.progress_m == 0.0 and not step.reached


def test_exponential_shaping_decays_over_its_length():
    session = RewardSession()
    settings = RewardSettings(shaping="exponential", length_m=0.25)
    far = session.step(side("a", 0.0), side("b", 0.6), settings)
    assert far.reward == pytest.approx(math.exp(-0.5 / 0.25))
    touching = session.step(side("a", 0.0), side("b", 0.1), settings)
    assert touching.distance_m == pytest.approx(0.0)
    assert touching.reward == pytest.approx(1.0) and touching.reached


def test_progress_shaping_rewards_the_approach_since_the_last_step():
    session = RewardSession()
    settings = RewardSettings(shaping="progress", gain_per_m=10.0)
    gripper = side("#1", 0.0)
    first = session.step(gripper, side("#2", 0.6), settings)
    assert first.reward == 0.0 and first.progress_m == 0.0  # nothing to compare with yet
    closer = session.step(gripper, side("#2", 0.4), settings)
    assert closer.progress_m == pytest.approx(0.2)
    assert closer.reward == pytest.approx(10.0 * 0.2)
    away = session.step(gripper, side("#2", 0.5), settings)
    assert away.reward == pytest.approx(-10.0 * 0.1)
    # another pair, another memory: its first step has no progress
    assert session.step(gripper, side("#3", 0.2), settings).progress_m == 0.0


def test_stream_and_service_memories_do_not_mix():
    session = RewardSession()
    settings = RewardSettings(shaping="progress")
    session.step(side("#1", 0.0), side("#2", 0.6), settings, channel="stream")
    service = session.step(side("#1", 0.0), side("#2", 0.4), settings)
    assert service.progress_m == 0.0
    stream = session.step(side("#1", 0.0), side("#2", 0.4), settings, channel="stream")
    assert stream.progress_m == pytest.approx(0.2)


def test_memory_is_bounded_and_forgets_the_least_recent_pair():
    session = RewardSession(max_pairs=2)
    settings = RewardSettings(shaping="progress")
    for key in ("#2", "#3", "#4"):
        session.step(side("#1", 0.0), side(key, 0.6), settings)
    assert session.step(side("#1", 0.0), side("#2", 0.5), settings).progress_m == 0.0
    assert session.step(side("#1", 0.0), side("#4", 0.5), settings).progress_m == \
        pytest.approx(0.1)


def test_reached_uses_the_threshold_and_its_default():
    session = RewardSession()
    near = (side("a", 0.0), side("b", 0.13))  # 3 cm gap
    assert not session.step(*near, RewardSettings()).reached  # default 2 cm
    assert session.step(*near, RewardSettings(success_threshold_m=0.05)).reached
    assert RewardSettings(success_threshold_m=0.0).threshold_m == 0.02


def test_centre_distance_and_bad_settings():
    session = RewardSession()
    step = session.step(side("a", 0.0), side("b", 0.6), RewardSettings(distance_kind="center"))
    assert step.distance_m == pytest.approx(0.6)
    with pytest.raises(CoreError, match="shaping must be one of"):
        RewardSettings(shaping="sparse")
    with pytest.raises(CoreError, match="distance_kind must be one of"):
        RewardSettings(distance_kind="hausdorff")
    empty = RewardSide("c", "c", np.zeros((0, 3), np.float32), np.full(3, np.nan))
    with pytest.raises(CoreError, match="no valid 3D points"):
        session.step(side("a", 0.0), empty, RewardSettings())
    assert math.isnan(shape_reward(float("nan"), RewardSettings(shaping="exponential"), None))


def test_sides_resolve_by_exactly_one_name_and_only_in_view():
    tracker = SceneGraphTracker()
    tracker.update([est("mug", [2.0, 0.6, 0.8]), est("box", [3.0, -0.5, 0.2])], SCENE, ns(0.0),
                   "camera_floor")
    graph = tracker.update([est("mug", [2.0, 0.6, 0.8])], SCENE, ns(0.1), "camera_floor")
    mug = object_side(graph, "mug")
    assert mug.key == f"#{graph.find('mug').id}" and mug.description == "the mug"
    assert request_side(graph, None, None, object_id=graph.find("mug").id).key == mug.key
    with pytest.raises(CoreError, match="not in view"):
        object_side(graph, "box")
    with pytest.raises(UnknownObjectError, match="no object called 'cat'"):
        object_side(graph, "cat")
    with pytest.raises(CoreError, match="exactly one of"):
        request_side(graph, None, None, label="mug", object_id=1)
    with pytest.raises(CoreError, match="no frame processed yet"):
        request_side(graph, None, None, roi_xywh=(0, 0, 10, 10))


def test_a_stream_step_is_invalid_not_an_error_while_a_side_is_missing():
    session = RewardSession()
    # side by side across the view: the depth behind each seen point is not between them
    graph = graph_of(est("gripper", [2.0, 0.0, 0.5]), est("cube", [2.0, 0.3, 0.5]))
    ok = session.stream_step(graph, "gripper", "cube", RewardSettings())
    assert ok.valid and ok.distance_m == pytest.approx(0.3, abs=1e-6)
    missing = session.stream_step(graph, "gripper", "mug", RewardSettings())
    assert not missing.valid and math.isnan(missing.distance_m) and not missing.reached


def test_a_side_paired_with_itself_is_refused_not_reached():
    session = RewardSession()
    with pytest.raises(CoreError, match="source and target are the same thing"):
        session.step(side("#1", 0.0), side("#1", 0.0), RewardSettings())
    graph = graph_of(est("cube", [2.0, 0.0, 0.5]))
    assert not session.stream_step(graph, "cube", "#1", RewardSettings()).valid


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")])
def test_bad_scales_and_thresholds_are_refused_not_replaced(value):
    with pytest.raises(CoreError, match="scale must be a finite number >= 0"):
        RewardSettings.from_scale("gap", "exponential", value)
    with pytest.raises(CoreError, match="success_threshold_m must be a finite number >= 0"):
        RewardSettings(success_threshold_m=value)
    # 0: the message's unset value, the default
    assert RewardSettings(success_threshold_m=0.0).threshold_m == 0.02
    assert RewardSettings.from_scale("gap", "exponential", 0.0).length_m == 1.0


@pytest.mark.parametrize("field", ["gain_per_m", "length_m"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_a_gain_or_length_that_is_not_positive_is_refused(field, value):
    with pytest.raises(CoreError, match=f"{field} must be a finite number > 0, got"):
        RewardSettings(**{field: value})


@pytest.mark.parametrize("shaping,field", [("negative_distance", "gain_per_m"),
                                           ("progress", "gain_per_m"),
                                           ("exponential", "length_m")])
def test_the_message_scale_is_a_gain_or_a_length_by_shaping(shaping, field):
    settings = RewardSettings.from_scale("center", shaping, 0.25, 0.05)
    assert getattr(settings, field) == 0.25
    other = {"gain_per_m", "length_m"} - {field}
    assert all(getattr(settings, name) == 1.0 for name in other)  # unused: the default
    assert (settings.distance_kind, settings.shaping, settings.threshold_m) == \
        ("center", shaping, 0.05)


def test_each_shaping_reads_only_its_own_field():
    settings = RewardSettings(shaping="exponential", gain_per_m=100.0, length_m=0.5)
    assert shape_reward(0.5, settings, None) == pytest.approx(math.exp(-1.0))
    settings = RewardSettings(shaping="negative_distance", gain_per_m=3.0, length_m=100.0)
    assert shape_reward(0.5, settings, None) == pytest.approx(-1.5)
    settings = RewardSettings(shaping="progress", gain_per_m=3.0, length_m=100.0)
    assert shape_reward(0.5, settings, 0.7) == pytest.approx(0.6)

"""Service requests read and responses filled: each field carries its documented unit."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from spatial_vqa_ros.core.errors import CoreError
from spatial_vqa_ros.core.query import Answer
from spatial_vqa_ros.core.reward import RewardResult
from spatial_vqa_ros.nodes.service_replies import (
    fill_query_response,
    fill_reward_response,
    reward_settings,
)


def _reward_request(**fields):
    defaults = {"distance_kind": "", "shaping": "", "scale": 0.0, "success_threshold": 0.0}
    return SimpleNamespace(**{**defaults, **fields})


def test_query_response_carries_the_text_unit_and_the_si_value():
    answer = Answer(True, "The mug is 2.0 feet from the chair.", 2.0, "ft", confidence=0.9,
                    value_si=0.6096, unit_si="m")
    response = fill_query_response(SimpleNamespace(), answer, 1_500_000_000)
    assert (response.value, response.unit) == (2.0, "ft")
    assert (response.value_si, response.unit_si) == (0.6096, "m")
    assert response.success and response.answer == answer.text and response.error_message == ""
    assert (response.scene_stamp.sec, response.scene_stamp.nanosec) == (1, 500_000_000)


def test_a_failed_query_response_has_no_si_value():
    response = fill_query_response(SimpleNamespace(), Answer(False, "no", error="no"), 0)
    assert math.isnan(response.value_si) and response.unit_si == ""


@pytest.mark.parametrize("shaping,gain_per_m,length_m", [
    ("", 0.5, 1.0), ("negative_distance", 0.5, 1.0), ("progress", 0.5, 1.0),
    ("exponential", 1.0, 0.5)])
def test_request_scale_is_a_gain_or_a_length_by_shaping(shaping, gain_per_m, length_m):
    settings = reward_settings(_reward_request(shaping=shaping, scale=0.5))
    assert (settings.gain_per_m, settings.length_m) == (gain_per_m, length_m)
    assert settings.shaping == (shaping or "negative_distance")


def test_request_defaults_fill_the_unset_fields():
    settings = reward_settings(_reward_request())
    assert (settings.distance_kind, settings.shaping) == ("gap", "negative_distance")
    assert (settings.gain_per_m, settings.length_m, settings.threshold_m) == (1.0, 1.0, 0.02)


def test_a_negative_request_scale_is_refused_by_its_message_name():
    with pytest.raises(CoreError, match=r"^scale must be a finite number >= 0"):
        reward_settings(_reward_request(shaping="exponential", scale=-2.0))


def test_reward_response_carries_the_step():
    step = RewardResult("the gripper", "the cube", 0.25, -0.5, 0.1, False, True)
    response = fill_reward_response(SimpleNamespace(), step)
    assert response.success and (response.distance, response.reward) == (0.25, -0.5)
    assert response.progress == 0.1 and response.reached is False

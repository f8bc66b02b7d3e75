"""Service requests read and responses filled: each field's meaning mapped in one place.

QuerySpatial answers with two numbers for one quantity: ``value`` in the unit its
answer text uses (for a reader) and ``value_si`` in SI units (for a program);
ComputeReward's one ``scale`` is a gain [1/m] or a length [m] depending on the shaping
(``RewardSettings.from_scale``). Plain functions on the generated message types, so
the node's handlers stay wiring.
"""

from __future__ import annotations

from typing import Any

from ..core.query import Answer
from ..core.reward import RewardResult, RewardSettings
from .conversions import ns_to_stamp


def fill_query_response(response: Any, answer: Answer, stamp_ns: int) -> Any:
    """A QuerySpatial response carrying ``answer`` about the snapshot of ``stamp_ns``."""
    response.success = answer.success
    response.answer = answer.text
    response.value = float(answer.value)
    response.unit = answer.unit
    response.value_si = float(answer.value_si)
    response.unit_si = answer.unit_si
    response.truth = answer.truth
    response.confidence = float(answer.confidence)
    response.scene_stamp = ns_to_stamp(stamp_ns)
    response.error_message = answer.error
    return response


def reward_settings(request: Any) -> RewardSettings:
    """The settings a ComputeReward request asks for (empty strings and 0: defaults);
    raises CoreError naming a bad field."""
    return RewardSettings.from_scale(request.distance_kind or "gap",
                                     request.shaping or "negative_distance",
                                     request.scale, request.success_threshold)


def fill_reward_response(response: Any, step: RewardResult) -> Any:
    """A successful ComputeReward response carrying ``step``."""
    response.success = True
    response.distance = float(step.distance_m)
    response.reward = float(step.reward)
    response.progress = float(step.progress_m)
    response.reached = bool(step.reached)
    return response

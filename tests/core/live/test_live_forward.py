"""Bringing a new object's mask forward within a time budget, with a fake clock."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.core.live.errors import LiveError
from spatial_vqa_ros.core.live.forward import bring_forward, forward_plan

MS = 1_000_000
BUFFER = [i * 66 * MS for i in range(11)]  # 15 Hz; the keyframe is BUFFER[2]
K = BUFFER[2]


class FakeClock:
    """A clock that only moves when a step says it took time."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_every_frame_after_the_keyframe_when_the_budget_allows() -> None:
    plan = forward_plan(K, BUFFER, budget_s=0.1, seconds_per_step=0.01)
    assert plan.steps_ns == tuple(BUFFER[3:]) and plan.reaches_newest and plan.skipped == 0


def test_longer_strides_end_on_the_newest_frame_when_allowed() -> None:
    plan = forward_plan(K, BUFFER, budget_s=0.035, seconds_per_step=0.01, max_stride=3)
    # 8 frames, 3 steps affordable: every third frame, counted back from the newest
    assert plan.steps_ns == (BUFFER[4], BUFFER[7], BUFFER[10])
    assert plan.reaches_newest and plan.stride == 3 and plan.skipped == 5


def test_past_the_budget_it_goes_as_far_as_it_can_and_appears_from_the_next_frame() -> None:
    plan = forward_plan(K, BUFFER, budget_s=0.035, seconds_per_step=0.01)
    assert plan.steps_ns == (BUFFER[3], BUFFER[4], BUFFER[5]) and not plan.reaches_newest
    assert "appears from the next frame on" in plan.reason
    nothing = forward_plan(K, BUFFER, budget_s=0.005, seconds_per_step=0.01)
    assert nothing.steps_ns == () and not nothing.reaches_newest and nothing.skipped == 8


def test_a_keyframe_that_is_the_newest_frame_needs_no_step() -> None:
    plan = forward_plan(BUFFER[-1], BUFFER, budget_s=0.0, seconds_per_step=1.0)
    assert plan.steps_ns == () and plan.reaches_newest


def test_the_driver_steps_in_order_and_reports_the_measured_step_time() -> None:
    clock, stepped = FakeClock(), []

    def step(stamp_ns: int) -> None:
        stepped.append(stamp_ns)
        clock.now += 0.02

    outcome = bring_forward(K, BUFFER, step, budget_s=1.0, seconds_per_step=0.05, clock=clock)
    assert stepped == BUFFER[3:] and outcome.stepped_ns == tuple(BUFFER[3:])
    assert outcome.reached_newest
    assert outcome.elapsed_s == pytest.approx(0.16)
    assert outcome.seconds_per_step == pytest.approx(0.02)


def test_the_driver_stops_before_a_step_that_would_overrun_the_budget() -> None:
    clock = FakeClock()

    def step(stamp_ns: int) -> None:
        clock.now += 0.05  # five times slower than the estimate the plan trusted

    outcome = bring_forward(K, BUFFER, step, budget_s=0.12, seconds_per_step=0.01,
                            clock=clock)
    assert outcome.stepped_ns == (BUFFER[3], BUFFER[4])  # a third would end at 0.15 s
    assert not outcome.reached_newest and outcome.elapsed_s <= 0.12
    assert outcome.seconds_per_step == pytest.approx(0.05)
    assert "spent after 2 of 8 planned steps: appears from the next frame on" in outcome.reason


def test_a_tracker_fault_in_a_step_reaches_the_caller() -> None:
    def step(stamp_ns: int) -> None:
        raise RuntimeError("tracker failed")

    with pytest.raises(RuntimeError, match="tracker failed"):
        bring_forward(K, BUFFER, step, budget_s=1.0, seconds_per_step=0.01, clock=FakeClock())


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"buffered_stamps_ns": [0, 20, 10]}, r"strictly increasing.*got 10 after 20"),
    ({"budget_s": -1.0}, r"budget_s must be a finite number of seconds >= 0"),
    ({"seconds_per_step": float("nan")}, r"seconds_per_step must be a finite number"),
    ({"max_stride": 0}, r"max_stride must be a whole number >= 1"),
])
def test_bad_plan_inputs_are_refused(kwargs: dict, message: str) -> None:
    args = {"buffered_stamps_ns": BUFFER, "budget_s": 0.1, "seconds_per_step": 0.01,
            "max_stride": 1, **kwargs}
    with pytest.raises(LiveError, match=message):
        forward_plan(K, args.pop("buffered_stamps_ns"), **args)

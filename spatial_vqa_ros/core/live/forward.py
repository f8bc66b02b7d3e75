"""Bring a new object's mask forward from its keyframe to the current frame, in time.

A new object is detected on keyframe K, but by the time the detection arrives the
camera is several frames further. Its mask at K must be carried through the buffered
frames after K to the newest one, by the tracker, before the object can join the
current graph. That costs one tracker step per frame, and the fast path cannot wait
long: so the work is planned against a time budget.

- :func:`forward_plan` is pure: from the stamps after K, the budget and the time a step
  takes, which frames to step through. All of them when the budget allows; otherwise,
  up to ``max_stride`` frames per step (a tracker with a motion prior, like
  ``depth_flow``, bridges a gap), always ending on the newest frame; past that, as far
  as the budget goes, and the object appears from the next frame on (the next regular
  tracker step carries it from the last frame reached).
- :func:`bring_forward` drives the plan with the caller's step function and a clock
  (injected, so tests use a fake one): it stops before a step that would overrun the
  budget, and returns the measured time per step for the next plan.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..stamps import check_stamp_ns
from .errors import LiveError


@dataclass(frozen=True)
class ForwardPlan:
    """``steps_ns``: the buffered stamps to step through, oldest first; ``reaches_newest``:
    the steps end on the newest buffered frame (True when K is the newest); ``stride``:
    frames per step at most; ``skipped``: frames after K not stepped; ``reason``: why."""

    steps_ns: tuple[int, ...]
    reaches_newest: bool
    stride: int
    skipped: int
    reason: str


@dataclass(frozen=True)
class ForwardOutcome:
    """What :func:`bring_forward` did: ``stepped_ns`` the stamps stepped through;
    ``reached_newest`` whether the mask is now on the newest buffered frame (otherwise it
    appears from the next frame on); ``elapsed_s`` by the clock; ``seconds_per_step`` the
    mean measured step (the estimate given when no step ran), for the next plan."""

    stepped_ns: tuple[int, ...]
    reached_newest: bool
    elapsed_s: float
    seconds_per_step: float
    reason: str


def forward_plan(keyframe_stamp_ns: int, buffered_stamps_ns: Sequence[int], *,
                 budget_s: float, seconds_per_step: float, max_stride: int = 1
                 ) -> ForwardPlan:
    """Which of ``buffered_stamps_ns`` (increasing) to step a mask through from K."""
    keyframe_stamp_ns = check_stamp_ns(keyframe_stamp_ns)
    _check_numbers(budget_s, seconds_per_step, max_stride)
    stamps = [check_stamp_ns(s) for s in buffered_stamps_ns]
    bad = [(a, b) for a, b in itertools.pairwise(stamps) if b <= a]
    if bad:
        raise LiveError("buffered_stamps_ns must be strictly increasing (the frame buffer in "
                        f"stamp order), got {bad[0][1]} after {bad[0][0]}")
    after = [s for s in stamps if s > keyframe_stamp_ns]
    n = len(after)
    if n == 0:
        return ForwardPlan((), True, 1, 0, "the keyframe is the newest frame: nothing to step")
    affordable = n if seconds_per_step == 0 else math.floor(budget_s / seconds_per_step + 1e-9)
    if affordable >= n:
        return ForwardPlan(tuple(after), True, 1, 0, f"all {n} frames fit the budget")
    if affordable == 0:
        return ForwardPlan((), False, 1, n, f"no step fits the budget ({budget_s} s, "
                           f"{seconds_per_step} s a step): appears from the next frame on")
    stride = math.ceil(n / affordable)
    if stride <= max_stride:
        chosen = list(range(n - 1, -1, -stride))[::-1]
        return ForwardPlan(tuple(after[i] for i in chosen), True, stride, n - len(chosen),
                           f"{len(chosen)} of {n} frames, up to {stride} frames a step")
    chosen = list(range(max_stride - 1, affordable * max_stride, max_stride))
    return ForwardPlan(tuple(after[i] for i in chosen), False, max_stride, n - len(chosen),
                       f"{len(chosen)} steps of {max_stride} frame(s) reach frame "
                       f"{chosen[-1] + 1} of {n} within the budget: appears from the next "
                       "frame on")


def bring_forward(keyframe_stamp_ns: int, buffered_stamps_ns: Sequence[int],
                  step: Callable[[int], object], *, budget_s: float, seconds_per_step: float,
                  max_stride: int = 1, clock: Callable[[], float] = time.monotonic
                  ) -> ForwardOutcome:
    """Plan, then call ``step(stamp_ns)`` for each planned frame while the budget lasts.

    ``step`` runs the caller's tracker on the buffered frame of that stamp (its errors
    propagate: a tracker fault is the caller's to report). Before each step, the time
    spent plus the expected step (the mean of those measured so far, the estimate before
    the first) must fit in ``budget_s``; otherwise it stops there.
    """
    plan = forward_plan(keyframe_stamp_ns, buffered_stamps_ns, budget_s=budget_s,
                        seconds_per_step=seconds_per_step, max_stride=max_stride)
    start = clock()
    durations: list[float] = []
    stepped: list[int] = []
    for stamp_ns in plan.steps_ns:
        expected = float(np.mean(durations)) if durations else seconds_per_step
        if clock() - start + expected > budget_s:
            break
        before = clock()
        step(stamp_ns)
        durations.append(clock() - before)
        stepped.append(stamp_ns)
    elapsed = clock() - start
    estimate = float(np.mean(durations)) if durations else seconds_per_step
    done = len(stepped) == len(plan.steps_ns)
    if done:
        reason = plan.reason
    else:
        reason = (f"budget of {budget_s} s spent after {len(stepped)} of "
                  f"{len(plan.steps_ns)} planned steps: appears from the next frame on")
    return ForwardOutcome(tuple(stepped), done and plan.reaches_newest, elapsed, estimate,
                          reason)


def _check_numbers(budget_s: float, seconds_per_step: float, max_stride: int) -> None:
    for name, value in (("budget_s", budget_s), ("seconds_per_step", seconds_per_step)):
        if (isinstance(value, bool) or not isinstance(value, (int, float, np.floating))
                or not math.isfinite(value) or value < 0):
            raise LiveError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    if isinstance(max_stride, bool) or not isinstance(max_stride, (int, np.integer)) \
            or max_stride < 1:
        raise LiveError(f"max_stride must be a whole number >= 1 (1 = every frame), "
                        f"got {max_stride!r}")


__all__ = ["ForwardOutcome", "ForwardPlan", "bring_forward", "forward_plan"]

"""The one ns <-> (sec, nanosec) conversion: exact, validated, ROS-free."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from spatial_vqa_ros.core.errors import CoreError
from spatial_vqa_ros.core.stamps import (
    NS_PER_S,
    split_ns,
    split_seconds,
    stamp_to_ns,
    stamp_to_seconds,
)

T0 = 1_700_000_000_123_456_789


def _stamp(sec: int, nanosec: int) -> SimpleNamespace:
    return SimpleNamespace(sec=sec, nanosec=nanosec)


def test_split_ns_and_stamp_to_ns_round_trip_exactly() -> None:
    for ns in (0, 1, NS_PER_S - 1, NS_PER_S, T0, 2**63 - 1):
        sec, nanosec = split_ns(ns)
        assert 0 <= nanosec < NS_PER_S
        assert stamp_to_ns(_stamp(sec, nanosec)) == ns
    assert split_ns(T0) == (1_700_000_000, 123_456_789)


def test_split_ns_gives_python_ints_for_numpy_input() -> None:
    sec, nanosec = split_ns(np.int64(T0))
    assert (sec, nanosec) == (1_700_000_000, 123_456_789)
    assert type(sec) is int and type(nanosec) is int


def test_negative_nanoseconds_are_refused() -> None:
    with pytest.raises(CoreError, match="non-negative nanoseconds, got -1"):
        split_ns(-1)
    with pytest.raises(ValueError):  # CoreError is a ValueError
        split_ns(-NS_PER_S)


def test_stamp_to_ns_takes_any_object_with_sec_and_nanosec() -> None:
    assert stamp_to_ns(_stamp(np.int32(3), np.uint32(5))) == 3 * NS_PER_S + 5
    assert stamp_to_seconds(_stamp(3, 500_000_000)) == pytest.approx(3.5)


def test_split_seconds_rounds_and_carries() -> None:
    assert split_seconds(1.25) == (1, 250_000_000)
    assert split_seconds(0.9999999999) == (1, 0)  # rounds up to the next second
    assert split_seconds(0.0) == (0, 0)
    for bad in (-0.5, math.nan, math.inf, -math.inf):
        assert split_seconds(bad) == (0, 0)

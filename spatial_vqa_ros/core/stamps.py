"""Timestamps as integer nanoseconds <-> ``(sec, nanosec)``, in one place.

ROS stamps (builtin_interfaces/msg/Time, and the rosbags copies of it) carry a time as
whole seconds plus nanoseconds; the package keys frames, records and tracks by one
integer of nanoseconds. These are the conversions between the two, without ROS: a
stamp is any object with ``.sec`` and ``.nanosec``. Building a ROS message from the
pair is left to the caller (``nodes.conversions``, ``io.bags``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import CoreError

#: Nanoseconds per second.
NS_PER_S = 1_000_000_000


def stamp_to_ns(stamp: Any) -> int:
    """A stamp (``.sec``, ``.nanosec``) as integer nanoseconds; exact."""
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def stamp_to_seconds(stamp: Any) -> float:
    """A stamp (``.sec``, ``.nanosec``) as float seconds (not exact past ~2**53 ns)."""
    return stamp.sec + stamp.nanosec * 1e-9


def check_stamp_ns(stamp_ns: object) -> int:
    """``stamp_ns`` if it is a non-negative integer; CoreError otherwise.

    Catches a time in float seconds passed where nanoseconds are expected, which
    would otherwise be silently off by 10**9.
    """
    if isinstance(stamp_ns, bool) or not isinstance(stamp_ns, (int, np.integer)):
        raise CoreError(f"stamps are integer nanoseconds, got {stamp_ns!r} "
                        f"({type(stamp_ns).__name__}); convert seconds with round(s * 1e9)")
    if stamp_ns < 0:
        raise CoreError(f"timestamps must be non-negative nanoseconds, got {stamp_ns}")
    return int(stamp_ns)


def split_ns(stamp_ns: int) -> tuple[int, int]:
    """Integer nanoseconds as ``(sec, nanosec)`` with ``0 <= nanosec < 10**9``.

    Raises CoreError (a ValueError) for negative nanoseconds: stamps are never
    before the epoch.
    """
    stamp_ns = int(stamp_ns)
    if stamp_ns < 0:
        raise CoreError(f"timestamps must be non-negative nanoseconds, got {stamp_ns}")
    return divmod(stamp_ns, NS_PER_S)


def split_seconds(seconds: float) -> tuple[int, int]:
    """Float seconds as ``(sec, nanosec)``, nanosec rounded to the nearest; ``(0, 0)``
    for a negative or non-finite time (a zero stamp means "unknown" in ROS)."""
    if not math.isfinite(seconds) or seconds < 0:
        return 0, 0
    sec = int(seconds)
    nanosec = round((seconds - sec) * 1e9)
    if nanosec >= NS_PER_S:
        sec, nanosec = sec + 1, nanosec - NS_PER_S
    return sec, nanosec


__all__ = [
    "NS_PER_S",
    "check_stamp_ns",
    "split_ns",
    "split_seconds",
    "stamp_to_ns",
    "stamp_to_seconds",
]

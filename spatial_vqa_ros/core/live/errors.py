"""The one error type of :mod:`spatial_vqa_ros.core.live`."""

from __future__ import annotations

from ..errors import CoreError


class LiveError(CoreError):
    """Input the live (two-rate) logic cannot use: a bad policy value, a stamp that goes
    backwards, arrays of the wrong shape. The message says what was wrong and what to do.

    A subclass of :class:`~spatial_vqa_ros.core.errors.CoreError` (a ValueError), so a
    caller that already handles core errors handles these too.
    """


__all__ = ["LiveError"]

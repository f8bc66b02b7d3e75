"""Depth from the robot's own sensor, and the valid range every depth is held to.

An RGB-D camera already gives metric depth registered to colour; :class:`SensorDepth`
hands it on unchanged (source ``sensor``). Model families (Depth Anything, Depth Pro,
Prompt Depth Anything) implement the same :class:`~.protocols.DepthEstimator` seam;
:func:`within_range` is what the chain applies to whatever depth a stage gave.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..core.capture import depth_to_metres
from .errors import PerceptionError
from .types import DepthResult, InputSettings, SensorInputs

__all__ = ["SensorDepth", "within_range"]


def within_range(depth: DepthResult, settings: InputSettings) -> DepthResult:
    """``depth`` with every value outside [depth_min_m, depth_max_m] (and 0, inf) set to
    NaN, by the same rule as decoded sensor depth (``core.capture.depth_to_metres``).

    A model can estimate any number (1e30 m at a sky pixel, a scale fit gone wrong);
    beyond the range no sensor or model is trusted, so nothing is measured from it.
    Returns ``depth`` itself when every value is already valid or NaN (no copy).
    """
    depth_m = depth.depth_m
    with np.errstate(invalid="ignore"):  # NaN compares False: already invalid
        outside = (depth_m < settings.depth_min_m) | (depth_m > settings.depth_max_m)
    if not outside.any():
        return depth
    return replace(depth, depth_m=depth_to_metres(depth_m, "32FC1", settings.depth_min_m,
                                                  settings.depth_max_m))


class SensorDepth:
    """The sensor's depth, as it came (already decoded to float32 metres, NaN = invalid)."""

    name = "sensor"

    def estimate(self, inputs: SensorInputs) -> DepthResult:
        if inputs.depth_m is None:
            raise PerceptionError("no depth image for this frame: set the depth topic (an "
                                  "RGB-D camera), or choose a depth model")
        return DepthResult(inputs.depth_m, "sensor")

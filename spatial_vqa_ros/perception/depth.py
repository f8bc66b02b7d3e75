"""Depth from the robot's own sensor: the passthrough depth estimator.

An RGB-D camera already gives metric depth registered to colour; this adapter hands it
on unchanged (source ``sensor``). Model families (Depth Anything, Depth Pro, Prompt
Depth Anything) implement the same :class:`~.protocols.DepthEstimator` seam.
"""

from __future__ import annotations

from .errors import PerceptionError
from .types import DepthResult, SensorInputs

__all__ = ["SensorDepth"]


class SensorDepth:
    """The sensor's depth, as it came (already decoded to float32 metres, NaN = invalid)."""

    name = "sensor"

    def estimate(self, inputs: SensorInputs) -> DepthResult:
        if inputs.depth_m is None:
            raise PerceptionError("no depth image for this frame: set the depth topic (an "
                                  "RGB-D camera), or choose a depth model")
        return DepthResult(inputs.depth_m, "sensor")

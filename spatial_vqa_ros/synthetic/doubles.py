"""Test doubles for the nodes: a detector that behaves like a slow model.

Tests and benchmarks need perception slower than the camera (latest-frame-wins, services
answering while perception is busy). The delay lives here, in a detector of its own that
a node loads by path (``-p detector:=spatial_vqa_ros.synthetic.doubles:
SlowSimulationDetector``), never as a sleep in the production frame path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from ..perception.simulation import SimulationDetector
from ..perception.types import Detections, SensorInputs

#: Seconds per frame of :class:`SlowSimulationDetector` (environment; default 2 s).
DELAY_ENV = "SPATIAL_VQA_SLOW_DETECTOR_S"


class SlowSimulationDetector(SimulationDetector):
    """The simulation detector, taking ``$SPATIAL_VQA_SLOW_DETECTOR_S`` seconds a frame."""

    name = "slow_simulation"

    def __init__(self, delay_s: float | None = None) -> None:
        self.delay_s = float(os.environ.get(DELAY_ENV, "2.0")) if delay_s is None else delay_s

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        time.sleep(self.delay_s)
        return super().detect(inputs, prompts)


#: The ``detector`` parameter value that loads it.
SLOW_DETECTOR = f"{__name__}:{SlowSimulationDetector.__name__}"

__all__ = ["DELAY_ENV", "SLOW_DETECTOR", "SlowSimulationDetector"]

"""Test doubles for the nodes: detectors that behave like a slow or a failing model.

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


class FlakySimulationDetector(SimulationDetector):
    """The simulation detector, raising on every second frame like a model that runs out
    of GPU memory now and then: the node must report it and keep going."""

    name = "flaky_simulation"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        self.calls += 1
        if self.calls % 2 == 0:
            raise RuntimeError(f"simulated model failure on call {self.calls}")
        return super().detect(inputs, prompts)


#: The ``detector`` parameter values that load them.
SLOW_DETECTOR = f"{__name__}:{SlowSimulationDetector.__name__}"
FLAKY_DETECTOR = f"{__name__}:{FlakySimulationDetector.__name__}"

__all__ = ["DELAY_ENV", "FLAKY_DETECTOR", "SLOW_DETECTOR", "FlakySimulationDetector",
           "SlowSimulationDetector"]

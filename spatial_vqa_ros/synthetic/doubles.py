"""Test doubles for the nodes: backends that behave like a slow model.

Tests and benchmarks need a backend slower than the camera (latest-frame-wins, services
answering while perception is busy). The delay lives here, in a backend of its own
that a node loads by path (``-p backend:=spatial_vqa_ros.synthetic.doubles:
SlowSimulationBackend``), never as a sleep in the production frame path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

import numpy as np

from ..core.frame import Observations
from ..perception.simulation import SimulationBackend

#: Seconds per frame of :class:`SlowSimulationBackend` (environment; default 2 s).
DELAY_ENV = "SPATIAL_VQA_SLOW_BACKEND_S"


class SlowSimulationBackend(SimulationBackend):
    """The simulation backend, taking ``$SPATIAL_VQA_SLOW_BACKEND_S`` seconds a frame."""

    name = "slow_simulation"

    def __init__(self, delay_s: float | None = None) -> None:
        self.delay_s = float(os.environ.get(DELAY_ENV, "2.0")) if delay_s is None else delay_s

    def observe(self, rgb: np.ndarray, instance_ids: np.ndarray | None,
                id_to_label: Mapping[int, str] | None) -> Observations:
        time.sleep(self.delay_s)
        return super().observe(rgb, instance_ids, id_to_label)


SLOW_BACKEND = f"{__name__}:{SlowSimulationBackend.__name__}"

__all__ = ["DELAY_ENV", "SLOW_BACKEND", "SlowSimulationBackend"]

"""Perception backends: inputs of a frame -> Observations (masks, labels, scores).

The simulation backend (instance ids as masks) needs no model. Learned backends
(depth, grounding, segmentation) plug in behind the same ``observe`` call.
"""

from .errors import PerceptionError
from .simulation import SimulationBackend

__all__ = ["PerceptionError", "SimulationBackend"]

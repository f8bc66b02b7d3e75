"""Simulation backend: a simulator's instance-id image and id -> label JSON as masks.

Ground truth, no model. The labels JSON is ``{"<id>": "<label>"}`` as simulators
publish it on ``/camera/instances/labels`` (std_msgs/String).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..core.frame import Observations
from ..io.labels import parse_labels_json
from .errors import PerceptionError

__all__ = ["SimulationBackend", "parse_labels_json"]


class SimulationBackend:
    """Turns instance images into observations; needs no text labels or model."""

    name = "simulation"
    needs_instances = True

    def observe(self, rgb: np.ndarray, instance_ids: np.ndarray | None,
                id_to_label: Mapping[int, str] | None) -> Observations:
        if instance_ids is None:
            raise PerceptionError("the simulation backend needs an instance image: set the "
                                  "instances topic, or choose a model backend")
        if id_to_label is None:
            raise PerceptionError("no labels received yet on the labels topic (JSON "
                                  '{"id": "label"}); objects cannot be named')
        if instance_ids.shape != rgb.shape[:2]:
            raise PerceptionError(f"instance image {instance_ids.shape} and rgb "
                                  f"{rgb.shape[:2]} differ in size")
        return Observations.from_instance_image(instance_ids, id_to_label)

"""Simulation: a simulator's instance-id image and id -> label JSON, through the seams.

Ground truth, no model. The labels JSON is ``{"<id>": "<label>"}`` as simulators
publish it on ``/camera/instances/labels`` (std_msgs/String). The detector gives each
labelled instance's pixel box; the segmenter gives each box the instance whose box it
is. Through the chain this yields exactly the observations of
:meth:`Observations.from_instance_image` (tested), so the simulation is one
implementation of the seams, not a special case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import ndimage

from ..core.capture import Observations
from ..io.labels import parse_labels_json
from .errors import PerceptionError
from .types import Detections, SensorInputs

__all__ = ["SimulationDetector", "SimulationSegmenter", "parse_labels_json"]


def _instances(inputs: SensorInputs) -> tuple[np.ndarray, Mapping[int, str]]:
    if inputs.instance_ids is None:
        raise PerceptionError("the simulation detector needs an instance image: set the "
                              "instances topic, or choose a model detector")
    if inputs.id_to_label is None:
        raise PerceptionError("no labels received yet on the labels topic (JSON "
                              '{"id": "label"}); objects cannot be named')
    return inputs.instance_ids, inputs.id_to_label


def labelled_instances(inputs: SensorInputs) -> tuple[Observations, np.ndarray]:
    """The frame's labelled instances as observations, and their (N, 4) float32 pixel
    boxes (x0, y0, x1, y1), exclusive upper bounds, from one pass over the label image."""
    obs = Observations.from_instance_image(*_instances(inputs))
    boxes = np.zeros((len(obs), 4), np.float32)
    for k, found in enumerate(ndimage.find_objects(obs.segmentation, max_label=len(obs))):
        if found is not None:
            rows, cols = found
            boxes[k] = (cols.start, rows.start, cols.stop, rows.stop)
    return obs, boxes


class SimulationDetector:
    """Every labelled instance in view, as a box with score 1. Prompts, when given,
    keep only the instances whose label is one of them (an empty list keeps all:
    the simulator names what is there)."""

    name = "simulation"
    #: Reads the instance image and labels (so the node subscribes to them).
    needs_instances = True

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        obs, boxes = labelled_instances(inputs)
        wanted = {p.strip().lower() for p in prompts if p.strip()}
        keep = [k for k, label in enumerate(obs.labels)
                if not wanted or label.lower() in wanted]
        found = {obs.labels[k].lower() for k in keep}
        return Detections(boxes[keep], tuple(obs.labels[k] for k in keep),
                          np.ones(len(keep), np.float32),
                          tuple(sorted(wanted - found)) if wanted else (),
                          obs.source_ids[keep])


class SimulationSegmenter:
    """Each box's mask is the labelled instance whose pixel box it is (an oracle)."""

    name = "simulation"
    needs_instances = True

    def segment(self, inputs: SensorInputs, xyxy: np.ndarray,
                depth_m: np.ndarray | None) -> np.ndarray:
        obs, boxes = labelled_instances(inputs)
        masks = np.zeros((len(xyxy), *obs.segmentation.shape), bool)
        taken: set[int] = set()
        for k, box in enumerate(np.asarray(xyxy, np.float32)):
            match = [j for j in np.flatnonzero((boxes == box).all(axis=1)) if j not in taken]
            if not match:
                raise PerceptionError(f"box {box.tolist()} is not the box of any labelled "
                                      "instance: the simulation segmenter only segments the "
                                      "simulation detector's boxes")
            taken.add(match[0])
            masks[k] = obs.segmentation == match[0] + 1
        return masks

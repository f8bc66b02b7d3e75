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

from ..core.frame import Observations
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


def instance_boxes(instance_ids: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """(N, 4) float32 pixel boxes (x0, y0, x1, y1), exclusive upper bounds, of ``ids``."""
    boxes = np.zeros((len(ids), 4), np.float32)
    if not len(ids):
        return boxes
    lut = {source_id: k for k, source_id in enumerate(ids)}
    index = np.zeros(instance_ids.shape, np.int32)
    for source_id, k in lut.items():
        index[instance_ids == source_id] = k + 1
    for k, found in enumerate(ndimage.find_objects(index, max_label=len(ids))):
        if found is not None:
            rows, cols = found
            boxes[k] = (cols.start, rows.start, cols.stop, rows.stop)
    return boxes


class SimulationDetector:
    """Every labelled instance in view, as a box with score 1. Prompts, when given,
    keep only the instances whose label is one of them (an empty list keeps all:
    the simulator names what is there)."""

    name = "simulation"

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        instance_ids, id_to_label = _instances(inputs)
        obs = Observations.from_instance_image(instance_ids, id_to_label)
        wanted = {p.strip().lower() for p in prompts if p.strip()}
        keep = [k for k, label in enumerate(obs.labels)
                if not wanted or label.lower() in wanted]
        ids = [int(obs.source_ids[k]) for k in keep]
        found = {obs.labels[k].lower() for k in keep}
        return Detections(instance_boxes(instance_ids, ids),
                          tuple(obs.labels[k] for k in keep), np.ones(len(keep), np.float32),
                          tuple(sorted(wanted - found)) if wanted else (),
                          np.array(ids, np.int64))


class SimulationSegmenter:
    """Each box's mask is the labelled instance whose pixel box it is (an oracle)."""

    name = "simulation"

    def segment(self, inputs: SensorInputs, xyxy: np.ndarray,
                depth_m: np.ndarray | None) -> np.ndarray:
        instance_ids, id_to_label = _instances(inputs)
        ids = [i for i in np.unique(instance_ids).tolist() if i in id_to_label and i > 0]
        boxes = instance_boxes(instance_ids, ids)
        masks = np.zeros((len(xyxy), *instance_ids.shape), bool)
        taken: set[int] = set()
        for k, box in enumerate(np.asarray(xyxy, np.float32)):
            match = [j for j in np.flatnonzero((boxes == box).all(axis=1)) if j not in taken]
            if not match:
                raise PerceptionError(f"box {box.tolist()} is not the box of any labelled "
                                      "instance: the simulation segmenter only segments the "
                                      "simulation detector's boxes")
            taken.add(match[0])
            masks[k] = instance_ids == ids[match[0]]
        return masks

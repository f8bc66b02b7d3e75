"""The perception seams. Each is a small Protocol; one adapter per model family.

Models are passed in, never reached for: an adapter is built around a loaded model (or
none), so tests pass tiny models and robots pass real ones. Every method gets the
frame's :class:`~.types.SensorInputs`, so a family may use what the robot has (sensor
depth as a prompt, a simulator's instance image) without another signature.

What a family needs from the robot beyond rgb it says with class attributes, read from
the class before anything is built (:func:`~.factories.needs_instances`):
``needs_instances: bool = False``: True when it reads a simulator's instance image and
labels (``SensorInputs.instance_ids`` / ``id_to_label``), so the node subscribes to
them. It is optional: a class without it needs no instance image.
``masks_from_text: bool = False`` (a detector): True when its ``detect`` returns
instance masks with the boxes (``Detections.masks``, e.g. SAM 3): the family fills the
segmenter's role too, the chain uses those masks and calls no segmenter on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .types import DepthResult, Detections, SensorInputs, TrackedMasks, TrackingFrame


@runtime_checkable
class DepthEstimator(Protocol):
    """rgb (+ camera, + sensor depth when present) -> metric depth aligned to rgb."""

    name: str

    def estimate(self, inputs: SensorInputs) -> DepthResult: ...


@runtime_checkable
class Detector(Protocol):
    """rgb + text prompts -> boxes (xyxy pixels), labels (the prompts), scores. A class
    that reads the simulator's instance image sets ``needs_instances = True`` (see the
    module docstring); so may a segmenter."""

    name: str

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections: ...


@runtime_checkable
class Segmenter(Protocol):
    """rgb + boxes -> one boolean mask per box, (N, H, W). ``depth_m`` is the frame's
    metric depth (for depth-based segmenters; model segmenters may ignore it)."""

    name: str

    def segment(self, inputs: SensorInputs, xyxy: np.ndarray,
                depth_m: np.ndarray | None) -> np.ndarray: ...


@runtime_checkable
class Tracker(Protocol):
    """Objects' masks carried from frame to frame, between the detector's keyframes.

    The tracker holds a set of objects, each an id (int64) with a mask on the last
    frame it saw. ``masks`` are (N, H, W) bool on ``frame``, ``ids`` (N,) int64 unique.

    - ``init``: start over with exactly these objects.
    - ``update``: these objects' masks on this frame (a keyframe's detections): known
      ids are corrected, new ids added; the other objects keep being tracked.
    - ``drop``: forget these ids (unknown ids are ignored).
    - ``track``: every current object on the next frame, in the order they were
      given, each with a confidence in [0, 1] or marked lost.
    """

    name: str

    def init(self, frame: TrackingFrame, masks: np.ndarray, ids: np.ndarray) -> None: ...

    def update(self, frame: TrackingFrame, masks: np.ndarray, ids: np.ndarray) -> None: ...

    def drop(self, ids: np.ndarray) -> None: ...

    def track(self, frame: TrackingFrame) -> TrackedMasks: ...


__all__ = ["DepthEstimator", "Detector", "Segmenter", "Tracker"]

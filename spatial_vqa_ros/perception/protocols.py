"""The three perception seams. Each is a small Protocol; one adapter per model family.

Models are passed in, never reached for: an adapter is built around a loaded model (or
none), so tests pass tiny models and robots pass real ones. Every method gets the
frame's :class:`~.types.SensorInputs`, so a family may use what the robot has (sensor
depth as a prompt, a simulator's instance image) without another signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .types import DepthResult, Detections, SensorInputs


@runtime_checkable
class DepthEstimator(Protocol):
    """rgb (+ camera, + sensor depth when present) -> metric depth aligned to rgb."""

    name: str

    def estimate(self, inputs: SensorInputs) -> DepthResult: ...


@runtime_checkable
class Detector(Protocol):
    """rgb + text prompts -> boxes (xyxy pixels), labels (the prompts), scores."""

    name: str

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections: ...


@runtime_checkable
class Segmenter(Protocol):
    """rgb + boxes -> one boolean mask per box, (N, H, W). ``depth_m`` is the frame's
    metric depth (for depth-based segmenters; model segmenters may ignore it)."""

    name: str

    def segment(self, inputs: SensorInputs, xyxy: np.ndarray,
                depth_m: np.ndarray | None) -> np.ndarray: ...


__all__ = ["DepthEstimator", "Detector", "Segmenter"]

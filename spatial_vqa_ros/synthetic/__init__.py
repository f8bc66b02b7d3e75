"""Synthetic scenes with exact ground truth, to score the geometry core (ROS-free).

Build a world of boxes, cylinders and spheres on a floor (``random_scene``, or by
hand with ``Primitive`` and ``CameraPose``), ray-cast it into RGB, metric depth and
instance images (``render``, optionally with ``DepthNoise``), and compute the truth of
every quantity in the package's scene frame (``ground_truth``, ``true_gap``).
"""

from __future__ import annotations

from .render import DepthNoise, RenderedFrame, apply_noise, render
from .scenes import (
    CameraPose,
    Primitive,
    SyntheticError,
    SyntheticScene,
    approach_trajectory,
    random_scene,
    random_sequence,
)
from .truth import ObjectTruth, SceneTruth, ground_truth, true_gap

__all__ = [
    "CameraPose",
    "DepthNoise",
    "ObjectTruth",
    "Primitive",
    "RenderedFrame",
    "SceneTruth",
    "SyntheticError",
    "SyntheticScene",
    "apply_noise",
    "approach_trajectory",
    "ground_truth",
    "random_scene",
    "random_sequence",
    "render",
    "true_gap",
]

"""An existing LeRobot v3.0 dataset annotated into a new one: ``spatial-vqa annotate-lerobot``.

Frames decoded from the dataset's videos go through ``bag2lerobot``'s per-frame core
(perception, scene pipeline, the reward stream's step, scene graph, VQA); the end
effector is placed from ``observation.state`` by a forward-kinematics hook. Modules:
``config`` (:class:`AnnotateConfig`), ``fk`` (the hook as a TransformSource), ``build``
(:func:`annotate_lerobot`, :class:`AnnotateSummary`).
"""

from __future__ import annotations

from .build import AnnotateSummary, annotate_lerobot
from .config import AnnotateConfig
from .fk import FkSource, load_fk

__all__ = ["AnnotateConfig", "AnnotateSummary", "FkSource", "annotate_lerobot", "load_fk"]

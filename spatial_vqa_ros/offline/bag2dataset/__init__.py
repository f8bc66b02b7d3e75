"""Recorded frames and image folders to a spatial VQA dataset: ``spatial-vqa
bag2dataset`` and ``spatial-vqa images2dataset``.

Per source (one camera stream: a bag; or an image folder, whose images are each
their own scene), in order: frames -> the perception chain of
``config.perception`` (built once per source; the simulation chain by default) ->
:class:`ScenePipeline` (one per source: floor smoothing and the tracker are
stateful) -> the scene graph of the objects *visible in the frame* (re-described, so
names are unique among them) -> :func:`synthesize` with image key
``"<source>/<stamp_ns>"`` -> record + image ->
:class:`~spatial_vqa_ros.io.datasets.DatasetWriter`. The output depends only on the
inputs and the settings (seed included): the ``ray`` engine, which runs one source
per task, writes the same records as the ``local`` one.

Determinism of the floor fit (open3d's RANSAC, reproduced in numpy with its own seeded
random stream) is the core's business: see :mod:`spatial_vqa_ros.core.plane_ransac`.

Modules: ``sources`` (frame sources, bags), ``images`` (image folders), ``hf_images``
(Hugging Face image datasets), ``source_specs`` (a source rebuilt from its spec, in a
worker), ``config``
(:class:`Bag2DatasetConfig`), ``engines`` (:class:`SourceRun`, local and Ray
engines), ``summary`` (per-source reports and the run summary) and ``build`` (:func:`write_dataset`,
:func:`bag2dataset`, :func:`images2dataset`). Import the public names from here.
"""

from __future__ import annotations

from .build import bag2dataset, hf2dataset, images2dataset, write_dataset
from .config import Bag2DatasetConfig
from .engines import ENGINES, SKIP_REASONS, FrameOutput, SourceRun
from .hf_images import HFImageSource
from .images import ImageFolderSource
from .source_specs import source_from_spec
from .sources import (
    BagSource,
    FrameSource,
    SourceFrame,
    open_bags,
    required_roles,
    source_name,
)
from .summary import Bag2DatasetSummary, SourceReport

__all__ = [
    "ENGINES",
    "SKIP_REASONS",
    "Bag2DatasetConfig",
    "Bag2DatasetSummary",
    "BagSource",
    "FrameOutput",
    "FrameSource",
    "HFImageSource",
    "ImageFolderSource",
    "SourceFrame",
    "SourceReport",
    "SourceRun",
    "bag2dataset",
    "hf2dataset",
    "images2dataset",
    "open_bags",
    "required_roles",
    "source_from_spec",
    "source_name",
    "write_dataset",
]

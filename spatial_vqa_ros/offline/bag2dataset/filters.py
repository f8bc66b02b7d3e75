"""Which frames make training data: cheap image checks, CLIP tags, and what the scene
graph found.

Why filter: a spatial VQA dataset is only as good as its scenes; a thumbnail, a blurred
frame, a picture of the wrong kind of place, a view without a floor (no "up", so no
vertical relation) or with a single object (no pair to relate) adds QAs a model learns
nothing true from. Every filtered frame is skipped with its reason, which progress.json
keeps and the summary and the dataset card count.

Image checks (before perception, in the image sources, so a rejected image costs no
model time; for bags after it):

- ``too_small``: the shorter side is below ``min_side_px``;
- ``blurry``: the variance of the Laplacian of the grey image (0..255) is below
  ``min_sharpness`` (about 100 separates sharp photos from blurred ones; a plain wall
  also scores low);
- ``not_included`` / ``excluded``: with a CLIP model (``clip_model``: a registry name
  or a path), the image's best include tag scores below ``clip_threshold``, or its best
  exclude tag reaches it (softmax over all the tags together);
- ``no_vocabulary``: with a vocabulary model (``vocabulary.py``), an image that has no
  prompt at all: no fixed label and no phrase from its caption.

Scene checks (after the geometry core): ``no_floor`` when ``require_floor`` and no floor
was found; ``few_objects`` when fewer than ``min_objects`` objects are visible (0
objects stays ``no_objects``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...io.errors import DataIOError

__all__ = ["FILTER_REASONS", "NO_FILTERS", "FrameFilters", "ImageFilter", "scene_reason",
           "sharpness"]

FILTER_REASONS = ("too_small", "blurry", "not_included", "excluded", "no_vocabulary",
                  "no_floor", "few_objects")


@dataclass(frozen=True)
class FrameFilters:
    """The filter settings (all off by default; see the module docstring)."""

    min_side_px: int = 0
    min_sharpness: float = 0.0
    min_objects: int = 1
    require_floor: bool = False
    clip_model: str = ""
    models_dir: str = ""
    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    clip_threshold: float = 0.5

    def __post_init__(self) -> None:
        for name in ("include_tags", "exclude_tags"):
            tags = getattr(self, name)
            if isinstance(tags, str) or not all(isinstance(t, str) and t.strip()
                                                for t in tags):
                raise DataIOError(f"{name} must be non-empty strings, got {tags!r}")
            object.__setattr__(self, name, tuple(t.strip() for t in tags))
        if self.min_side_px < 0 or self.min_objects < 1:
            raise DataIOError("min_side_px must be >= 0 and min_objects >= 1")
        if not (math.isfinite(self.min_sharpness) and self.min_sharpness >= 0):
            raise DataIOError(f"min_sharpness must be >= 0, got {self.min_sharpness}")
        if not 0.0 <= self.clip_threshold <= 1.0:
            raise DataIOError(f"clip_threshold must be within [0, 1], got "
                              f"{self.clip_threshold}")
        if (self.include_tags or self.exclude_tags) and not self.clip_model:
            raise DataIOError("include/exclude tags need a CLIP model (--clip-model)")
        if self.clip_model and not (self.include_tags or self.exclude_tags):
            raise DataIOError("a CLIP model filters by tags: give --include-tags or "
                              "--exclude-tags")

    @property
    def checks_images(self) -> bool:
        return bool(self.min_side_px or self.min_sharpness or self.clip_model)


#: No filter at all (the default).
NO_FILTERS = FrameFilters()


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of the grey image (values 0..255)."""
    grey = np.asarray(rgb, np.float64) @ np.array([0.299, 0.587, 0.114])
    if min(grey.shape) < 3:
        return 0.0
    laplacian = (grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1]
                 - 4.0 * grey[1:-1, 1:-1])
    return float(laplacian.var())


class ImageFilter:
    """The image checks of ``filters``; the CLIP model loads on first use (once per
    source run, in the process that runs it)."""

    def __init__(self, filters: FrameFilters) -> None:
        self.filters = filters
        self._tagger: Any = None

    def _tags(self, rgb: np.ndarray) -> str:
        from ...perception.families.clip.adapter import ClipTagger
        from ...perception.models.snapshots import resolve_model_dir

        f = self.filters
        if self._tagger is None:
            directory = resolve_model_dir(f.clip_model, models_dir=f.models_dir or None)
            self._tagger = ClipTagger.from_pretrained(directory)
        tags = [*f.include_tags, *f.exclude_tags]
        probabilities = self._tagger.probabilities(rgb, tags)
        included = probabilities[:len(f.include_tags)]
        excluded = probabilities[len(f.include_tags):]
        if len(excluded) and excluded.max() >= f.clip_threshold:
            return "excluded"
        if len(included) and included.max() < f.clip_threshold:
            return "not_included"
        return ""

    def reason(self, rgb: np.ndarray) -> str:
        """Why ``rgb`` is filtered out, or "" to keep it."""
        f = self.filters
        if f.min_side_px and min(rgb.shape[:2]) < f.min_side_px:
            return "too_small"
        if f.min_sharpness and sharpness(rgb) < f.min_sharpness:
            return "blurry"
        if f.clip_model:
            return self._tags(rgb)
        return ""


def scene_reason(filters: FrameFilters, floor_found: bool, n_objects: int) -> str:
    """Why a perceived frame is filtered out, or "" (0 objects is ``no_objects``, decided
    by the caller)."""
    if filters.require_floor and not floor_found:
        return "no_floor"
    if 0 < n_objects < filters.min_objects:
        return "few_objects"
    return ""

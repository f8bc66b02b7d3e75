"""``depth_box``: a box and metric depth -> the object's mask, with no model.

For GPU-less RGB-D robots: inside a detector's box, the object is the surface at the
box's core, and it ends where depth jumps. The mask is the depth-continuous piece of
valid pixels that covers most of the box's central region, kept to a depth band around
that core (an object is about as deep as it is wide, so a table surface running on
behind a mug is cut where it leaves the band). What it cannot do: split two objects
that touch at the same depth, or find an object with no valid depth at its core.
"""

from __future__ import annotations

import numpy as np

from ..core.objects import depth_continuous_pieces
from .errors import PerceptionError
from .types import SensorInputs

__all__ = ["DepthBoxSegmenter"]


class DepthBoxSegmenter:
    """Masks from boxes and depth. ``core_fraction``: the central share of the box (per
    side) whose surface is the object; ``continuity_abs_m`` + ``continuity_rel`` x depth:
    the step that separates surfaces; ``band_factor``: the depth band kept around the
    core, as a multiple of the object's width in metres (at least ``min_band_m``)."""

    name = "depth_box"

    def __init__(self, *, core_fraction: float = 0.3, continuity_abs_m: float = 0.02,
                 continuity_rel: float = 0.03, band_factor: float = 1.5,
                 min_band_m: float = 0.05) -> None:
        if not 0.0 < core_fraction <= 1.0:
            raise PerceptionError(f"core_fraction must be within (0, 1], got {core_fraction}")
        self.core_fraction = core_fraction
        self.continuity_abs_m = continuity_abs_m
        self.continuity_rel = continuity_rel
        self.band_factor = band_factor
        self.min_band_m = min_band_m

    def segment(self, inputs: SensorInputs, xyxy: np.ndarray,
                depth_m: np.ndarray | None) -> np.ndarray:
        if depth_m is None:
            raise PerceptionError("the depth_box segmenter needs depth: give the frame a "
                                  "depth sensor or a depth model")
        height, width = depth_m.shape
        boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
        masks = np.zeros((len(boxes), height, width), bool)
        fx = inputs.camera.fx if inputs.camera is not None else float(width)
        for k, box in enumerate(boxes):
            x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
            x1, y1 = min(int(np.ceil(box[2])), width), min(int(np.ceil(box[3])), height)
            if x1 > x0 and y1 > y0:
                masks[k, y0:y1, x0:x1] = self._mask_in_box(depth_m[y0:y1, x0:x1], fx)
        return masks

    def _mask_in_box(self, depth: np.ndarray, fx: float) -> np.ndarray:
        h, w = depth.shape
        valid = np.isfinite(depth)
        core = np.zeros_like(valid)
        mh, mw = (1 - self.core_fraction) / 2 * h, (1 - self.core_fraction) / 2 * w
        core[int(mh):max(int(np.ceil(h - mh)), int(mh) + 1),
             int(mw):max(int(np.ceil(w - mw)), int(mw) + 1)] = True
        core_depth = depth[core & valid]
        if core_depth.size == 0:
            return np.zeros_like(valid)  # nothing to anchor on: an empty mask
        d_core = float(np.median(core_depth))
        width_m = w * d_core / fx
        band = max(self.min_band_m, self.band_factor * width_m)
        with np.errstate(invalid="ignore"):
            in_band = valid & (np.abs(depth - d_core) <= band)
        threshold = self.continuity_abs_m + self.continuity_rel * np.nan_to_num(depth)
        pieces, count = depth_continuous_pieces(depth, in_band, threshold)
        if count == 0:
            return np.zeros_like(valid)
        votes = np.bincount(pieces[core], minlength=count + 1)
        votes[0] = 0
        if votes.max() == 0:
            return np.zeros_like(valid)
        return pieces == int(votes.argmax())

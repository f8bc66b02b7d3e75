"""``depth_box``: a box and metric depth -> the object's mask, with no model.

For GPU-less RGB-D robots: inside a detector's box, the object is the surface at the
box's core, and it ends where depth jumps. The mask is the depth-continuous piece of
valid pixels that covers most of the box's central region, kept to a depth band around
that core (an object is about as deep as it is wide, so a table surface running on
behind a mug is cut where it leaves the band). The surface the object stands on is
continuous in depth with its base (and through it the wall behind), so it is found
beside the base and taken out (``support_plane``), with what reached the object only
through it. What it cannot do: split two objects that touch at the same depth (a crate
pushed against a wall), or find an object with no valid depth at its core.
"""

from __future__ import annotations

import numpy as np

from ..core.objects import depth_continuous_pieces
from .errors import PerceptionError
from .support_plane import support_pixels
from .types import SensorInputs

__all__ = ["DepthBoxSegmenter", "surface_pieces"]


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
        camera = inputs.camera
        rays = camera.rays() if camera is not None else _default_rays(height, width)
        fx = camera.fx if camera is not None else float(width)
        for k, box in enumerate(boxes):
            x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
            x1, y1 = min(int(np.ceil(box[2])), width), min(int(np.ceil(box[3])), height)
            if x1 > x0 and y1 > y0:
                window = (slice(y0, y1), slice(x0, x1))
                masks[k][window] = self._mask_in_box(depth_m[window], fx)
                box_px = (x0, y0, x1, y1)
                support = support_pixels(depth_m, rays, masks[k], box_px,
                                         _core_of_box(masks[k].shape, box_px,
                                                      self.core_fraction))
                if support.any():
                    depth = depth_m[window]
                    threshold = self.continuity_abs_m + self.continuity_rel * np.nan_to_num(
                        depth)
                    masks[k][window] = _holding_core(masks[k][window] & ~support[window],
                                                     depth, threshold, self.core_fraction)
        return masks

    def _mask_in_box(self, depth: np.ndarray, fx: float) -> np.ndarray:
        core = _core(depth.shape, self.core_fraction)
        pieces, votes = surface_pieces(depth, core, depth.shape[1], fx,
                                       continuity_abs_m=self.continuity_abs_m,
                                       continuity_rel=self.continuity_rel,
                                       band_factor=self.band_factor, min_band_m=self.min_band_m)
        if votes.max(initial=0) == 0:
            return np.zeros(depth.shape, bool)  # nothing to anchor on: an empty mask
        return pieces == int(votes.argmax())


def surface_pieces(depth: np.ndarray, core: np.ndarray, width_px: float, fx: float, *,
                   continuity_abs_m: float = 0.02, continuity_rel: float = 0.03,
                   band_factor: float = 1.5, min_band_m: float = 0.05
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The depth-continuous surfaces around an object's ``core`` pixels, and how many
    core pixels each holds: (pieces, votes), ``pieces`` labels (0 = none) and
    ``votes[k]`` the core pixels on piece k (``votes[0]`` = 0).

    Only valid pixels within a depth band around the core's median depth take part
    (``band_factor`` x the object's width in metres, ``width_px`` at that depth, at
    least ``min_band_m``: an object is about as deep as it is wide), and surfaces part
    at a depth step of ``continuity_abs_m`` + ``continuity_rel`` x depth. The one rule
    of what "the object's surface" is, for the ``depth_box`` segmenter (the piece with
    most votes) and the ``depth_flow`` tracker (the pieces its propagated mask covers).
    """
    valid = np.isfinite(depth)
    core_depth = depth[core & valid]
    if core_depth.size == 0:
        return np.zeros(depth.shape, np.int32), np.zeros(1, np.int64)
    d_core = float(np.median(core_depth))
    band = max(min_band_m, band_factor * width_px * d_core / fx)
    with np.errstate(invalid="ignore"):
        in_band = valid & (np.abs(depth - d_core) <= band)
    threshold = continuity_abs_m + continuity_rel * np.nan_to_num(depth)
    pieces, count = depth_continuous_pieces(depth, in_band, threshold)
    votes = np.bincount(pieces[core], minlength=count + 1)
    votes[0] = 0
    return pieces, votes


def _holding_core(mask: np.ndarray, depth: np.ndarray, threshold: np.ndarray,
                  core_fraction: float) -> np.ndarray:
    """``mask`` (a box's window) less the depth-continuous pieces the support's cut left
    without any of the box's core: a wall or the floor beyond the support, which reached
    the object only through the support (depth-continuous along the floor), and specks
    of noise."""
    pieces, count = depth_continuous_pieces(depth, mask, threshold)
    if count <= 1:
        return mask
    votes = np.bincount(pieces[_core(mask.shape, core_fraction)], minlength=count + 1)
    votes[0] = 0
    if votes.max() == 0:
        return mask
    return (votes >= max(1, 0.1 * votes.max()))[pieces]


def _default_rays(height: int, width: int) -> np.ndarray:
    """Pinhole rays for a frame without intrinsics (90 degree field of view)."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    f = width / 2
    return np.stack([(u - (width - 1) / 2) / f, (v - (height - 1) / 2) / f,
                     np.ones_like(u)], axis=-1)


def _core(shape: tuple[int, int], fraction: float) -> np.ndarray:
    h, w = shape
    core = np.zeros(shape, bool)
    mh, mw = (1 - fraction) / 2 * h, (1 - fraction) / 2 * w
    core[int(mh):max(int(np.ceil(h - mh)), int(mh) + 1),
         int(mw):max(int(np.ceil(w - mw)), int(mw) + 1)] = True
    return core


def _core_of_box(shape: tuple[int, int], box: tuple[int, int, int, int],
                 fraction: float) -> np.ndarray:
    x0, y0, x1, y1 = box
    core = np.zeros(shape, bool)
    core[y0:y1, x0:x1] = _core((y1 - y0, x1 - x0), fraction)
    return core

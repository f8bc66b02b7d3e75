"""``depth_box``: a box and metric depth -> the object's mask, with no model.

For GPU-less RGB-D robots: inside a detector's box, the object is the surface at the
box's core, and it ends where depth jumps. The mask is the depth-continuous piece of
valid pixels that covers most of the box's central region, kept to a depth band around
that core (an object is about as deep as it is wide, so a table surface running on
behind a mug is cut where it leaves the band). The surface the object stands on is
continuous in depth with its base, so it is found as the plane that the box's bottom
corners lie on (beside the base), facing up in the image, and taken out, unless the
core itself lies on it. What it cannot do: split two objects that touch at the
same depth, or find an object with no valid depth at its core.
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
        camera = inputs.camera
        rays = camera.rays() if camera is not None else _default_rays(height, width)
        fx = camera.fx if camera is not None else float(width)
        for k, box in enumerate(boxes):
            x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
            x1, y1 = min(int(np.ceil(box[2])), width), min(int(np.ceil(box[3])), height)
            if x1 > x0 and y1 > y0:
                window = (slice(y0, y1), slice(x0, x1))
                mask = self._mask_in_box(depth_m[window], fx)
                masks[k][window] = mask & ~_support_plane(depth_m[window], rays[window],
                                                          mask, self.core_fraction)
        return masks

    def _mask_in_box(self, depth: np.ndarray, fx: float) -> np.ndarray:
        w = depth.shape[1]
        valid = np.isfinite(depth)
        core = _core(depth.shape, self.core_fraction)
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


def _support_plane(depth: np.ndarray, rays: np.ndarray, mask: np.ndarray,
                   core_fraction: float, *, strip: float = 0.15, corner: float = 0.25,
                   tolerance_abs_m: float = 0.01, tolerance_rel: float = 0.01,
                   iterations: int = 60) -> np.ndarray:
    """Pixels of ``mask`` on the surface the object stands on, or nothing.

    That surface shows in the bottom corners of a box (beside the object's base). It is
    the plane most of those pixels lie on, if it faces up or down in the image (normal
    within 60 degrees of the optical y axis: a camera held roughly upright, as on a
    robot) and the box's core is not on it (a box drawn tight around a cabinet front).
    """
    h, w = depth.shape
    corners = np.zeros_like(mask)
    top = max(0, int(h * (1 - strip)))
    corners[top:, :max(1, int(w * corner))] = True
    corners[top:, min(w - 1, int(w * (1 - corner))):] = True
    candidates = np.flatnonzero((corners & mask).ravel())
    if candidates.size < 20:
        return np.zeros_like(mask)
    points = rays.reshape(-1, 3) * depth.reshape(-1, 1)
    corner_points = points[candidates]
    # depth noise grows with range: the plane's tolerance does too
    tolerance_m = tolerance_abs_m + tolerance_rel * float(np.median(corner_points[:, 2]))
    rng = np.random.default_rng(0)  # deterministic masks for the same frame
    best_normal, best_offset, best_count = None, 0.0, 0
    for _ in range(iterations):
        a, b, c = corner_points[rng.choice(len(corner_points), 3, replace=False)]
        normal = np.cross(b - a, c - a)
        norm = float(np.linalg.norm(normal))
        if norm < 1e-9 or abs(normal[1]) / norm < 0.5:
            continue
        normal /= norm
        offset = -float(normal @ a)
        count = int((np.abs(corner_points @ normal + offset) < tolerance_m).sum())
        if count > best_count:
            best_normal, best_offset, best_count = normal, offset, count
    if best_normal is None or best_count < 0.5 * len(corner_points):
        return np.zeros_like(mask)
    # cut at the plane's own measured noise (3 robust sigmas), not the search tolerance:
    # exact depth cuts a sliver, a noisy sensor a band as thick as its noise
    residual = np.abs(corner_points @ best_normal + best_offset)
    sigma = 1.4826 * float(np.median(residual[residual < tolerance_m]))
    cut_m = max(tolerance_abs_m, 3.0 * sigma)
    with np.errstate(invalid="ignore"):
        on_plane = (np.abs(points @ best_normal + best_offset) < cut_m).reshape(
            mask.shape) & mask
    core = _core(mask.shape, core_fraction) & mask
    if core.any() and on_plane[core].mean() > 0.3:
        return np.zeros_like(mask)  # the object's own face, not its support
    return on_plane

"""``depth_box``: a box and metric depth -> the object's mask, with no model.

For GPU-less RGB-D robots: inside a detector's box, the object is the surface at the
box's core, and it ends where depth jumps. The mask is the depth-continuous piece of
valid pixels that covers most of the box's central region, kept to a depth band around
that core (an object is about as deep as it is wide, so a table surface running on
behind a mug is cut where it leaves the band). The surface the object stands on is
continuous in depth with its base, so it is found as the plane beside the base (around
the box's bottom corners, inside and just outside it), facing up in the image, and
taken out, unless the core lies on it. What it cannot do: split two objects that touch
at the same depth, or find an object with no valid depth at its core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.objects import depth_continuous_pieces
from .errors import PerceptionError
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
                masks[k] &= ~_support_plane(depth_m, rays, masks[k], (x0, y0, x1, y1),
                                            self.core_fraction)
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


def _beside_base(depth: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int],
                 core: np.ndarray, *, strip: float, corner: float) -> np.ndarray:
    """Valid pixels around the bottom corners of a box, inside and just outside it,
    that are not the object's core."""
    x0, y0, x1, y1 = box
    height, width = depth.shape
    h, w = y1 - y0, x1 - x0
    margin = max(4, int(corner * w))
    band = max(2, int(strip * h))
    rows = slice(max(0, y1 - band), min(height, y1 + band))
    beside = np.zeros_like(mask)
    beside[rows, max(0, x0 - margin):min(width, x0 + margin)] = True
    beside[rows, max(0, x1 - margin):min(width, x1 + margin)] = True
    return beside & np.isfinite(depth) & ~(mask & core)


def _ransac_plane(points: np.ndarray, tolerance_m: float, iterations: int
                  ) -> tuple[np.ndarray | None, float, int]:
    """(unit normal facing the image's y axis within 60 degrees, offset, inliers); every
    hypothesis is scored in one matrix product."""
    rng = np.random.default_rng(0)  # deterministic masks for the same frame
    picks = np.stack([rng.choice(len(points), 3, replace=False) for _ in range(iterations)])
    a, b, c = points[picks[:, 0]], points[picks[:, 1]], points[picks[:, 2]]
    normals = np.cross(b - a, c - a)
    norms = np.linalg.norm(normals, axis=1)
    upright = (norms > 1e-9) & (np.abs(normals[:, 1]) >= 0.5 * norms)
    if not upright.any():
        return None, 0.0, 0
    normals = normals[upright] / norms[upright, None]
    offsets = -np.einsum("ij,ij->i", normals, a[upright])
    counts = (np.abs(points @ normals.T + offsets) < tolerance_m).sum(axis=0)
    best = int(np.argmax(counts))
    return normals[best], float(offsets[best]), int(counts[best])


@dataclass(frozen=True)
class SupportConfig:
    """Where the support is looked for and how it is cut. ``strip``/``corner``: the
    bottom share of the box height and the share of its width at each corner (also
    reached outside the box); the plane must explain ``min_support`` of those pixels
    within ``tolerance_abs_m`` + ``tolerance_rel`` x depth."""

    strip: float = 0.15
    corner: float = 0.25
    tolerance_abs_m: float = 0.01
    tolerance_rel: float = 0.01
    iterations: int = 200
    min_support: float = 0.35


def _support_plane(depth: np.ndarray, rays: np.ndarray, mask: np.ndarray,
                   box: tuple[int, int, int, int], core_fraction: float, *,
                   config: SupportConfig = SupportConfig()) -> np.ndarray:
    """Pixels of ``mask`` on the surface the object stands on, or nothing.

    That surface shows beside the object's base: around the bottom corners of its box,
    inside and just outside it (a thin bottle's box has little room beside it). It is
    the plane that most of those pixels lie on (``config.min_support`` of them: wheels
    and neighbours share the corners), if it faces up or down in the image (normal
    within 60 degrees of the optical y axis: a camera held roughly upright, as on a
    robot) and the box's core is not on it (a box drawn tight around a cabinet front).
    """
    core = _core_of_box(mask.shape, box, core_fraction)
    candidates = np.flatnonzero(_beside_base(depth, mask, box, core, strip=config.strip,
                                             corner=config.corner).ravel())
    if candidates.size < 20:
        return np.zeros_like(mask)
    candidates = candidates[::max(1, candidates.size // 2000)]  # enough for a plane
    beside = rays.reshape(-1, 3)[candidates] * depth.reshape(-1)[candidates, None]
    # depth noise grows with range: the search tolerance does too
    tolerance_m = config.tolerance_abs_m + config.tolerance_rel * float(
        np.median(beside[:, 2]))
    normal, offset, count = _ransac_plane(beside, tolerance_m, config.iterations)
    if normal is None or count < config.min_support * len(beside):
        return np.zeros_like(mask)
    # cut at the plane's own measured noise (3 robust sigmas), not the search tolerance:
    # exact depth cuts a sliver, a noisy sensor a band as thick as its noise
    residual = np.abs(beside @ normal + offset)
    sigma = 1.4826 * float(np.median(residual[residual < tolerance_m]))
    cut_m = max(config.tolerance_abs_m, 3.0 * sigma)
    index = np.flatnonzero(mask.ravel())
    points = rays.reshape(-1, 3)[index] * depth.reshape(-1)[index, None]
    on_plane = np.zeros_like(mask)
    on_plane.ravel()[index] = np.abs(points @ normal + offset) < cut_m
    if (mask & core).any() and on_plane[mask & core].mean() > 0.3:
        return np.zeros_like(mask)  # the object's own face, not its support
    return on_plane

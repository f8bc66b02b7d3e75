"""The surface an object stands on, found beside its box, for ``depth_box``.

The support is depth-continuous with the object's base, so the depth-continuous piece
at a box's core takes on a strip of the floor or table around it, and through the
floor the wall behind it. The support shows beside the base: below the box and beside
its bottom corners, outside it (nothing of the object is there), else around the
corners inside it (a box at the image's bottom border). Of the planes most of those
pixels lie on, it is the first that an object could stand on:

- it faces up or down in the image (normal within 60 degrees of the optical y axis:
  a camera held roughly upright, as on a robot);
- the object's lowest pixels reach it (a neighbour's top beside the base is no
  support: its plane would cut a band through the object);
- the object is on the camera's side of it (the front face of the crate a book lies
  on passes the first two tests, but the book is behind that face).

The box's core decides what is cut: on the plane, it is the object's own face (a box
drawn tight around a cabinet front, a rug) and nothing is cut; just above it (a book,
a tray), the cut stays below half the core's height, so a flat object keeps its top.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SupportConfig", "support_pixels"]

Box = tuple[int, int, int, int]
#: A plane passing within this share of the points' range from the camera is seen
#: nearly edge-on (within about 6 degrees) and is not taken for a surface.
EDGE_ON = 0.1


@dataclass(frozen=True)
class SupportConfig:
    """``strip``/``corner``: the bottom share of the box height and the share of its
    width at each corner (reached outside the box too, and the strip below it); a
    plane must explain ``min_support`` of those pixels within ``tolerance_abs_m`` +
    ``tolerance_rel`` x depth; the object's lowest pixels must come within
    ``base_reach`` search tolerances of it; ``hypotheses``: how many of the best
    planes are tried."""

    strip: float = 0.15
    corner: float = 0.25
    tolerance_abs_m: float = 0.01
    tolerance_rel: float = 0.01
    iterations: int = 200
    min_support: float = 0.35
    min_pixels: int = 20
    base_reach: float = 2.0
    hypotheses: int = 8


@dataclass(frozen=True)
class _Plane:
    normal: np.ndarray  # unit, pointing to the camera's side
    offset: float  # signed distance of the camera from the plane (> 0)

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distances [m], positive on the camera's side."""
        return points @ self.normal + self.offset


def support_pixels(depth: np.ndarray, rays: np.ndarray, mask: np.ndarray, box: Box,
                   core: np.ndarray, *, config: SupportConfig = SupportConfig()
                   ) -> np.ndarray:
    """Pixels of ``mask`` (H, W) on the surface its object stands on, or none.
    ``core``: the box's central pixels, where the object is; ``rays``: (H, W, 3)."""
    nothing = np.zeros_like(mask)
    index = np.flatnonzero(mask.ravel())
    if index.size == 0:
        return nothing
    points = _points(depth, rays, index)
    flat_core = core.ravel()[index]
    base = _base_rows(mask.shape, box, config.strip).ravel()[index]
    outside, inside = _beside_base(depth, mask, box, core, config)
    ring = _ring(depth, box, max(4, int(config.corner * (box[2] - box[0]))))
    for where in (outside, outside | inside):
        candidates = np.flatnonzero(where.ravel())
        if candidates.size < config.min_pixels:
            continue
        candidates = candidates[::max(1, candidates.size // 1000)]  # enough for a plane
        beside = _points(depth, rays, candidates)
        # depth noise grows with range: the search tolerance does too
        tolerance_m = config.tolerance_abs_m + config.tolerance_rel * float(
            np.median(beside[:, 2]))
        around = _points(depth, rays, ring[::max(1, ring.size // 4000)])
        for found in _ranked_planes(beside, tolerance_m, config):
            plane, cut_m = _refit(found, np.concatenate([beside, around]), tolerance_m,
                                  config.tolerance_abs_m)
            distance = plane.distance(points)
            if base.any() and np.percentile(np.abs(distance[base]), 10) \
                    > config.base_reach * tolerance_m:
                continue  # the object does not reach it
            if flat_core.any():
                core_height = float(np.median(distance[flat_core]))
                if core_height < -cut_m:
                    continue  # the object is behind it: a face, not a support
                if core_height < cut_m:
                    return nothing  # the object's own face
                cut_m = min(cut_m, 0.5 * core_height)
            on_plane = nothing.copy()
            on_plane.ravel()[index] = np.abs(distance) < cut_m
            return on_plane
    return nothing


def _points(depth: np.ndarray, rays: np.ndarray, index: np.ndarray) -> np.ndarray:
    return rays.reshape(-1, 3)[index] * depth.reshape(-1)[index, None]


def _base_rows(shape: tuple[int, int], box: Box, strip: float) -> np.ndarray:
    x0, y0, x1, y1 = box
    rows = np.zeros(shape, bool)
    rows[max(y0, y1 - max(2, int(strip * (y1 - y0)))):y1, x0:x1] = True
    return rows


def _beside_base(depth: np.ndarray, mask: np.ndarray, box: Box, core: np.ndarray,
                 config: SupportConfig) -> tuple[np.ndarray, np.ndarray]:
    """Valid pixels where the support shows beside the base: (outside, inside) the box;
    inside, a boxy object's front face is among them."""
    x0, y0, x1, y1 = box
    height, width = depth.shape
    margin = max(4, int(config.corner * (x1 - x0)))
    band = max(2, int(config.strip * (y1 - y0)))
    rows = slice(max(0, y1 - band), min(height, y1 + band))
    near = np.zeros_like(mask)
    near[rows, max(0, x0 - margin):min(width, x0 + margin)] = True
    near[rows, max(0, x1 - margin):min(width, x1 + margin)] = True
    near[y1:min(height, y1 + band), max(0, x0 - margin):min(width, x1 + margin)] = True
    in_box = np.zeros_like(mask)
    in_box[y0:y1, x0:x1] = True
    valid = np.isfinite(depth)
    return near & ~in_box & valid, near & in_box & valid & ~(mask & core)


def _ring(depth: np.ndarray, box: Box, margin: int) -> np.ndarray:
    """Flat indices of the valid pixels within ``margin`` of the box, outside it."""
    x0, y0, x1, y1 = box
    ring = np.zeros(depth.shape, bool)
    ring[max(0, y0 - margin):y1 + margin, max(0, x0 - margin):x1 + margin] = True
    ring[y0:y1, x0:x1] = False
    return np.flatnonzero((ring & np.isfinite(depth)).ravel())


def _ranked_planes(points: np.ndarray, tolerance_m: float, config: SupportConfig
                   ) -> list[_Plane]:
    """The best distinct RANSAC planes facing the image's y axis within 60 degrees that
    hold ``config.min_support`` of ``points``, most inliers first; every hypothesis is
    scored in one matrix product."""
    rng = np.random.default_rng(0)  # deterministic masks for the same frame
    # a triple that repeats a point has no normal and is dropped below with the others
    picks = rng.integers(0, len(points), (config.iterations, 3))
    a, b, c = points[picks[:, 0]], points[picks[:, 1]], points[picks[:, 2]]
    normals = np.cross(b - a, c - a)
    norms = np.linalg.norm(normals, axis=1)
    upright = (norms > 1e-9) & (np.abs(normals[:, 1]) >= 0.5 * norms)
    normals = normals[upright] / norms[upright, None]
    offsets = -np.einsum("ij,ij->i", normals, a[upright])
    # a plane through (or near) the camera is seen edge-on: every pixel along one image
    # line lies on it whatever its depth (a band of pixels at the principal row fits
    # y = 0 perfectly), so it is no surface
    seen = np.abs(offsets) >= EDGE_ON * float(np.median(np.linalg.norm(points, axis=1)))
    normals, offsets = normals[seen], offsets[seen]
    inliers = np.abs(points @ normals.T + offsets) < tolerance_m
    counts = inliers.sum(axis=0)
    enough = counts >= config.min_support * len(points)
    remaining = np.flatnonzero(enough)[np.argsort(-counts[enough], kind="stable")]
    planes: list[_Plane] = []
    taken = np.zeros(len(points), bool)
    while remaining.size and len(planes) < config.hypotheses:
        # the first, in order of support, not mostly on the planes already taken (the
        # same surface again); what it skips would be skipped one by one too
        fresh = (inliers[:, remaining] & ~taken[:, None]).sum(axis=0)
        distinct = np.flatnonzero(fresh >= 0.5 * counts[remaining])
        if distinct.size == 0:
            break
        k = remaining[distinct[0]]
        remaining = remaining[distinct[0] + 1:]
        taken |= inliers[:, k]
        sign = 1.0 if offsets[k] >= 0 else -1.0
        planes.append(_Plane(sign * normals[k], sign * float(offsets[k])))
    return planes


def _refit(plane: _Plane, points: np.ndarray, tolerance_m: float, min_cut_m: float,
           rounds: int = 3) -> tuple[_Plane, float]:
    """The plane refit to its inliers among ``points`` (beside the base and all around
    the box, so its tilt holds across the object), and the cut width: 3 robust sigmas
    of its own noise (exact depth cuts a sliver, a noisy sensor a band as thick as its
    noise), at least ``min_cut_m``. Each round keeps the points within 3 sigmas of the
    last fit: a search tolerance wide enough for a noisy sensor also takes in a strip of
    the face below an edge (the front of the crate a book lies on), which tilts the
    first fit toward it."""
    sigma = tolerance_m / 3.0
    for _ in range(rounds):
        support = points[np.abs(plane.distance(points)) < max(3.0 * sigma, min_cut_m)]
        if len(support) < 3:
            break
        centre = support.mean(axis=0)
        normal = np.linalg.svd(support - centre, full_matrices=False)[2][2]
        if normal @ plane.normal < 0:
            normal = -normal
        if normal @ plane.normal < 0.95:
            break  # the refit left the plane that was found
        plane = _Plane(normal, -float(normal @ centre))
        sigma = 1.4826 * float(np.median(np.abs(plane.distance(support))))
    return plane, max(min_cut_m, 3.0 * sigma)

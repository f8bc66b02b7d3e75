"""The points a gap to an object is measured to: what the camera saw of it, and the
volume behind that along the camera's rays, as deep as the view shows the object to be
and within its box.

Why: a gap (closest points, 0 when touching) measured to the visible points alone is
too long whenever the nearest part of the object faces away from the camera. A gripper
pushing a cube from the side touches a face the camera sees edge-on: its nearest seen
point is an edge of that face, half the cube's edge away, so at contact the reward said
about 2 cm instead of 0, and a 2 cm success threshold was hardly ever reached
(``bench_live --sections approach``, push).

What the view does say: an opaque object continues behind every point seen of it,
along the camera's ray, for some depth, and not beyond its box. So each seen point is
swept along its ray by the least depth the view allows the object (its visible depth,
:func:`least_depth_m`), in steps of at most :data:`STEP_M`, and the sweep stops where
the ray leaves the object's box (seen from above, a table's top is swept down to the
floor and to its back, not 1.6 m down the ray to a ball behind it). The seeds are the
latest view's points; the box only clips.

What it costs: behind a thin or round object the sweep reaches further than the object
(a ball's sweep is a cylinder), so a gripper coming at it from behind reads short by at
most that difference; the visible points alone read long by up to the object's depth.
From the camera's side, and from above or beside an object, nothing changes: the swept
points lie behind the seen ones.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MAX_SWEPT_POINTS", "STEP_M", "least_depth_m", "surface_points"]

#: The sweep's step along a ray [m]: finer than the centimetre a reward resolves.
STEP_M = 0.01
#: At most this many swept points an object (seen points are thinned to keep to it): the
#: reward stream sweeps each object once a frame, 2-3 ms at this size on this CPU.
MAX_SWEPT_POINTS = 8_000


def _exit_along(seeds: np.ndarray, rays: np.ndarray, lo: np.ndarray,
                hi: np.ndarray) -> np.ndarray:
    """(N,) how far each ray from its seed runs before it leaves the box [lo, hi] (0 for a
    seed already outside it along the ray's way)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        wall = np.where(rays > 0, hi, lo)
        t = np.where(np.abs(rays) > 1e-12, (wall - seeds) / rays, np.inf)
    return np.maximum(t.min(axis=1), 0.0)


def surface_points(points: np.ndarray, depth_m: float, camera: np.ndarray,
                   box: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(N + K, 3) float32: the seen ``points`` (N, 3) and, behind them along the rays from
    ``camera`` (3,: the camera's position in the points' frame), the points swept ``depth_m``
    deep, and never out of ``box`` ((centre, extent), the object's box): behind a table's
    top, seen from above, the sweep stops at the floor and at the table's back, not 1.6 m
    down the ray. The seen points alone when the depth or the camera is not finite."""
    camera = np.asarray(camera, float).reshape(3)
    if points.shape[0] == 0 or not (math.isfinite(depth_m) and depth_m > 0
                                    and np.isfinite(camera).all()):
        return points
    steps = max(1, math.ceil(depth_m / STEP_M))
    stride = max(1, math.ceil(points.shape[0] * steps / MAX_SWEPT_POINTS))
    seeds = points[::stride].astype(float)
    rays = seeds - camera
    rays /= np.maximum(np.linalg.norm(rays, axis=1), 1e-9)[:, None]
    depths = np.linspace(depth_m / steps, depth_m, steps)
    swept = seeds[None] + depths[:, None, None] * rays[None]
    if box is not None:
        center, extent = (np.asarray(v, float).reshape(3) for v in box)
        if np.isfinite(center).all() and np.isfinite(extent).all():
            limit = _exit_along(seeds, rays, center - extent / 2, center + extent / 2)
            swept = swept[depths[:, None] <= limit[None] + STEP_M / 2]
    return np.concatenate([points.astype(np.float32, copy=False),
                           swept.reshape(-1, 3).astype(np.float32)])


def least_depth_m(extent_x: float, hidden_directions: np.ndarray,
                  hidden_reach_m: np.ndarray) -> float:
    """The least depth the view allows the object: its box depth ``extent_x`` less how
    far its back face may come forward (a far-side bound puts the box's back face in
    the middle of [visible, bound]: the least is the visible depth)."""
    directions = np.asarray(hidden_directions, float).reshape(-1, 3)
    reach = np.asarray(hidden_reach_m, float).reshape(-1, 2)
    forward = directions[:, 0] > 0.9 if len(reach) == len(directions) else np.zeros(0, bool)
    pulled = float(min(0.0, reach[forward, 0].min())) if forward.any() else 0.0
    return max(0.0, float(extent_x) + pulled)


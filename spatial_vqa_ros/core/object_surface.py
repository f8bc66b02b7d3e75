"""The points a gap to an object is measured to: what the camera saw of it, and the
volume behind that, along the camera's rays, as deep as the object is.

Why: a gap (closest points, 0 when touching) measured to the visible points alone is
too long whenever the nearest part of the object faces away from the camera. A gripper
pushing a cube from the side touches a face the camera sees edge-on: its nearest seen
point is an edge of that face, half the cube's edge away, so at contact the reward said
about 2 cm instead of 0, and a 2 cm success threshold was hardly ever reached
(``bench_live --sections approach``, push).

What the view does say: an opaque object continues behind every point seen of it,
along the camera's ray, for some depth; the object's depth extent (``extent_scene[0]``,
along the camera's heading, already the middle of its far-side bound: ``far_side``) is
the best estimate of how far. So each seen point is swept along its ray by that depth
(in steps of at most :data:`STEP_M`). Only the latest view's points are used, not the
tracked box, whose centre lags an object that moves (the pushed cube).

What it costs: behind a thin or round object the sweep reaches further than the object
(a ball's sweep is a cylinder), so a gripper coming at it from behind reads short by at
most that difference; the visible points alone read long by up to the object's depth.
From the camera's side, and from above or beside an object, nothing changes: the swept
points lie behind the seen ones.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MAX_SWEPT_POINTS", "STEP_M", "surface_points"]

#: The sweep's step along a ray [m]: finer than the centimetre a reward resolves.
STEP_M = 0.01
#: At most this many swept points an object (seen points are thinned to keep to it): the
#: reward stream sweeps each object once a frame, 2-3 ms at this size on this CPU.
MAX_SWEPT_POINTS = 8_000


def surface_points(points: np.ndarray, depth_m: float, camera: np.ndarray) -> np.ndarray:
    """(N + K, 3) float32: the seen ``points`` (N, 3) and, behind them along the rays from
    ``camera`` (3,: the camera's position in the points' frame), the points swept ``depth_m``
    deep. The seen points alone when the depth or the camera is not finite."""
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
    return np.concatenate([points.astype(np.float32, copy=False),
                           swept.reshape(-1, 3).astype(np.float32)])

"""Dense metric distance rewards between two things in view.

A side is a tracked object (by label, description or id) or an image region (the
valid depth points inside a RegionOfInterest, region-aware like SpatialRGPT's
fingertip/cube boxes). Distance is the *gap* (closest points, 0 when touching)
or the distance between box centres. Shaping turns it into a reward; a side that
is not localised makes the reward invalid (NaN), never a made-up number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .errors import CoreError
from .frame import Frame
from .objects import depth_continuous_pieces
from .relations import KDTreeCache, gap_distance
from .scene_frame import SceneFrame
from .scene_graph import SceneGraph

SHAPINGS = ("negative_distance", "exponential", "progress")
DISTANCE_KINDS = ("gap", "center")


@dataclass(frozen=True)
class RegionPoints:
    """Points of an image region, lifted to the scene frame: (N, 3) float32."""

    name: str
    points_scene: np.ndarray

    @property
    def center_scene(self) -> np.ndarray:
        lo, hi = self.points_scene.min(axis=0), self.points_scene.max(axis=0)
        return ((lo + hi) / 2).astype(np.float64)


@dataclass(frozen=True)
class RewardResult:
    distance_m: float
    reward: float
    valid: bool
    error: str = ""


def region_points(frame: Frame, scene: SceneFrame, roi_xywh: tuple[int, int, int, int],
                  min_points: int = 10) -> RegionPoints:
    """Lift the valid depth inside an (x, y, w, h) region; keep its main surface.

    A region drawn around a fingertip also holds background; keeping the largest
    depth-continuous component (and anything as near as it) selects the thing the
    region was drawn around, which is in front.
    """
    x, y, w, h = (int(v) for v in roi_xywh)
    height, width = frame.depth_m.shape
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise CoreError(f"region x={x} y={y} w={w} h={h} is empty or outside the "
                        f"{width}x{height} image")
    rows, cols = slice(y, y + h), slice(x, x + w)
    stride = max(1, int(math.sqrt(w * h / 4000)))
    sub = (slice(None, None, stride), slice(None, None, stride))
    depth = frame.depth_m[rows, cols][sub]
    valid = np.isfinite(depth)
    if valid.sum() < min_points:
        raise CoreError(f"region x={x} y={y} w={w} h={h} has {int(valid.sum())} valid depth "
                        f"pixels (need {min_points})")
    threshold = 0.02 + 0.04 * np.nan_to_num(depth) * stride
    pieces, count = depth_continuous_pieces(depth, valid, threshold)
    if count == 0:
        raise CoreError(f"region x={x} y={y} w={w} h={h} has no smooth surface")
    sizes = np.bincount(pieces.ravel(), minlength=count + 1)[1:]
    mean_depth = ndimage.mean(depth, pieces, index=np.arange(1, count + 1))
    big = sizes >= max(min_points, 0.1 * sizes.max())
    nearest = int(np.argmin(np.where(big, mean_depth, np.inf))) + 1
    keep = pieces == nearest
    z = depth[keep]
    rays = frame.camera.rays()[rows, cols][sub][keep]
    points = scene.to_scene((rays * z[:, None]).astype(np.float32))
    return RegionPoints(f"roi:{x},{y},{w},{h}", points[np.isfinite(points).all(axis=1)])


def distance_between(a_points: np.ndarray, a_center: np.ndarray, b_points: np.ndarray,
                     b_center: np.ndarray, kind: str, cache: KDTreeCache | None = None
                     ) -> float:
    if kind == "gap":
        return gap_distance(a_points, b_points, cache)
    if kind == "center":
        return float(np.linalg.norm(a_center - b_center))
    raise CoreError(f"distance kind must be one of {DISTANCE_KINDS}, got {kind!r}")


def shape_reward(distance_m: float, shaping: str, scale: float,
                 previous_distance_m: float | None) -> float:
    """Reward for a distance. ``progress`` is potential-based: scale * (d_prev - d)."""
    if not math.isfinite(distance_m):
        return float("nan")
    scale = scale if scale > 0 else 1.0
    if shaping == "negative_distance":
        return -scale * distance_m
    if shaping == "exponential":
        return math.exp(-distance_m / scale)
    if shaping == "progress":
        if previous_distance_m is None or not math.isfinite(previous_distance_m):
            return 0.0
        return scale * (previous_distance_m - distance_m)
    raise CoreError(f"shaping must be one of {SHAPINGS}, got {shaping!r}")


def object_side(graph: SceneGraph, name: str) -> tuple[str, np.ndarray, np.ndarray]:
    """(description, points, centre) of a named object; raises UnknownObjectError."""
    obj = graph.find(name)
    return obj.description, obj.points_scene, obj.center_scene

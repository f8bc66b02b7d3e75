"""Bounds for the part of an object hidden behind a nearer one (issue 22).

Where a side of an object's outline runs along a nearer surface (``outline``), the
object may continue behind it. It cannot continue farther than two things allow:

- no indoor object is longer than ``MAX_OBJECT_EXTENT_M`` along any axis (less what is
  seen), the border's bound (``cut_bounds``);
- the hidden part projects inside the occluder's silhouette, or the camera would see
  it: at most as many pixels beyond the object's edge as the occluder's mask reaches
  past it, which at the object's farthest visible depth z is
  ``pixels * z / (f * lean)`` metres along a scene axis that moves a point across that
  side of the image by ``lean`` per metre (``cut_bounds.side_directions``). An occluder
  that is no known mask (unlabelled), or whose mask reaches the image border on that
  side, gives no view bound.

Above an object's seen top, an occluder hides nothing higher than its own top when
the camera is above that top: a ray grazing the occluder's top descends beyond it, so
every point it hides lies lower (``up_reach_behind``). An object seen to stand taller
than the occluder in front of it then has its height in view, and image-up behind the
occluder is only "farther" (a camera looking down sees image-up as both).

Beside the occluder, the rest of a left or right side may show the object's edge: for
an upright prism that edge is the edge behind the occluder too, and that axis is no
hidden direction of the side (``seen_edges``).

Below an object lies at most the floor: a "down" direction, whatever hides it, reaches
no lower than the floor when one is found. Chains (an object hidden behind an occluder
that is itself hidden) are bounded by the first occluder only.
"""

from __future__ import annotations

import math

import numpy as np

from .cut_bounds import MAX_OBJECT_EXTENT_M, side_directions

#: Image sides in the order they are looked at; (index of the crop's slice: 0 rows,
#: 1 columns, which end of it: 0 start, 1 stop).
_SIDE_EDGE = {"left": (1, 0), "right": (1, 1), "top": (0, 0), "bottom": (0, 1)}


def occluder_reach_px(side: str, crop: tuple[slice, slice],
                      occluder_crop: tuple[slice, slice] | None,
                      grid_shape: tuple[int, int]) -> float:
    """Grid pixels by which the occluder's mask reaches past the object's ``side``
    (at least 1: it hides the edge); inf when unknown or cut by the image border."""
    if occluder_crop is None:
        return float("inf")
    axis, end = _SIDE_EDGE[side]
    own, other = crop[axis], occluder_crop[axis]
    if end == 0:
        return float("inf") if other.start == 0 else float(max(own.start - other.start, 1))
    if other.stop >= grid_shape[axis]:
        return float("inf")
    return float(max(other.stop - own.stop, 1))


#: Slack on an occluder's measured top [m] (its box is pushed out by the depth noise
#: already; this covers a few dropped edge pixels).
TOP_SLACK_M = 0.02


def up_reach_behind(own_top_z_m: float, occluder_top_z_m: float, camera_z_m: float
                    ) -> float:
    """How far above its seen top (scene z) an object can continue behind an occluder
    whose seen top is ``occluder_top_z_m``: every point the occluder hides lies below
    its top when the camera is above it (see the module docstring); inf when the camera
    is not above it or a height is unknown."""
    top = occluder_top_z_m + TOP_SLACK_M
    if not (math.isfinite(own_top_z_m) and math.isfinite(top) and math.isfinite(camera_z_m)):
        return math.inf
    if camera_z_m <= top:
        return math.inf
    return max(top - own_top_z_m, 0.0)


def occlusion_directions(occluded_sides: dict[str, float], *, extent_scene: np.ndarray,
                         rotation_scene_from_cam: np.ndarray, far_depth_m: float,
                         focal_px: tuple[float, float], stride: int,
                         up_reach_m: dict[str, float] | None = None,
                         max_extent_m: float = MAX_OBJECT_EXTENT_M,
                         seen_axes: dict[str, set[int]] | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(k, 3) unit scene axes and (k, 2) reaches [0, max] of the parts that may lie
    behind occluders; ``occluded_sides``: side -> occluder reach in grid pixels (see
    :func:`occluder_reach_px`); ``up_reach_m``: side -> the most its occluder lets the
    object rise above its seen top (:func:`up_reach_behind`; absent: no such bound),
    and an "up" that bound closes is no hidden direction; ``max_extent_m``: the
    longest object (``ObjectConfig.max_object_extent_m``); ``seen_axes``: side -> the
    axes along which that side's edge is seen beside its occluder (``seen_edges``), no
    hidden direction of that side. Two sides that move the part along one axis give it
    once, with the wider reach."""
    # per object in every frame: plain floats keyed by the axis, arrays built once
    reach: dict[tuple[float, ...], float] = {}
    up_reach_m = up_reach_m or {}
    for side, pixels in occluded_sides.items():
        focal = focal_px[0] if side in ("left", "right") else focal_px[1]
        for axis, row, lean in side_directions(side, rotation_scene_from_cam):
            if seen_axes and axis in seen_axes.get(side, ()):
                continue
            cap = max(max_extent_m - float(extent_scene[axis]), 0.0)
            view = pixels * stride * far_depth_m / (focal * lean)
            bound = min(cap, view)
            if row[2] > 0.5:
                bound = min(bound, up_reach_m.get(side, math.inf))
                if bound <= 0.0:
                    continue
            key = tuple(row.tolist())
            reach[key] = max(reach[key], bound) if key in reach else bound
    directions = np.array(list(reach), float).reshape(-1, 3)
    return directions, np.array([(0.0, r) for r in reach.values()], float).reshape(-1, 2)


Hidden = tuple[np.ndarray, np.ndarray, tuple[str, ...]]


def merge_hidden(hidden: Hidden, more_directions: np.ndarray, more_reach: np.ndarray, *,
                 cause: str) -> Hidden:
    """Directions of one cause added to ``hidden`` (directions, reaches, causes); a
    direction already there keeps its cause and takes the wider reach (a side both cut
    and occluded moves once)."""
    directions, reach, causes = hidden
    # a handful of rows per object in every frame: merged as Python floats, which
    # compare and take min/max exactly as the arrays' elements do
    rows = [tuple(row) for row in np.asarray(directions).tolist()]
    spans = [tuple(r) for r in np.asarray(reach).tolist()]
    causes_out = list(causes)
    for row, (low, high) in zip(np.asarray(more_directions).tolist(),
                                np.asarray(more_reach).tolist()):
        key = tuple(row)
        if key in rows:
            i = rows.index(key)
            spans[i] = (min(spans[i][0], low), max(spans[i][1], high))
        else:
            rows.append(key)
            spans.append((low, high))
            causes_out.append(cause)
    return (np.array(rows, np.result_type(directions, more_directions)).reshape(-1, 3),
            np.array(spans, np.result_type(reach, more_reach)).reshape(-1, 2),
            tuple(causes_out))


def floor_limited(directions: np.ndarray, reach: np.ndarray, bottom_z_m: float
                  ) -> np.ndarray:
    """Reaches with "down" no deeper than the floor (scene z = 0) below the visible
    bottom ``bottom_z_m`` (2 cm slack for noise)."""
    reach = reach.copy()
    down = directions[:, 2] < -0.5
    reach[down, 1] = np.minimum(reach[down, 1], max(bottom_z_m, 0.0) + 0.02)
    return reach

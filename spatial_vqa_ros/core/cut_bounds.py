"""Honest statements about objects cut by the image border.

An object cut by the border is measured from its visible part, so its centre is off
by half of what is missing, and the missing part can be anywhere beyond the border.
The sizes of such objects are never stated (``gate``: ``partial``); this module makes
their positions honest too. What is known:

- the hidden part lies beyond the border it was cut at: beyond the top of the image
  is farther and higher (scene +x, +z for a camera looking down), beyond a side is to
  that side (+y left, -y right), beyond the bottom is lower (the base), and a support
  under the object fixes its base (``completion`` snaps it, and that direction is
  dropped then);
- no indoor object is longer than :data:`MAX_OBJECT_EXTENT_M` along any axis, so the
  centre moves at most half of that, less the part already seen, along each of those
  directions.

That bounds every centre coordinate to an interval, and with it every measure and
position predicate: a distance is stated only when all centres the hidden part allows
give values within :data:`MAX_SPREAD_RATIO` of each other (the stated, visible-based
value is one of them, so it is within 20% of the truth wherever the truth lies), a
predicate only when it holds beyond its margin for all of them. Objects cut by
nothing have empty direction lists and are unaffected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

__all__ = ["MAX_BEARING_SPREAD_DEG", "MAX_OBJECT_EXTENT_M", "MAX_SPREAD_RATIO", "NO_DIRECTIONS",
           "bearing_range_deg", "coordinate_box", "difference_box", "has_hidden_part",
           "hidden_directions", "measure_interval", "without_lower"]

#: The longest an indoor object is along any axis [m] (a wardrobe's height, a sofa).
MAX_OBJECT_EXTENT_M = 2.5
#: A measure with a cut object is stated when its largest possible value is at most
#: this times its smallest.
MAX_SPREAD_RATIO = 1.2
#: A direction with a cut object is stated when the bearings allowed lie within this
#: [deg]: half an hour on the clock.
MAX_BEARING_SPREAD_DEG = 15.0
#: A camera direction counts toward a scene axis when it leans on it by more than this
#: (sin 10 degrees): a camera looking down 10-45 degrees sees "up" in the image as both
#: farther and higher.
_AXIS_LEAN = 0.17
#: Unit directions, in camera coordinates (x right, y down), beyond each image border,
#: and the scene axes a part hidden there can extend along. Below the bottom border
#: an object goes on down (its base, until a support fixes it), not toward the camera:
#: the near side is what the camera sees.
_BORDER_CAM = {"top": ((0.0, -1.0, 0.0), (0, 1, 2)), "bottom": ((0.0, 1.0, 0.0), (2,)),
               "left": ((-1.0, 0.0, 0.0), (0, 1, 2)), "right": ((1.0, 0.0, 0.0), (0, 1, 2))}
NO_DIRECTIONS = np.zeros((0, 3))


def hidden_directions(cut_sides: Mapping[str, bool], rotation_scene_from_cam: np.ndarray
                      ) -> np.ndarray:
    """(k, 3) unit scene axes along which the part beyond the cut borders may lie."""
    rows: list[tuple[float, float, float]] = []
    for side, cut in cut_sides.items():
        if not cut:
            continue
        border, axes = _BORDER_CAM[side]
        direction = np.asarray(rotation_scene_from_cam, float) @ np.array(border)
        for axis in axes:
            if abs(direction[axis]) > _AXIS_LEAN:
                row = [0.0, 0.0, 0.0]
                row[axis] = math.copysign(1.0, direction[axis])
                if tuple(row) not in rows:
                    rows.append((row[0], row[1], row[2]))
    return np.array(rows, float).reshape(-1, 3)


def _directions(o: object) -> np.ndarray:
    directions = getattr(o, "hidden_directions", None)
    return NO_DIRECTIONS if directions is None else np.asarray(directions, float)


def coordinate_box(o: object) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis lowest and highest centre the object's hidden part allows (the centre
    itself for an object cut by nothing). Directions that are not axis-aligned (a
    track seen from a turned camera) are boxed per axis, which only widens the box."""
    center = np.asarray(o.center_scene, float)  # type: ignore[attr-defined]
    lo, hi = center.copy(), center.copy()
    extent = np.asarray(o.extent_scene, float)  # type: ignore[attr-defined]
    for direction in _directions(o):
        seen = float(np.abs(direction) @ extent)
        reach = max(0.0, (MAX_OBJECT_EXTENT_M - seen) / 2.0) * direction
        lo += np.minimum(reach, 0.0)
        hi += np.maximum(reach, 0.0)
    return lo, hi


def difference_box(a: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis bounds of ``a``'s centre minus ``b``'s."""
    a_lo, a_hi = coordinate_box(a)
    b_lo, b_hi = coordinate_box(b)
    return a_lo - b_hi, a_hi - b_lo


def _abs_bounds(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis bounds of |x| for x within [lo, hi]."""
    low = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    return low, np.maximum(np.abs(lo), np.abs(hi))


#: The axes each centre-distance measure reads.
_MEASURE_AXES = {"distance": (0, 1, 2), "horizontal_distance": (0, 1),
                 "vertical_distance": (2,)}


def measure_interval(name: str, a: object, b: object) -> tuple[float, float]:
    """Smallest and largest value a centre-distance measure can take (exact for
    axis-aligned directions: each axis moves on its own)."""
    lo, hi = difference_box(a, b)
    low, high = _abs_bounds(lo, hi)
    axes = list(_MEASURE_AXES[name])
    return float(np.linalg.norm(low[axes])), float(np.linalg.norm(high[axes]))


def bearing_range_deg(a: object, b: object) -> float:
    """How far apart the bearings of ``b`` from ``a`` can be [deg] (360 when the
    horizontal offsets allowed include zero: any bearing)."""
    lo, hi = difference_box(b, a)
    if lo[0] <= 0 <= hi[0] and lo[1] <= 0 <= hi[1]:
        return 360.0
    corners = [math.atan2(y, x) for x in (lo[0], hi[0]) for y in (lo[1], hi[1])]
    reference = corners[0]
    spread = [(c - reference + math.pi) % (2 * math.pi) - math.pi for c in corners]
    return math.degrees(max(spread) - min(spread))


def has_hidden_part(o: object) -> bool:
    return _directions(o).shape[0] > 0


def without_lower(directions: np.ndarray) -> np.ndarray:
    """The directions less "down": for an object whose base rests on a support."""
    directions = np.asarray(directions, float).reshape(-1, 3)
    return directions[directions[:, 2] > -0.5]

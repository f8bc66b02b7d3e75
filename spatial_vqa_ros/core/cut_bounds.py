"""Honest statements about objects cut by the image border.

An object cut by the border is measured from its visible part, so its centre is off
by half of what is missing, and the missing part can be anywhere beyond the border.
The sizes of such objects are never stated (``gate``: ``partial``); this module makes
their positions honest too. What is known:

- the hidden part lies beyond the border it was cut at: beyond the top of the image is
  farther and higher (scene +x, +z for a camera looking down), beyond a side is to
  that side (+y left, -y right; unless that side's edge is seen at the object's
  extreme away from the border, ``seen_edges``), beyond the bottom is lower (the
  base), and a support under the object fixes its base (``completion`` snaps it, and
  that direction is dropped then); where the bottom border cuts across the object's
  top (a table seen from above), the top may also go on toward the camera
  (``hidden_parts``);
- no indoor object is longer than :data:`MAX_OBJECT_EXTENT_M` along any axis, so the
  centre moves at most half of that, less the part already seen, along each of those
  directions.

That bounds every centre coordinate to an interval, and with it every measure and
position predicate: a distance is stated only when all centres the hidden part allows
give values within :data:`MAX_SPREAD_RATIO` of each other (the stated, visible-based
value is one of them, so it is within 20% of the truth wherever the truth lies), a
predicate only when it holds beyond its margin for all of them. Objects cut by
nothing have empty direction lists and are unaffected.

The same bound serves every part the camera cannot see (issue 22). Each hidden
direction carries a *reach*: the interval [min, max] by which the true face of the
object's box along that direction may lie beyond the stated face (max >= 0: the object
may continue that far; min <= 0: the stated box may be that much too long there), and a
*cause*, which names the gate's reason:

- ``border`` (reason ``partial``): cut by the image border; reach [0, MAX - seen];
- ``occluded`` (reason ``occluded``): the outline runs along a nearer surface
  (``outline``); reach [0, what the occluder's silhouette can hide at the object's
  depth], at most MAX - seen;
- ``far_side`` (reason ``far_side``): the back of the object, along the view
  (``far_side``); the box is the middle of the depths the view allows, so the reach
  is symmetric.

Objects written before reaches existed (directions only) read as ``border`` with
[0, MAX - seen], what they meant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["CAUSES", "HORIZONTAL_AXES", "MAX_BEARING_SPREAD_DEG", "MAX_OBJECT_EXTENT_M",
           "MAX_SPREAD_RATIO", "NO_DIRECTIONS", "NO_REACH", "bearing_range_deg", "border_reach",
           "coordinate_box", "difference_box", "has_hidden_part", "hidden_causes",
           "hidden_directions", "hidden_reach", "measure_interval", "only_cause", "side_directions",
           "size_interval", "without_lower"]

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
#: the near side is what the camera sees, unless the border cuts across its top
#: (``hidden_parts`` adds "nearer" then).
_BORDER_CAM = {"top": ((0.0, -1.0, 0.0), (0, 1, 2)), "bottom": ((0.0, 1.0, 0.0), (2,)),
               "left": ((-1.0, 0.0, 0.0), (0, 1, 2)), "right": ((1.0, 0.0, 0.0), (0, 1, 2))}
#: The horizontal scene axes (x depth, y width), which a left or right side moves a
#: hidden part along (with z, height, where the camera is tilted or rolled).
HORIZONTAL_AXES = (0, 1)
NO_DIRECTIONS = np.zeros((0, 3))
NO_REACH = np.zeros((0, 2))
#: Why a part may be hidden, in the order the gate names them.
CAUSES = ("border", "occluded", "far_side")


def side_directions(side: str, rotation_scene_from_cam: np.ndarray
                    ) -> list[tuple[int, np.ndarray, float]]:
    """(axis, unit scene axis, lean) for each scene axis a part hidden beyond an image
    side (``top``, ``bottom``, ``left``, ``right``) can extend along; ``lean`` is how
    much the axis moves the part across that side in the image (|cos|, > _AXIS_LEAN)."""
    border, axes = _BORDER_CAM[side]
    direction = np.asarray(rotation_scene_from_cam, float) @ np.array(border)
    out = []
    for axis in axes:
        if abs(direction[axis]) > _AXIS_LEAN:
            row = np.zeros(3)
            row[axis] = math.copysign(1.0, direction[axis])
            out.append((axis, row, abs(float(direction[axis]))))
    return out


def hidden_directions(cut_sides: Mapping[str, bool], rotation_scene_from_cam: np.ndarray,
                      seen_axes: Mapping[str, set[int]] | None = None) -> np.ndarray:
    """(k, 3) unit scene axes along which the part beyond the cut borders may lie;
    ``seen_axes``: side -> the axes along which that side's edge is seen away from the
    border (``seen_edges``), no hidden direction of that side."""
    rows: list[tuple[float, float, float]] = []
    for side, cut in cut_sides.items():
        if not cut:
            continue
        closed = seen_axes.get(side, ()) if seen_axes else ()
        for axis, row, _ in side_directions(side, rotation_scene_from_cam):
            if axis not in closed and tuple(row) not in rows:
                rows.append((row[0], row[1], row[2]))
    return np.array(rows, float).reshape(-1, 3)


def border_reach(directions: np.ndarray, extent_scene: np.ndarray,
                 max_extent_m: float = MAX_OBJECT_EXTENT_M) -> np.ndarray:
    """(k, 2) reach of parts cut off by the border: [0, max_extent_m - seen] per
    direction (``max_extent_m``: the longest object of the scenes at hand, the
    indoor prior by default; outdoor scenes need more)."""
    directions = np.asarray(directions, float).reshape(-1, 3)
    if not len(directions):
        return np.zeros((0, 2))  # most objects are cut by nothing: no product to take
    seen = np.abs(directions) @ np.asarray(extent_scene, float)
    return np.stack([np.zeros(len(seen)), np.maximum(max_extent_m - seen, 0.0)], 1)


def _directions(o: object) -> np.ndarray:
    directions = getattr(o, "hidden_directions", None)
    return NO_DIRECTIONS if directions is None else np.asarray(directions, float).reshape(-1, 3)


def hidden_reach(o: object) -> np.ndarray:
    """(k, 2) reach [min, max] of each hidden direction (see the module docstring);
    the border's [0, MAX - seen] for objects that carry directions only."""
    directions = _directions(o)
    reach = getattr(o, "hidden_reach_m", None)
    if reach is not None and np.shape(reach) == (len(directions), 2):
        return np.asarray(reach, float)
    return border_reach(directions, o.extent_scene)  # type: ignore[attr-defined]


def hidden_causes(o: object) -> tuple[str, ...]:
    """The cause of each hidden direction (``border`` for objects that carry none)."""
    causes = tuple(getattr(o, "hidden_causes", ()) or ())
    count = len(_directions(o))
    return causes if len(causes) == count else ("border",) * count


@dataclass(frozen=True)
class _Only:
    """An object with only the hidden directions of some causes (the gate asks which
    cause leaves a statement open)."""

    center_scene: np.ndarray
    extent_scene: np.ndarray
    hidden_directions: np.ndarray
    hidden_reach_m: np.ndarray
    hidden_causes: tuple[str, ...]


def only_cause(o: object, cause: str) -> _Only:
    keep = np.array([c == cause for c in hidden_causes(o)], bool).reshape(-1)
    return _Only(np.asarray(o.center_scene, float),  # type: ignore[attr-defined]
                 np.asarray(o.extent_scene, float),  # type: ignore[attr-defined]
                 _directions(o)[keep], hidden_reach(o)[keep],
                 tuple(c for c in hidden_causes(o) if c == cause))


def coordinate_box(o: object) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis lowest and highest centre the object's hidden part allows (the centre
    itself for an object cut by nothing): a face moving by t along a direction moves
    the centre by t/2. Directions that are not axis-aligned (a track seen from a turned
    camera) are boxed per axis, which only widens the box."""
    center = np.asarray(o.center_scene, float)  # type: ignore[attr-defined]
    lo, hi = center.copy(), center.copy()
    for direction, (t_lo, t_hi) in zip(_directions(o), hidden_reach(o)):
        a, b = t_lo / 2.0 * direction, t_hi / 2.0 * direction
        lo += np.minimum(np.minimum(a, b), 0.0)
        hi += np.maximum(np.maximum(a, b), 0.0)
    return lo, hi


def size_interval(o: object, axis: int) -> tuple[float, float]:
    """Smallest and largest extent along a scene axis that the hidden parts allow."""
    extent = float(o.extent_scene[axis])  # type: ignore[attr-defined]
    low = high = extent
    for direction, (t_lo, t_hi) in zip(_directions(o), hidden_reach(o)):
        lean = abs(float(direction[axis]))
        low, high = low + lean * t_lo, high + lean * t_hi
    return max(low, 0.0), high


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


def without_lower(o: object) -> dict[str, object]:
    """The hidden directions (with reach and cause) less "down", as fields for
    ``dataclasses.replace``: for an object whose base rests on a support. An object
    whose only hidden part was below is then seen whole: ``partial`` False too."""
    directions = _directions(o)
    keep = directions[:, 2] > -0.5
    if keep.all():  # nothing below (most objects): the fields as they are
        return {"hidden_directions": directions, "hidden_reach_m": hidden_reach(o),
                "hidden_causes": hidden_causes(o)}
    fields: dict[str, object] = {
        "hidden_directions": directions[keep], "hidden_reach_m": hidden_reach(o)[keep],
        "hidden_causes": tuple(c for c, k in zip(hidden_causes(o), keep) if k)}
    if not keep.any():
        fields["partial"] = False
    return fields

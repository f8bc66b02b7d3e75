"""Reduce single-view bias: what a camera cannot see of an object, inferred soundly.

A camera sees only the near side of an object. The correction made here is the one
physics supports without a shape prior:

- **Support**: an object resting on the floor (or on another object's top)
  extends down to it. Its lowest visible point is usually a little above the
  contact (the base curves away, or something in front hides it); one that depth
  noise puts below the floor is raised to it. A ball's base is known from its round
  silhouette (``round_outline``) and is kept, and what rests on a ball has its middle
  over the ball, not over the corners of its box.

- **Far side**: the hidden back (depth extent, centre along the view) is not guessed
  but bounded from what the view shows, and the box takes the middle of that bound
  (``far_side``); the gate states only what holds over it. What remains is documented
  in README.md ("How objects are measured, and single-view bias").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .cut_bounds import MAX_OBJECT_EXTENT_M, hidden_causes, hidden_reach, without_lower
from .far_side import FAR_SIDE_PRIOR_K, bound_far_side
from .objects import ObjectEstimate
from .occlusion import merge_hidden
from .scene_frame import SceneFrame

#: Straight down in the scene frame.
_DOWN = np.array([[0.0, 0.0, -1.0]])
#: An object whose lowest visible point lies at most this far below the top of the
#: object hiding its base rests on that object [m]: where a book lies on a crate, the
#: two meet at the crate's top, which depth noise or a monocular model's warp of 1%
#: puts a centimetre or two above the book's base; an object standing behind an
#: occluder shows its lowest point well below the occluder's top (the camera looks
#: down over the edge), 0.4 m for a bin 0.7 m behind a box seen from 30 degrees.
RESTS_ON_OCCLUDER_M = 0.03
#: The same, when the occluder's box reaches under the object (the view shows the
#: support below it): the support's top may read higher still, by what lies on it, when
#: its mask takes a strip of that object (a crate read 2.8 cm above the book lying on it,
#: bench_live's moving camera, room 0), and the object cannot stand on the floor there.
RESTS_ON_OCCLUDER_UNDER_M = 0.06


@dataclass(frozen=True)
class CompletionConfig:
    #: An object whose lowest visible point is within ``snap_m`` + ``snap_rel`` x its
    #: visible height above a support (the floor, or the top of an object under it)
    #: rests on that support: a curved base (ball, bottle on its side) hides its
    #: lowest part from a camera above it.
    snap_m: float = 0.04
    snap_rel: float = 0.35
    #: When something in front hides the object's base (this fraction of its lower
    #: outline occluded), it rests on the support under it at any gap up to max_hidden_m.
    occluded_bottom: float = 0.3
    max_hidden_m: float = 1.0
    #: An object whose base is within this of its support rests on it [m].
    resting_m: float = 0.03
    #: The far-side prior (``far_side.FAR_SIDE_PRIOR_K``): depth <= k x largest extent.
    far_side_k: float = FAR_SIDE_PRIOR_K


def _with_z_range(e: ObjectEstimate, z_lo: float, z_hi: float) -> ObjectEstimate:
    center = e.center_scene.copy()
    extent = e.extent_scene.copy()
    center[2] = (z_lo + z_hi) / 2
    extent[2] = z_hi - z_lo
    # the base now rests on its support: the part below the image border is known
    return replace(e, center_scene=center, extent_scene=extent, **without_lower(e))


def _tops_below(estimates: list[ObjectEstimate]) -> list[float]:
    """For each object, the highest top of another localised object at or below its
    base (1 cm slack) whose floor footprint overlaps its own; 0 (the floor) when none.

    Every object looks among all the others, n^2 pairs a frame: on Python floats (the
    same IEEE arithmetic as the arrays' elements), which for tens of objects is
    cheaper than numpy's per-call cost.
    """
    boxes = []
    for e in estimates:
        (x, y, z), (dx, dy, dz) = e.center_scene.tolist(), e.extent_scene.tolist()
        radius = float(e.ball_radius_m)  # a ball's centre lies its radius beyond its front
        boxes.append((z + dz / 2, z - dz / 2, x - dx / 2, y - dy / 2, x + dx / 2, y + dy / 2,
                      e.localised, x - dx / 2 + radius, y, radius))
    out = []
    for i, (_, base, x_lo, y_lo, x_hi, y_hi, *_) in enumerate(boxes):
        best = 0.0
        for j, (top, _, ox_lo, oy_lo, ox_hi, oy_hi, localised, ox, oy, radius) in \
                enumerate(boxes):
            if (j != i and localised and best < top <= base + 0.01 and x_lo < ox_hi
                    and y_lo < oy_hi and ox_lo < x_hi and oy_lo < y_hi
                    and _over_ball((x_lo, y_lo, x_hi, y_hi), (ox, oy, radius))):
                best = top
        out.append(best)
    return out


def _over_ball(footprint: tuple[float, float, float, float],
               ball: tuple[float, float, float]) -> bool:
    """Whether the middle of a footprint (x_lo, y_lo, x_hi, y_hi) lies over a ball's
    disc (x, y, radius): what rests on a ball sits on its top (the corners of its box
    are empty space); True for a NaN radius, no ball."""
    x_lo, y_lo, x_hi, y_hi = footprint
    x, y, radius = ball
    if math.isnan(radius):
        return True
    return math.hypot((x_lo + x_hi) / 2 - x, (y_lo + y_hi) / 2 - y) <= radius


def _support_below(e: ObjectEstimate, estimates: list[ObjectEstimate], top_below: float,
                   z_lo: float) -> tuple[float, bool]:
    """Height of the surface the object stands on: an object top, else the floor; and
    whether the view shows it under the object.

    The object hiding the base is the first candidate (a mug behind a table's front
    edge stands on the table, even when the table's box, seen from the front, is too
    shallow to reach under the mug); then the highest object top under it whose
    footprint overlaps (``top_below``, :func:`_tops_below`). When the object hiding the
    base is taken and its box ends before the object's front (along the view), the view
    cannot tell a mug on the table from a bin on the floor behind a box: not shown.
    """
    if 0 <= e.base_occluder < len(estimates):
        occluder = estimates[e.base_occluder]
        if occluder.localised:
            top = float(occluder.center_scene[2] + occluder.extent_scene[2] / 2)
            lateral_overlap = abs(occluder.center_scene[1] - e.center_scene[1]) < (
                occluder.extent_scene[1] + e.extent_scene[1]) / 2
            under = (occluder.center_scene[0] + occluder.extent_scene[0] / 2
                     > e.center_scene[0] - e.extent_scene[0] / 2)
            reach = RESTS_ON_OCCLUDER_UNDER_M if under else RESTS_ON_OCCLUDER_M
            if 0.0 < top <= z_lo + reach and lateral_overlap:
                return top, bool(under)
    return float(top_below), True


def snap_to_support(estimates: list[ObjectEstimate], config: CompletionConfig
                    ) -> list[ObjectEstimate]:
    """Extend objects down to the floor or to the top of the object they stand on."""
    tops = _tops_below(estimates)
    out = []
    for i, e in enumerate(estimates):
        if not e.localised or np.isfinite(e.ball_radius_m):  # a ball's base is known
            out.append(e)
            continue
        z_lo = e.center_scene[2] - e.extent_scene[2] / 2
        z_hi = e.center_scene[2] + e.extent_scene[2] / 2
        support, shown = _support_below(e, estimates, tops[i], z_lo)
        gap = z_lo - support
        base_hidden = e.occluded_bottom > config.occluded_bottom and gap <= config.max_hidden_m
        if gap <= config.snap_m + config.snap_rel * (z_hi - z_lo) or base_hidden:
            # nothing sinks into the floor (a fitted plane, good to millimetres): points
            # below it are depth noise; an object's top may read high (a mask taking a
            # strip of what lies on it), so a base below one is kept
            base = support if support == 0.0 else min(support, z_lo)
            snapped = _with_z_range(e, base, z_hi)
            # on a support the view does not show under it, the base may still reach
            # down to the floor: a hidden part below, behind the object hiding it
            out.append(snapped if shown or base <= 0.0 else _may_reach_down(snapped, base))
        else:
            out.append(e)
    return out


def _may_reach_down(e: ObjectEstimate, base_m: float) -> ObjectEstimate:
    directions, reach, causes = merge_hidden(
        (np.asarray(e.hidden_directions, float).reshape(-1, 3), hidden_reach(e),
         hidden_causes(e)), _DOWN, np.array([[0.0, base_m]]), cause="occluded")
    return replace(e, hidden_directions=directions, hidden_reach_m=reach,
                   hidden_causes=causes)


def _resting(estimates: list[ObjectEstimate], config: CompletionConfig) -> list[bool]:
    """Whether each object stands on a support (within ``resting_m`` of it)."""
    tops = _tops_below(estimates)
    out = []
    for i, e in enumerate(estimates):
        if not e.localised:
            out.append(False)
            continue
        z_lo = float(e.center_scene[2] - e.extent_scene[2] / 2)
        out.append(z_lo - _support_below(e, estimates, tops[i], z_lo)[0] <= config.resting_m)
    return out


def complete_objects(estimates: list[ObjectEstimate], scene: SceneFrame,
                     config: CompletionConfig = CompletionConfig(), *,
                     max_extent_m: float = MAX_OBJECT_EXTENT_M) -> list[ObjectEstimate]:
    """Apply the single-view corrections that the scene supports: support needs a
    floor; the far side is bounded by the prior alone without one. ``max_extent_m``:
    the longest object (``ObjectConfig.max_object_extent_m``, the one place it is set)."""
    if not scene.floor_found:
        return bound_far_side(estimates, scene, [False] * len(estimates), config.far_side_k,
                              max_extent_m)
    estimates = snap_to_support(estimates, config)
    resting = _resting(estimates, config)
    return bound_far_side(estimates, scene, resting, config.far_side_k, max_extent_m)

"""The far side of an object: how deep it may be, and the centre that follows (issue 22).

A camera sees the near side of an object, so a box of its visible points is too
shallow and its centre sits toward the camera. The depth (scene x extent) is bounded
from what the view does show, the tightest of:

- **a visible top face**: a camera above the object's top (by ``TOP_FACE_MARGIN_M``),
  with the top outline neither occluded nor cut, sees the top face to its far edge:
  the visible depth is the depth;
- **the free space behind it**: an object resting on a support cannot extend beyond
  the surface that the view shows just past its top outline (the wall behind a
  cabinet, the floor behind a box seen from above), when that surface lies beyond the
  object's visible back (one nearer, such as a mug standing on a table seen from just
  above its top, says nothing of the table's back);
- **the prior**: at most ``k`` times the object's largest visible extent
  (:data:`FAR_SIDE_PRIOR_K`; :func:`required_prior_k` calibrates it on rendered rooms
  of known depth: the generator's calibration seeds, ``bench_geometry``);
- ``MAX_OBJECT_EXTENT_M``, the border's bound.

The depth D then lies in [visible v, bound B]. The box keeps its front face and is
given the middle depth (v + B) / 2, so its centre is the middle of the centres the
view allows (the best guess, off by at most (B - v) / 4), and a ``far_side`` hidden
direction (+x) carries the reach [-(B - v) / 2, +(B - v) / 2] of its back face: the
gate states a distance, direction or predicate only when it holds over that interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .cut_bounds import MAX_OBJECT_EXTENT_M, hidden_causes, hidden_reach
from .objects import ObjectEstimate
from .occlusion import merge_hidden
from .scene_frame import SceneFrame

#: The prior: an object is at most this times its largest visible extent deep (and at
#: most MAX_OBJECT_EXTENT_M). Calibrated (``bench/calibrate_far_side.py``) on the
#: generator's calibration seeds 0-99 of tidy_hidden and cluttered_hidden rooms with the
#: noise model: 2.05 covers the true depth of 98% of the 207 far-side objects there
#: (``required_prior_k``: 2.03; 99%: 2.17; the largest ratios are deep objects mostly
#: hidden behind nearer ones, whose visible extents are small), and keeps far-side
#: statements 99.9% within +-25% (2,776 stated; predicates 99.97%). Every k down to 0
#: (no bound) kept them >= 98% there (k = 0: 98.7% of 3,475; 1.5: 99.9% of 2,929), so
#: the k that refuses least is not the choice: the bound must hold for the statements
#: made over it to be facts. Figures on the report seeds: README.md.
FAR_SIDE_PRIOR_K = 2.05
#: The camera must be this far above an object's top to see its top face [m].
TOP_FACE_MARGIN_M = 0.05
#: A top outline occluded or cut over more than this fraction does not show the face.
MAX_OCCLUDED_TOP = 0.3
#: Unseen depth below this [m] (or two position sigmas) is not bounded: noise.
MIN_HIDDEN_DEPTH_M = 0.02
#: The direction of the far side in the scene frame: along the view.
FAR = np.array([1.0, 0.0, 0.0])


def depth_bound_m(e: ObjectEstimate, *, camera_height_m: float | None, resting: bool,
                  prior_k: float = FAR_SIDE_PRIOR_K,
                  max_extent_m: float = MAX_OBJECT_EXTENT_M) -> float:
    """The largest depth (scene x extent) the view allows the object [m]."""
    visible = float(e.extent_scene[0])
    slack = 2.0 * float(e.position_sigma_m)
    bounds = [max_extent_m, prior_k * float(np.max(e.extent_scene))]
    top = float(e.center_scene[2] + e.extent_scene[2] / 2)
    if (camera_height_m is not None and camera_height_m > top + TOP_FACE_MARGIN_M
            and e.occluded_top <= MAX_OCCLUDED_TOP):
        bounds.append(visible + slack)
    front = float(e.center_scene[0] - visible / 2)
    # a surface "beyond the top outline" nearer than the object's own visible back is
    # not the space behind it (a mug on a table seen from just above the table's top,
    # whose far half the grazing view does not show): no evidence, no bound
    if resting and np.isfinite(e.behind_x_m) and e.behind_x_m > front + visible - slack:
        bounds.append(float(e.behind_x_m) - front + slack)
    return max(min(bounds), visible)


def bound_far_side(estimates: Sequence[ObjectEstimate], scene: SceneFrame,
                   resting: Sequence[bool], prior_k: float = FAR_SIDE_PRIOR_K,
                   max_extent_m: float = MAX_OBJECT_EXTENT_M) -> list[ObjectEstimate]:
    """Each localised object with the middle depth its view allows, and the reach of
    its back face (see the module docstring). ``resting[i]``: estimate i stands on a
    support (completion); the top-face rule needs a floor (the camera's height)."""
    camera_height = scene.camera_height_m if scene.floor_found else None
    out = []
    for e, rests in zip(estimates, resting):
        if not e.localised:
            out.append(e)
            continue
        visible = float(e.extent_scene[0])
        bound = depth_bound_m(e, camera_height_m=camera_height, resting=rests,
                              prior_k=prior_k, max_extent_m=max_extent_m)
        unseen = bound - visible
        if unseen <= max(MIN_HIDDEN_DEPTH_M, 2.0 * float(e.position_sigma_m)):
            out.append(e)
            continue
        depth = (visible + bound) / 2.0
        center, extent = e.center_scene.copy(), e.extent_scene.copy()
        center[0] += (depth - visible) / 2.0
        extent[0] = depth
        directions, reach, causes = merge_hidden(
            (np.asarray(e.hidden_directions, float).reshape(-1, 3), hidden_reach(e),
             hidden_causes(e)), FAR[None], np.array([[-unseen / 2.0, unseen / 2.0]]),
            cause="far_side")
        out.append(replace(e, center_scene=center, extent_scene=extent,
                           hidden_directions=directions, hidden_reach_m=reach,
                           hidden_causes=causes))
    return out


def required_prior_k(true_depth_m: np.ndarray, largest_visible_m: np.ndarray,
                     coverage: float = 0.99) -> float:
    """The calibration hook: the smallest k for which ``k x largest visible extent``
    covers the true depth of ``coverage`` of the objects (rendered rooms of known
    depth; calibrate on one set of seeds, report on another)."""
    ratio = np.asarray(true_depth_m, float) / np.asarray(largest_visible_m, float)
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size == 0:
        raise ValueError("required_prior_k needs at least one object with a finite "
                         "depth and a visible extent")
    if not 0.0 < coverage <= 1.0:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}")
    return float(np.quantile(ratio, coverage))

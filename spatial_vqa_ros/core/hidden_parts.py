"""The parts of a frame's objects that its camera cannot see (issue 22).

``objects.lift_objects`` boxes what is seen; this module says, per object, along which
scene axes the box may go on, and how far: beyond a border the object is cut at
(``cut_bounds``; and nearer, where the bottom border cuts across the object's top),
behind the occluders along its outline (``occlusion``), unless the edge is seen beside
the occluder or the left or right border (``seen_edges``) or the object is a ball whose
seen arc fixes it (``round_outline``), and never below the floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .cut_bounds import (
    HORIZONTAL_AXES,
    NO_DIRECTIONS,
    NO_REACH,
    border_reach,
    hidden_directions,
    side_directions,
)
from .occlusion import (
    TOP_SLACK_M,
    Hidden,
    floor_limited,
    merge_hidden,
    occluder_reach_px,
    occlusion_directions,
    up_reach_behind,
)
from .outline import GridAnalysis
from .round_outline import round_silhouette
from .scene_frame import SceneFrame
from .seen_edges import EdgeExtremes, seen_axes

if TYPE_CHECKING:  # objects builds the view; the view reads its config
    from .objects import ObjectConfig

#: Toward the camera, in the scene frame.
_NEARER = np.array([[-1.0, 0.0, 0.0]])


def _cut_across_its_top(border_z_m: float, top_z_m: float, height_m: float) -> bool:
    """Whether the bottom border cuts an object across its top: the seen surface at the
    border lies at its top height (within 3 cm or a tenth of its height), a top that may
    go on toward the camera below the image (a table seen from above). A border across a
    near face hides only what lies lower (``cut_bounds``)."""
    return math.isfinite(border_z_m) and border_z_m >= top_z_m - max(0.03, 0.1 * height_m)


@dataclass(frozen=True)
class HiddenView:
    """What one frame's grid tells about the parts of its objects it cannot see."""

    crops: list
    analysis: GridAnalysis
    config: ObjectConfig
    scene: SceneFrame
    stride: int
    grid_shape: tuple[int, int]
    focal_px: tuple[float, float]
    #: side -> (n + 1,) occluded fraction of that side of each label's outline.
    fraction: dict[str, np.ndarray]
    #: (n,) seen top (scene z) of each object's box (NaN without points).
    top_z: np.ndarray
    #: (side, axis) -> how far each object's seen side edge reaches (``seen_edges``).
    edge_extremes: EdgeExtremes
    #: side ("left", "right") -> (n + 1,) share of that side's outline on the border.
    cut_share: dict[str, np.ndarray]
    #: The grid's labels and depths [m] and (h * w, 3) rays (round silhouettes).
    seg: np.ndarray
    depth: np.ndarray
    grid_rays: np.ndarray

    def _nearer_reach(self, lo: np.ndarray, extent: np.ndarray) -> float:
        """How far toward the camera a top cut by the bottom border may go on: to the
        camera at most (its foot with a floor, the origin without), and the longest
        object less what is seen."""
        camera_x = float(self.scene.camera_position_scene[0]) if self.scene.floor_found \
            else 0.0
        return max(min(self.config.max_object_extent_m - float(extent[0]),
                       float(lo[0]) - camera_x), 0.0)

    def _below_the_object(self, label: int, side: str, bottom_z_m: float,
                          camera_z: float) -> bool:
        """Whether the occluder of a left or right side lies wholly below the object's
        seen bottom, seen from above: then all it can hide is below the object too (the
        surface a round object rests on shows beside its base nearer than the silhouette's
        edge, which lies at the centre's depth). As :func:`up_reach_behind`: every point
        an occluder hides lies below its top when the camera is above it."""
        if side not in ("left", "right"):
            return False
        occluder = int(self.analysis.occluder[side][label])
        if not occluder:
            return False
        top = float(self.top_z[occluder - 1]) + TOP_SLACK_M
        return (math.isfinite(top) and math.isfinite(camera_z) and camera_z > top
                and top <= bottom_z_m + TOP_SLACK_M)

    def _seen(self, label: int, side: str, lo: np.ndarray, hi: np.ndarray, step_m: float
              ) -> set[int]:
        """The axes along which ``side``'s edge is seen at the object's extreme, away
        from its occluders and the border (``seen_edges``: the prism prior)."""
        return seen_axes(self.edge_extremes, label, side, lo=lo, hi=hi,
                         rotation_scene_from_cam=self.scene.rotation_scene_from_cam,
                         tolerance_m=self.config.seen_edge_tolerance_steps * step_m)

    def _border_looked_past(self, label: int, side: str, cut_sides: dict[str, bool]
                            ) -> bool:
        """Whether the prism prior may look past the border that cuts ``side``: not
        when the top is cut too (beyond that corner may lie the far vertical edge of a
        turned box, which the near edge seen lower does not bound), nor when the
        border takes more than ``max_cut_side_for_prior`` of the side (what is seen of
        it is then a leg or one receding face, a table run out of the image)."""
        return (cut_sides[side] and not cut_sides["top"]
                and float(self.cut_share[side][label]) <= self.config.max_cut_side_for_prior)

    def _open_sides(self, label: int, cut_sides: dict[str, bool], bottom_z_m: float
                    ) -> list[str]:
        """The sides not cut by the border whose outline runs along a nearer surface
        for more than ``occluded_side_bound``, less those whose occluder lies below."""
        camera_z = self.camera_z
        return [side for side in ("left", "right", "top", "bottom")
                if not cut_sides[side] and self.fraction[side][label]
                > self.config.occluded_side_bound
                and not self._below_the_object(label, side, bottom_z_m, camera_z)]

    @cached_property
    def camera_z(self) -> float:
        """The camera's height in the scene frame (NaN without a floor)."""
        return float(self.scene.camera_position_scene[2]) if self.scene.floor_found \
            else float("nan")

    def round_grown(self, label: int, cut_sides: dict[str, bool], lo: np.ndarray,
                    hi: np.ndarray, *, far_depth_m: float
                    ) -> tuple[np.ndarray, np.ndarray, dict[str, set[int]], float]:
        """The box made the ball's that a round silhouette is (``round_outline``), for an
        object with an occluded left or right side, across the image (its width, on
        both sides: the lift's points fall short of a ball's) and in height; and side ->
        the axes the ball closes (those, on its occluded sides); its radius. The box as
        it is (and NaN) for every other object: one cut by the border (the cone cannot
        be checked there), and one whose occluded sides the prism prior closes."""
        bound = self.config.occluded_side_bound
        if (not self.config.round_prior or any(cut_sides.values())
                or max(self.fraction["left"][label], self.fraction["right"][label]) <= bound):
            return lo, hi, {}, math.nan  # most objects: no occluded side across the image
        sides = self._open_sides(label, cut_sides, float(lo[2]))
        if not any(self._width_open(label, side, lo, hi, far_depth_m) for side in sides):
            return lo, hi, {}, math.nan
        found = round_silhouette(label, self.crops[label - 1], self.seg, self.depth,
                                 hidden_label=self.analysis.hidden_label,
                                 grid_rays=self.grid_rays,
                                 rad_per_px=self.stride / max(self.focal_px))
        if found is None:
            return lo, hi, {}, math.nan
        center, radius = found.center_scene(self.scene), found.radius_m
        rotation = self.scene.rotation_scene_from_cam
        grown = {axis for side in ("left", "right")
                 for axis, _, _ in side_directions(side, rotation) if axis in HORIZONTAL_AXES}
        grown.add(2)  # height: no depth along the view (a disc facing the camera is round)
        lo, hi = lo.copy(), hi.copy()
        for axis in grown:  # the ball's, not the points' (which blurred depth stretches)
            lo[axis], hi[axis] = center[axis] - radius, center[axis] + radius
        closed = {side: {axis for axis, _, _ in side_directions(side, rotation)
                         if axis in grown} for side in sides}
        return lo, hi, closed, radius

    def _width_open(self, label: int, side: str, lo: np.ndarray, hi: np.ndarray,
                    far_depth_m: float) -> bool:
        """Whether an open ``side`` is a left or right one that the prism prior does not
        close along every horizontal axis it moves along."""
        if side not in ("left", "right"):
            return False
        if not self.config.prism_prior:
            return True
        seen = self._seen(label, side, lo, hi, self.stride * far_depth_m / min(self.focal_px))
        return any(axis not in seen for axis, _, _ in
                   side_directions(side, self.scene.rotation_scene_from_cam)
                   if axis in HORIZONTAL_AXES)

    def hidden(self, label: int, cut_sides: dict[str, bool], lo: np.ndarray, hi: np.ndarray,
               *, far_depth_m: float, bottom_cut_z_m: float = math.nan,
               rounded: dict[str, set[int]] | None = None) -> Hidden:
        """The hidden directions of one object (seen box ``lo``-``hi``): beyond the cut
        borders, then behind the occluders of its sides (``occlusion``) where the
        side's edge is not seen beside them (``seen_edges``) nor given by a round
        silhouette (``rounded``: side -> axes, :meth:`round_grown`); "down" no deeper
        than the floor."""
        extent, bottom_z_m = hi - lo, float(lo[2])
        camera_z = self.camera_z
        open_sides = self._open_sides(label, cut_sides, bottom_z_m)
        if not open_sides and not any(cut_sides.values()):
            return NO_DIRECTIONS, NO_REACH, ()  # seen whole: most objects, at no cost
        rotation = self.scene.rotation_scene_from_cam
        step_m = self.stride * far_depth_m / min(self.focal_px)
        seen = {side: self._seen(label, side, lo, hi, step_m) for side in ("left", "right")
                if self.config.prism_prior
                and (self._border_looked_past(label, side, cut_sides) or side in open_sides)}
        for side, axes in (rounded or {}).items():
            seen[side] = seen.get(side, set()) | axes
        directions = hidden_directions(cut_sides, rotation, seen)
        hidden: Hidden = (directions, border_reach(directions, extent,
                                                   self.config.max_object_extent_m),
                          ("border",) * len(directions))
        if cut_sides["bottom"] and _cut_across_its_top(bottom_cut_z_m, hi[2], extent[2]):
            nearer = np.array([[0.0, self._nearer_reach(lo, extent)]])
            hidden = merge_hidden(hidden, _NEARER, nearer, cause="border")
        occluded, up_reach = {}, {}
        for side in open_sides:
            occluder = int(self.analysis.occluder[side][label])
            occluded[side] = occluder_reach_px(
                side, self.crops[label - 1], self.crops[occluder - 1] if occluder else None,
                self.grid_shape)
            if occluder:
                up_reach[side] = up_reach_behind(float(self.top_z[label - 1]),
                                                 float(self.top_z[occluder - 1]), camera_z)
        if occluded:
            more, more_reach = occlusion_directions(
                occluded, extent_scene=extent, rotation_scene_from_cam=rotation,
                far_depth_m=far_depth_m, focal_px=self.focal_px, stride=self.stride,
                up_reach_m=up_reach, max_extent_m=self.config.max_object_extent_m,
                seen_axes=seen)
            # occlusion_directions gives each axis once: with no border direction to
            # merge with, its rows are the result as they are
            hidden = merge_hidden(hidden, more, more_reach, cause="occluded") \
                if len(directions) else (more, more_reach, ("occluded",) * len(more))
        directions, reach, causes = hidden
        if self.scene.floor_found and len(directions):
            reach = floor_limited(directions, reach, bottom_z_m)
        return directions, reach, causes

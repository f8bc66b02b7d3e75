"""Where an occluded side's edge is still seen: the prism prior (issue 22).

A side of an object's outline that runs along a nearer surface for part of its length
may hide a part of the object behind that surface (``occlusion``). Where the rest of
that side is seen against something farther, the object's edge is in view there. Most
indoor objects are upright prisms (boxes, cabinets, cans, bottles, buckets, shelves):
their horizontal cross-section is the same at every height, so the edge seen above
(or below) the occluder is the edge behind it too, and the side hides nothing of the
object's horizontal extent. The rule: along a horizontal scene axis that the side
moves a hidden part along (``cut_bounds.side_directions``), the side is *seen at its
extreme* when the points of its seen outline reach the object's extreme along that
axis, within ``tolerance`` (a grid step and a half at the object's range). Then that
axis is no hidden direction of that side.

The image border hides what lies beyond it as an occluder does, and the same holds
there: a left or right side cut by the border whose edge is seen, away from the
border, at the object's extreme (a box whose middle runs out of the image while its
edge stands just inside it above and below) hides nothing of its extent along that
axis (``cut_bounds.hidden_directions``). Not when the top is cut too: beyond that
corner may lie the far vertical edge of a turned box, which the near edge seen lower
does not bound (a report run showed an armchair so, its width stated 25% short). Nor
when the border takes more than half of the side
(``ObjectConfig.max_cut_side_for_prior``): what is seen of the side is then a leg or
one receding face (bench_live's moving camera showed a table run out of the image, its
seen face 3 cm wide, its distances stated 31% short). Calibrate seeds 0-39, noise
model, with the lift's half cells (``objects``): stated widths in cluttered rooms 77.5
-> 79.5%, within +-25% 99.86 -> 99.72%; border-cut distances stated 574 -> 865, all
within +-25%.

Seen outline pixels next to the occluded stretch or the border (within
``ObjectConfig.seen_edge_band`` grid steps, ``outline``) do not count: where an
outline runs outward into the occluder or the border (a ball whose widest part lies
behind it, the slanted edge of a box's top face whose corner is hidden), its outermost
seen point lies right beside the occluder, and the object goes on behind it. A
vertical edge seen above the occluder reaches its extreme far from it too.

Set on the calibrate seeds of the rendered rooms (``bench_geometry`` rooms, seeds
0-39, noise model): with a band of 3 grid steps, stated widths stayed >= 99.0% within
+-25% in every room while the share of objects with a stated width rose from 49% to
73% in cluttered rooms (with the edge-dropout fix of ``outline``; bands of 2 and 4
moved it by about a point either way). What the prior
cannot see: a prism's far corner hidden behind the object itself (a yawed box seen
edge-on), and objects wider where hidden than where seen (a lamp's base behind a
crate) -- those widths are stated from what is seen.
"""

from __future__ import annotations

import numpy as np

from .cut_bounds import HORIZONTAL_AXES, side_directions
from .outline import GridAnalysis

#: (side, axis) -> (n + 1,) the farthest each object's seen side edge reaches.
EdgeExtremes = dict[tuple[str, int], np.ndarray]


def edge_extremes(analysis: GridAnalysis, point_index: np.ndarray, point_starts: np.ndarray,
                  grid_shape: tuple[int, int], *, lower: np.ndarray, upper: np.ndarray,
                  rotation_scene_from_cam: np.ndarray, wanted: np.ndarray, band: int
                  ) -> EdgeExtremes:
    """(side, axis) -> (len(wanted),) how far the seen outline pixels of that side reach
    along the side's direction on that horizontal axis (signed: larger is farther out;
    -inf where none), for the labels ``wanted`` marks (the others: -inf). Outline
    pixels within ``band`` grid steps of an occluded outline pixel of their object do
    not count. ``point_index``: the flat grid index of each row of ``lower``/``upper``
    (the points the box extremes are taken from, pulled for noise) on a grid of
    ``grid_shape``, grouped by label (label l's rows start at ``point_starts[l - 1]``).
    One pass per side for the frame's wanted objects."""
    count = wanted.size
    out: EdgeExtremes = {}
    if not wanted.any():
        return out
    point_of_grid = np.full(grid_shape[0] * grid_shape[1], -1, np.int64)  # -1: no point
    for label in np.flatnonzero(wanted):  # only the wanted objects' points
        rows = np.arange(point_starts[label - 1], point_starts[label])
        point_of_grid[point_index[rows]] = rows
    for side, (edge_index, edge_labels) in analysis.seen_edge.items():
        keep = wanted[edge_labels]
        index, of = _away_from_hidden(edge_index[keep], edge_labels[keep],
                                      analysis.hidden_label, grid_shape, band)
        rows = point_of_grid[index]
        have = rows >= 0
        rows, labels = rows[have], of[have]
        for axis, direction, _ in side_directions(side, rotation_scene_from_cam):
            if axis not in HORIZONTAL_AXES:  # the prior says nothing of height
                continue
            sign = float(direction[axis])
            values = sign * (upper if sign > 0 else lower)[rows, axis].astype(np.float64)
            reach = np.full(count, -np.inf)
            for label in np.unique(labels):  # the few objects with an occluded side
                reach[label] = values[labels == label].max()
            out[side, axis] = reach
    return out


def _away_from_hidden(index: np.ndarray, labels: np.ndarray, hidden_label: np.ndarray,
                      grid_shape: tuple[int, int], band: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The pixels of ``index`` (flat, of objects ``labels``) with no occluded outline
    pixel of their own object within ``band`` grid steps (any side: where an outline
    runs into an occluder), and their labels; all window offsets in one gather."""
    if band <= 0 or index.size == 0:
        return index, labels
    height, width = grid_shape
    steps = np.arange(-band, band + 1)
    rows = (index // width)[:, None] + np.repeat(steps, steps.size)[None, :]
    cols = (index % width)[:, None] + np.tile(steps, steps.size)[None, :]
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    around = hidden_label[np.where(inside, rows * width + cols, 0)]
    near = (inside & (around == labels[:, None])).any(axis=1)
    return index[~near], labels[~near]


def seen_axes(extremes: EdgeExtremes, label: int, side: str, *, lo: np.ndarray,
              hi: np.ndarray, rotation_scene_from_cam: np.ndarray, tolerance_m: float
              ) -> set[int]:
    """The horizontal axes along which ``side`` of object ``label`` (box ``lo``-``hi``,
    from the same points) is seen at its extreme."""
    seen = set()
    for axis, direction, _ in side_directions(side, rotation_scene_from_cam):
        reach = extremes.get((side, axis))
        if reach is None:
            continue
        extreme = hi[axis] if direction[axis] > 0 else -lo[axis]
        if reach[label] >= extreme - tolerance_m:
            seen.add(axis)
    return seen

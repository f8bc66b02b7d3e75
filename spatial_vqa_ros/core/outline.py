"""Mask outlines on the pixel grid: depth jumps inside objects, occlusion across edges.

One vectorised pass over neighbour pairs of the strided grid (``objects.lift_objects``)
finds, for every object at once:

- pixels at a depth jump to a neighbour of the same object (flying pixels);
- per outline side, how many outline pixels have a nearer surface just outside
  (occluded: the object may continue behind it), and which object hides most of
  them (its silhouette bounds how far, ``occlusion``);
- the pixels just beyond each object's top outline that show a farther surface: what
  the view shows behind the object (``far_side``);
- the left and right outline pixels with no nearer surface beside them: where the
  object's edge may be seen (``seen_edges`` keeps those away from every occluded one
  and from the image border).

Learned depth smooths depth steps over a few pixels, so an edge between two masks is
judged by depths a few pixels into each mask (``reach_px``), the farther reading of the
object against the nearer reading of its neighbour: a blurred step still shows as one.
Against unlabelled background the adjacent pixels are compared, as before (a floor
receding below an object's base is no occluder, and a sample a few pixels onto it
would read nearer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Outline sides, as (dy, dx) to the outside neighbour.
SIDES = {"right": (0, 1), "left": (0, -1), "bottom": (1, 0), "top": (-1, 0)}


@dataclass(frozen=True)
class GridAnalysis:
    """Per-grid-pixel flags and per-object outline counts from one vectorised pass.

    Arrays indexed by label have n + 1 entries (label 0, the background, unused).
    """

    jump: np.ndarray  # (h, w) bool: a same-object neighbour is across a depth jump
    outline: dict[str, np.ndarray]  # side -> outline pixel counts per label
    occluded: dict[str, np.ndarray]  # side -> occluded outline pixel counts per label
    occluder: dict[str, np.ndarray]  # side -> label hiding most of that side, or 0
    #: Flat grid indices of pixels just beyond top outlines that show a farther
    #: surface, and the label whose outline each lies beyond.
    beyond_top_index: np.ndarray
    beyond_top_label: np.ndarray
    #: side ("left", "right") -> (flat grid indices, labels) of the outline pixels of
    #: that side with no nearer surface beside them: where the object's edge is seen.
    seen_edge: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: (h * w,) the label of each occluded outline pixel (any side) and of each mask
    #: pixel on the image border, 0 elsewhere.
    hidden_label: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    @property
    def base_occluder(self) -> np.ndarray:
        return self.occluder["bottom"]

    def occluded_fraction(self, label: int, sides: tuple[str, ...]) -> float:
        total = sum(int(self.outline[side][label]) for side in sides)
        hidden = sum(int(self.occluded[side][label]) for side in sides)
        return hidden / total if total else 0.0

    def occluded_fractions(self, sides: tuple[str, ...]) -> np.ndarray:
        """(n + 1,) :meth:`occluded_fraction` of every label at once (the same
        numbers: the counts are exact in float64): one array per frame instead of a
        Python sum per object and side."""
        total = sum(self.outline[side] for side in sides)
        hidden = sum(self.occluded[side] for side in sides)
        out = np.zeros(total.shape)
        np.divide(hidden, total, out=out, where=total > 0)
        return out


def _inward(index: np.ndarray, step: int, k: int, flat_seg: np.ndarray, *, width: int,
            horizontal: bool) -> np.ndarray:
    """``index + k * step`` where that pixel is on the grid, in the same row for
    horizontal steps, and of the same label; ``index`` itself elsewhere."""
    if k == 0 or index.size == 0:
        return index
    target = index + k * step
    ok = (target >= 0) & (target < flat_seg.size)
    if horizontal:
        column = index % width + k * step
        ok &= (column >= 0) & (column < width)
    target = np.where(ok, target, index)
    return np.where(flat_seg[target] == flat_seg[index], target, index)


def analyse_grid(seg: np.ndarray, depth: np.ndarray, n: int, stride: int, *,
                 continuity_abs_m: float, continuity_rel: float, occlusion_margin_m: float,
                 reach_px: int) -> GridAnalysis:
    """See the module docstring. ``seg``/``depth``: the (h, w) grid (contiguous)."""
    # Neighbour pairs are taken on the flattened (contiguous) grid: pixel i and i + 1
    # (right; not across a row's end) or i + width (below). Depth jumps are only looked
    # for between pixels of one object and occlusion only on outlines, each test on
    # those pixels alone. The continuity threshold grows with depth, so the smaller of
    # a pair's two thresholds is the one of its nearer depth (NaN where a depth is
    # missing, and then the step is NaN too: no jump).
    height, width = seg.shape
    flat_seg, flat_depth = seg.ravel(), depth.ravel()
    near_factor = continuity_rel * stride
    k = max(0, round(reach_px / stride) - 1)  # extra grid steps into each mask
    jump = np.zeros(seg.size, bool)
    outline, occluded, occluder = {}, {}, {}
    beyond_index = beyond_label = np.zeros(0, np.int64)
    seen_edge: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    hidden_label = np.zeros(seg.size, seg.dtype)  # each occluded outline pixel's label
    count = n + 1
    # Each neighbour pair is compared once: (a, b) = (left, right) then (top, bottom);
    # a's outline on the b side and b's outline on the a side come out together.
    for offset, (side_of_a, side_of_b) in ((1, ("right", "left")),
                                           (width, ("bottom", "top"))):
        seg_a, seg_b = flat_seg[:-offset], flat_seg[offset:]
        pair = np.ones(seg_a.size, bool)
        if offset == 1:
            pair[width - 1::width] = False  # a row's last pixel and the next row's first
        same = seg_a == seg_b
        edge = np.flatnonzero(~same & pair)
        sa, sb = seg_a[edge], seg_b[edge]
        # between two masks, depths a few pixels into each (a blurred step)
        both = (sa > 0) & (sb > 0)
        ia = edge.copy()
        ib = edge + offset
        ia[both] = _inward(edge[both], -offset, k, flat_seg, width=width,
                           horizontal=offset == 1)
        ib[both] = _inward(edge[both] + offset, offset, k, flat_seg, width=width,
                           horizontal=offset == 1)
        a0, b0 = flat_depth[edge], flat_depth[edge + offset]
        a1, b1 = flat_depth[ia], flat_depth[ib]
        with np.errstate(invalid="ignore"):
            # the jump test runs over every pair (views, no gather) and is then kept
            # for pairs inside one object: cheaper than gathering those pairs first
            da, db = flat_depth[:-offset], flat_depth[offset:]
            jumps = np.abs(da - db) >= continuity_abs_m + near_factor * np.minimum(da, db)
            jumps &= same
            jumps &= seg_a > 0
            jumps &= pair
            # a neighbour outside the mask that is nearer, or another object with no
            # depth at its edge nor a few pixels in (it may well be nearer), hides part
            # of the object; sensors drop depth along edges, so a missing edge reading
            # with a depth further in is judged by that depth
            a_hidden = ((np.fmin(b0, b1) < np.fmax(a0, a1) - occlusion_margin_m)
                        | ((sb > 0) & np.isnan(b0) & np.isnan(b1)))
            b_hidden = ((np.fmin(a0, a1) < np.fmax(b0, b1) - occlusion_margin_m)
                        | ((sa > 0) & np.isnan(a0) & np.isnan(a1)))
            if offset == width:  # what lies beyond b's top outline, when it is farther
                beyond = (sb > 0) & (np.fmax(a0, a1) > np.fmin(b0, b1) + occlusion_margin_m)
                beyond_index, beyond_label = ia[beyond], sb[beyond].astype(np.int64)
        jump[:-offset] |= jumps
        jump[offset:] |= jumps
        edge_a, edge_b = sa > 0, sb > 0
        outline[side_of_a] = np.bincount(sa[edge_a], minlength=count)[:count]
        outline[side_of_b] = np.bincount(sb[edge_b], minlength=count)[:count]
        hidden_a, hidden_b = edge_a & a_hidden, edge_b & b_hidden
        occluded[side_of_a] = np.bincount(sa[hidden_a], minlength=count)[:count]
        occluded[side_of_b] = np.bincount(sb[hidden_b], minlength=count)[:count]
        occluder[side_of_a] = _main_occluder(sa[hidden_a], sb[hidden_a], count)
        occluder[side_of_b] = _main_occluder(sb[hidden_b], sa[hidden_b], count)
        hidden_label[edge[hidden_a]] = sa[hidden_a]
        hidden_label[edge[hidden_b] + offset] = sb[hidden_b]
        if offset == 1:  # left and right: where each object's side is seen
            seen_a, seen_b = edge_a & ~a_hidden, edge_b & ~b_hidden
            seen_edge[side_of_a] = (edge[seen_a], sa[seen_a].astype(np.int64))
            seen_edge[side_of_b] = (edge[seen_b] + offset, sb[seen_b].astype(np.int64))
    _mark_border(hidden_label.reshape(height, width), seg)
    return GridAnalysis(jump.reshape(height, width), outline, occluded, occluder,
                        beyond_index, beyond_label, seen_edge, hidden_label)


def _mark_border(hidden_label: np.ndarray, seg: np.ndarray) -> None:
    """Mask pixels on the image border are hidden outline too: the border hides what
    lies beyond them as an occluder does (``seen_edges`` keeps seen edges away from
    both)."""
    for edge in (np.s_[0, :], np.s_[-1, :], np.s_[:, 0], np.s_[:, -1]):
        free = hidden_label[edge] == 0
        hidden_label[edge][free] = seg[edge][free]


#: Up to this many labels the votes of _main_occluder are counted in a dense
#: (count x count) table (one bincount); beyond, the pairs are sorted (np.unique).
_DENSE_VOTES_MAX_LABELS = 512


def _main_occluder(hidden: np.ndarray, hiding: np.ndarray, count: int) -> np.ndarray:
    """For each label, the object label that hides most of its pixels (0 = none); a
    tie goes to the higher label."""
    result = np.zeros(count, np.int64)
    pairs = (hidden.astype(np.int64) * count + hiding)[hiding > 0]
    if pairs.size == 0:
        return result
    if count <= _DENSE_VOTES_MAX_LABELS:
        votes = np.bincount(pairs, minlength=count * count).reshape(count, count)
        # argmax takes the first of equal maxima: read the columns backwards
        best = count - 1 - np.argmax(votes[:, ::-1], axis=1)
        voted = votes[np.arange(count), best] > 0
        result[voted] = best[voted]
        return result
    codes, votes = np.unique(pairs, return_counts=True)
    order = np.argsort(votes, kind="stable")  # ascending: the biggest vote is written last
    result[codes[order] // count] = codes[order] % count
    return result


def median_by_label(labels: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """(count,) median of ``values`` per label (NaN for labels with none)."""
    out = np.full(count, np.nan)
    finite = np.isfinite(values)
    labels, values = labels[finite], values[finite]
    if labels.size == 0:
        return out
    order = np.lexsort((values, labels))
    labels, values = labels[order], values[order]
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = np.r_[starts[1:], labels.size]
    middle = (starts + ends - 1) / 2.0
    out[labels[starts]] = (values[np.floor(middle).astype(int)]
                           + values[np.ceil(middle).astype(int)]) / 2.0
    return out

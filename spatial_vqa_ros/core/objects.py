"""From masks and metric depth to one box per object, in the scene frame.

All objects of a frame are lifted together, vectorised over one strided pixel grid
(stride 2 for VGA), so the cost does not grow with the number of objects:

1. pixels of every mask with valid depth, lifted with the camera's undistorted rays;
2. flying pixels and mask bleed removed: pixels at a depth jump to a neighbour of the
   same object are dropped, and of what remains only depth-continuous pieces at least
   a fifth the size of the largest are kept;
3. the outline of every mask is checked for occlusion (a nearer neighbour outside it)
   and the image border: such objects are *partial* and their sizes are lower bounds;
4. points go to the scene frame and are boxed axis-aligned there (DESIGN.md: width
   along y, depth along x, height along z). When the depth is noisy (measured from
   the data, see :func:`estimate_depth_noise`), box extremes are trimmed quantiles,
   so one noisy point cannot stretch a box.

An object with too few valid points is *unlocalised*: it keeps its label and 2D box
but gets no 3D numbers, never a guessed one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import ndimage

from .camera import CameraIntrinsics
from .capture import Capture, Observations
from .cut_bounds import NO_DIRECTIONS, hidden_directions
from .scene_frame import SceneFrame

_FOUR_NEIGHBOURS = ((0, 1), (0, -1), (1, 0), (-1, 0))


@dataclass(frozen=True)
class ObjectConfig:
    """Tuning of per-object lifting. Distances in metres."""

    #: Pixel grid stride; 0 = automatic (about 80k grid pixels per image).
    stride: int = 0
    #: Fewer valid points than this: the object is unlocalised.
    min_points: int = 20
    #: Neighbouring grid pixels belong to one surface if their depths differ by less
    #: than ``continuity_abs_m + continuity_rel * depth * stride``.
    continuity_abs_m: float = 0.02
    continuity_rel: float = 0.04
    #: Depth-continuous pieces smaller than this fraction of the largest are dropped.
    min_component_fraction: float = 0.2
    #: A mask pixel is occluded when an outside neighbour is nearer by this much.
    occlusion_margin_m: float = 0.03
    #: Objects with more of their outline occluded than this are partial.
    max_occluded_outline: float = 0.3
    #: ... or with more than this of one side (left or right) occluded: the width then
    #: misses what is behind the nearer surface (on cluttered rendered rooms with depth
    #: noise, widths within 25% went from 97.4% to 98.9% of those stated, at 6% fewer
    #: objects with a stated size; bench_geometry).
    max_occluded_side: float = 0.5
    #: With noisy depth, each point is pulled back along its ray by this many sigmas
    #: before box extremes are taken (exact depth: plain min/max).
    noise_sigmas: float = 2.0
    #: Depth noise coefficient c (sigma = c z^2) above which depth counts as noisy.
    noisy_threshold: float = 2e-4


@dataclass(frozen=True)
class ObjectEstimate:
    """One object as seen in one frame.

    ``center_scene`` and ``extent_scene`` are (3,) float64 metres in the scene frame;
    extent = (along x = depth, along y = width, along z = height). They are NaN when
    ``localised`` is False. ``points_scene`` is (M, 3) float32, the cleaned visible
    points (for closest-point gaps). ``roi_xyxy`` is the mask's pixel box
    (x0, y0, x1, y1), exclusive upper bounds.
    """

    index: int
    label: str
    score: float
    source_id: int
    center_scene: np.ndarray
    extent_scene: np.ndarray
    points_scene: np.ndarray
    roi_xyxy: tuple[int, int, int, int]
    pixel_count: int
    point_count: int
    localised: bool
    partial: bool
    cut_by_border: bool
    #: Fraction of the mask's left, right and top outline behind which a nearer
    #: surface hides the object.
    occluded_outline: float
    #: Same, for the outline's lower side only (the base hidden by something in front).
    occluded_bottom: float
    #: 1-sigma uncertainty of a centre coordinate [m], from depth noise and range.
    position_sigma_m: float
    #: Index (in this frame's estimates) of the object that hides most of the base,
    #: or -1: usually what the object stands on (a mug behind a table's front edge).
    base_occluder: int = -1
    reason: str = ""
    notes: tuple[str, ...] = field(default=())
    #: (k, 3) unit scene axes along which a part beyond the image border may lie
    #: (``cut_bounds``); empty when the object is cut by no border.
    hidden_directions: np.ndarray = field(default_factory=lambda: NO_DIRECTIONS)
    #: The observation's mask source and detection age [s] (``Observations.origin``).
    mask_source: str = "detected"
    detection_age_s: float = 0.0

    @property
    def box_width_m(self) -> float:
        return float(self.extent_scene[1])

    @property
    def box_depth_m(self) -> float:
        return float(self.extent_scene[0])

    @property
    def box_height_m(self) -> float:
        return float(self.extent_scene[2])


def auto_stride(height: int, width: int, target_pixels: int = 80_000) -> int:
    return max(1, round(math.sqrt(height * width / target_pixels)))


def _grid_rays(camera: CameraIntrinsics, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous (h*w, 3) rays of the pixel grid and a mask of the valid ones (cached
    for cameras whose full rays are cached; see ``CameraIntrinsics.rays``)."""
    from .camera import RAYS_CACHE_MAX_PIXELS

    if camera.width * camera.height > RAYS_CACHE_MAX_PIXELS:
        return _grid_rays_cached.__wrapped__(camera, stride)
    return _grid_rays_cached(camera, stride)


@lru_cache(maxsize=8)
def _grid_rays_cached(camera: CameraIntrinsics, stride: int) -> tuple[np.ndarray, np.ndarray]:
    rays = np.ascontiguousarray(camera.rays()[::stride, ::stride].reshape(-1, 3))
    valid = np.isfinite(rays[:, 0]) & np.isfinite(rays[:, 1])
    rays.setflags(write=False)
    valid.setflags(write=False)
    return rays, valid


def _shifted(a: np.ndarray, dy: int, dx: int, fill) -> np.ndarray:
    """``out[y, x] = a[y + dy, x + dx]``, ``fill`` outside the image."""
    out = np.full_like(a, fill)
    h, w = a.shape
    out[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)] = \
        a[max(dy, 0):h - max(-dy, 0), max(dx, 0):w - max(-dx, 0)]
    return out


#: Outline sides, as (dy, dx) to the outside neighbour.
SIDES = {"right": (0, 1), "left": (0, -1), "bottom": (1, 0), "top": (-1, 0)}


@dataclass(frozen=True)
class _GridAnalysis:
    """Per-grid-pixel flags and per-object outline counts from one vectorised pass."""

    jump: np.ndarray  # (h, w) bool: a same-object neighbour is across a depth jump
    outline: dict[str, np.ndarray]  # side -> (n+1,) outline pixel counts per label
    occluded: dict[str, np.ndarray]  # side -> (n+1,) occluded outline pixel counts
    base_occluder: np.ndarray  # (n+1,) label hiding most of each object's base, or 0

    def occluded_fraction(self, label: int, sides: tuple[str, ...]) -> float:
        total = sum(int(self.outline[side][label]) for side in sides)
        hidden = sum(int(self.occluded[side][label]) for side in sides)
        return hidden / total if total else 0.0


def _analyse_grid(seg: np.ndarray, depth: np.ndarray, n: int, stride: int,
                  config: ObjectConfig) -> _GridAnalysis:
    # Neighbour pairs are taken on the flattened (contiguous) grid: pixel i and i + 1
    # (right; not across a row's end) or i + width (below). Depth jumps are only looked
    # for between pixels of one object and occlusion only on outlines, each test on
    # those pixels alone. The continuity threshold grows with depth, so the smaller of
    # a pair's two thresholds is the one of its nearer depth (NaN where a depth is
    # missing, and then the step is NaN too: no jump, as before).
    height, width = seg.shape
    flat_seg, flat_depth = seg.ravel(), depth.ravel()
    near_factor = config.continuity_rel * stride
    jump = np.zeros(seg.size, bool)
    outline, occluded = {}, {}
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
        inside = np.flatnonzero(same & (seg_a > 0) & pair)
        edge = np.flatnonzero(~same & pair)
        da, db = flat_depth[inside], flat_depth[inside + offset]
        with np.errstate(invalid="ignore"):
            threshold = config.continuity_abs_m + near_factor * np.minimum(da, db)
            jumps = inside[np.abs(da - db) >= threshold]
            sa, sb = seg_a[edge], seg_b[edge]
            da, db = flat_depth[edge], flat_depth[edge + offset]
            # a neighbour outside the mask that is nearer, or another object with no
            # depth (it may well be nearer), hides part of the object
            a_hidden = (db < da - config.occlusion_margin_m) | ((sb > 0) & np.isnan(db))
            b_hidden = (da < db - config.occlusion_margin_m) | ((sa > 0) & np.isnan(da))
        jump[jumps] = True
        jump[jumps + offset] = True
        edge_a, edge_b = sa > 0, sb > 0
        outline[side_of_a] = np.bincount(sa[edge_a], minlength=count)[:count]
        outline[side_of_b] = np.bincount(sb[edge_b], minlength=count)[:count]
        hidden_a = edge_a & a_hidden
        occluded[side_of_a] = np.bincount(sa[hidden_a], minlength=count)[:count]
        if side_of_a == "bottom":
            base_occluder = _main_occluder(sa[hidden_a], sb[hidden_a], count)
        occluded[side_of_b] = np.bincount(sb[edge_b & b_hidden], minlength=count)[:count]
    return _GridAnalysis(jump.reshape(height, width), outline, occluded, base_occluder)


def _main_occluder(hidden: np.ndarray, hiding: np.ndarray, count: int) -> np.ndarray:
    """For each label, the object label that hides most of its pixels (0 = none)."""
    result = np.zeros(count, np.int64)
    pairs = (hidden.astype(np.int64) * count + hiding)[hiding > 0]
    if pairs.size == 0:
        return result
    codes, votes = np.unique(pairs, return_counts=True)
    order = np.argsort(votes, kind="stable")  # ascending: the biggest vote is written last
    result[codes[order] // count] = codes[order] % count
    return result


def estimate_depth_noise(seg: np.ndarray, depth: np.ndarray, jump: np.ndarray) -> float:
    """Depth noise coefficient c of sigma = c z^2, measured on object surfaces.

    Second differences along image rows cancel smooth (planar) depth and leave
    noise * sqrt(6); the median over every object pixel is robust to creases.
    """
    rows = slice(None, None, 4)  # every fourth row is plenty for one number
    left, mid, right = depth[rows, :-2], depth[rows, 1:-1], depth[rows, 2:]
    seg_mid = seg[rows, 1:-1]
    usable = ((seg_mid > 0) & (seg[rows, :-2] == seg_mid) & (seg[rows, 2:] == seg_mid)
              & ~jump[rows, 1:-1] & np.isfinite(left) & np.isfinite(mid) & np.isfinite(right))
    if usable.sum() < 50:
        return 0.0
    d2 = np.abs(left[usable] - 2 * mid[usable] + right[usable]) / mid[usable] ** 2
    return float(np.median(d2) / (0.6745 * math.sqrt(6.0)))


def depth_continuous_pieces(depth: np.ndarray, valid: np.ndarray, threshold: np.ndarray
                            ) -> tuple[np.ndarray, int]:
    """Label 4-connected pieces of ``valid`` pixels with no depth jump >= threshold.

    Pixels at a jump are left out (label 0): they are where flying pixels live.
    """
    smooth = valid.copy()
    for dy, dx in _FOUR_NEIGHBOURS:
        n_depth = _shifted(depth, dy, dx, np.nan)
        with np.errstate(invalid="ignore"):
            smooth &= ~(np.abs(n_depth - depth) >= threshold)
    pieces, count = ndimage.label(smooth)
    return pieces, int(count)


def _clean_components(seg: np.ndarray, keep: np.ndarray, label: int,
                      crop: tuple[slice, slice], config: ObjectConfig) -> int:
    """Drop small depth-continuous pieces of one object in place; return points dropped."""
    pieces, count = ndimage.label(keep[crop] & (seg[crop] == label))
    if count <= 1:
        return 0
    sizes = np.bincount(pieces.ravel())[1:]
    small = np.flatnonzero(sizes < config.min_component_fraction * sizes.max()) + 1
    if small.size == 0:
        return 0
    drop = np.isin(pieces, small)
    keep[crop][drop] = False
    return int(drop.sum())


def lift_objects(capture: Capture, obs: Observations, scene: SceneFrame,
                 config: ObjectConfig = ObjectConfig()) -> list[ObjectEstimate]:
    """Lift every observed object of the capture (see the module docstring)."""
    n = len(obs)
    height, width = obs.segmentation.shape
    s = config.stride or auto_stride(height, width)
    grid = (slice(None, None, s), slice(None, None, s))
    # contiguous copies of the grid: every pass below is then over compact memory
    seg = np.ascontiguousarray(obs.segmentation[grid])
    depth = np.ascontiguousarray(capture.depth_m[grid])
    full = obs.segmentation
    # object pixels only (label 0, the background, is never read): half the time
    pixel_counts = np.bincount(full[full > 0], minlength=n + 1)[: n + 1]
    crops = ndimage.find_objects(seg, max_label=n)
    analysis = _analyse_grid(seg, depth, n, s, config)
    noise_c = estimate_depth_noise(seg, depth, analysis.jump)

    keep = (seg > 0) & np.isfinite(depth) & ~analysis.jump
    dropped = np.zeros(n + 1, np.int64)
    for label in np.unique(seg[analysis.jump]):
        dropped[label] += _clean_components(seg, keep, int(label), crops[label - 1], config)

    grid_rays, ray_ok = _grid_rays(capture.camera, s)
    index = np.flatnonzero(keep.ravel() & ray_ok)
    labels = seg.ravel()[index]
    order = np.argsort(labels, kind="stable")
    index, labels = index[order], labels[order]
    z = depth.ravel()[index]
    rays = grid_rays[index]
    points_scene = scene.to_scene(rays * z[:, None])
    starts = np.searchsorted(labels, np.arange(1, n + 2))
    sizes = np.diff(starts)
    mean_range = np.bincount(labels, weights=z, minlength=n + 1)[1:] / np.maximum(sizes, 1)
    noisy = noise_c > config.noisy_threshold
    if noisy:
        # Depth noise moves a point along its ray: by sigma(z) * (ray in the scene frame)
        # per unit of z-depth. Pulling each point back by noise_sigmas of that before
        # taking extremes keeps noise from stretching boxes, most in x and z, hardly
        # in y (width), where rays are nearly perpendicular.
        sigma_axes = (noise_c * z ** 2)[:, None] * np.abs(
            rays @ scene.rotation_scene_from_cam.T.astype(np.float32))
        pull = (config.noise_sigmas * sigma_axes).astype(np.float32)
        upper, lower = points_scene - pull, points_scene + pull
    else:
        upper = lower = points_scene
    # box extremes of every object in one call each (groups are contiguous after the sort)
    nonempty = sizes > 0
    group_starts = starts[:-1][nonempty]
    lows = np.full((n, 3), np.nan, np.float32)
    highs = np.full((n, 3), np.nan, np.float32)
    if group_starts.size:
        lows[nonempty] = np.minimum.reduceat(lower, group_starts, axis=0)
        highs[nonempty] = np.maximum.reduceat(upper, group_starts, axis=0)

    estimates = []
    for k in range(n):
        label = k + 1
        crop = crops[k]
        if crop is None:
            estimates.append(_unlocalised(obs, k, reason="no pixels in the mask",
                                          pixel_count=int(pixel_counts[label])))
            continue
        rows, cols = crop
        roi = (cols.start * s, rows.start * s, min(cols.stop * s, width),
               min(rows.stop * s, height))
        cut_sides = {"top": rows.start == 0, "left": cols.start == 0,
                     "bottom": rows.stop == seg.shape[0], "right": cols.stop == seg.shape[1]}
        cut = any(cut_sides.values())
        occluded = analysis.occluded_fraction(label, ("left", "right", "top"))
        occluded_bottom = analysis.occluded_fraction(label, ("bottom",))
        if cut_sides["bottom"]:
            occluded_bottom = 1.0  # the base is below the image: as good as hidden
        # Width and height are only facts when the sides and the top are seen whole;
        # a hidden base is completed by the support it stands on (completion.py).
        side = max(analysis.occluded_fraction(label, ("left",)),
                   analysis.occluded_fraction(label, ("right",)))
        partial = (cut_sides["left"] or cut_sides["right"] or cut_sides["top"]
                   or occluded > config.max_occluded_outline
                   or side > config.max_occluded_side)
        pts = points_scene[starts[k]:starts[k + 1]]
        if pts.shape[0] < config.min_points:
            why = ("no valid depth on the object" if pts.shape[0] == 0 else
                   f"only {pts.shape[0]} valid depth points (need {config.min_points})")
            estimates.append(_unlocalised(
                obs, k, reason=why, roi_xyxy=roi, pixel_count=int(pixel_counts[label]),
                point_count=pts.shape[0], partial=partial, cut_by_border=cut,
                occluded_outline=occluded, occluded_bottom=occluded_bottom))
            continue
        lo, hi = lows[k].astype(np.float64), highs[k].astype(np.float64)
        if np.any(hi < lo):  # a thin object inside the noise band: fall back to the middle
            mid = np.median(pts, axis=0).astype(np.float64)
            lo, hi = np.minimum(lo, mid), np.maximum(hi, mid)
        range_m = float(mean_range[k])
        notes = (f"dropped {dropped[label]} points as outliers",) if dropped[label] else ()
        mask_source, age_s = obs.origin(k)
        estimates.append(ObjectEstimate(
            index=k, label=obs.labels[k], score=float(obs.scores[k]),
            source_id=int(obs.source_ids[k]), center_scene=(lo + hi) / 2, extent_scene=hi - lo,
            points_scene=pts, roi_xyxy=roi, pixel_count=int(pixel_counts[label]),
            point_count=int(pts.shape[0]), localised=True, partial=partial, cut_by_border=cut,
            occluded_outline=float(occluded), occluded_bottom=float(occluded_bottom),
            base_occluder=int(analysis.base_occluder[label]) - 1,
            position_sigma_m=0.005 + max(0.003, 2 * noise_c) * range_m ** 2, notes=notes,
            hidden_directions=hidden_directions(cut_sides, scene.rotation_scene_from_cam),
            mask_source=mask_source, detection_age_s=age_s))
    return estimates


def _unlocalised(obs: Observations, k: int, *, reason: str,
                 roi_xyxy: tuple[int, int, int, int] = (0, 0, 0, 0), pixel_count: int = 0,
                 point_count: int = 0, partial: bool = False, cut_by_border: bool = False,
                 occluded_outline: float = 0.0, occluded_bottom: float = 0.0
                 ) -> ObjectEstimate:
    """Observation ``k`` as an estimate without a position, and why (``reason``)."""
    nan3 = np.full(3, np.nan)
    return ObjectEstimate(
        index=k, label=obs.labels[k], score=float(obs.scores[k]),
        source_id=int(obs.source_ids[k]), center_scene=nan3, extent_scene=nan3,
        points_scene=np.zeros((0, 3), np.float32), roi_xyxy=roi_xyxy,
        pixel_count=pixel_count, point_count=int(point_count), localised=False,
        partial=partial, cut_by_border=cut_by_border,
        occluded_outline=float(occluded_outline), occluded_bottom=float(occluded_bottom),
        base_occluder=-1, position_sigma_m=float("nan"), reason=reason,
        mask_source=obs.origin(k)[0], detection_age_s=obs.origin(k)[1])

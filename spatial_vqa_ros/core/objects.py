"""From masks and metric depth to one box per object, in the scene frame.

All objects of a frame are lifted together, vectorised over one strided pixel grid
(stride 2 for VGA), so the cost does not grow with the number of objects:

1. pixels of every mask with valid depth, lifted with the camera's undistorted rays;
2. flying pixels and mask bleed removed: pixels at a depth jump to a neighbour of the
   same object are dropped, and of what remains only depth-continuous pieces at least
   a fifth the size of the largest are kept;
3. the outline of every mask is checked for occlusion (a nearer neighbour outside it,
   ``outline``) and the image border: such objects are *partial* and their sizes are
   lower bounds; the parts that may lie beyond the border or behind an occluder are
   carried as hidden directions with their reach (``cut_bounds``, ``occlusion``);
4. points go to the scene frame and are boxed axis-aligned there (DESIGN.md: width
   along y, depth along x, height along z), each point reaching half its grid cell
   across the image (the silhouette's side edges lie beyond the outermost points;
   :func:`_box_extremes`). When the depth is noisy (measured from
   the data, see :func:`estimate_depth_noise`), each point is pulled back along its
   ray by two sigmas of that noise before the extremes are taken, so noise does not
   stretch a box.

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
from .cut_bounds import (
    MAX_OBJECT_EXTENT_M,
    NO_DIRECTIONS,
    NO_REACH,
)
from .hidden_parts import HiddenView
from .outline import SIDES, GridAnalysis, analyse_grid, median_by_label
from .scene_frame import SceneFrame
from .seen_edges import edge_extremes

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
    #: Between two masks, depths this many pixels into each are compared (learned
    #: depth smooths a step over a few pixels; ``outline``).
    occlusion_reach_px: int = 6
    #: A side with more than this fraction of its outline occluded may hide a part
    #: of the object behind the occluder: a hidden direction (``occlusion``).
    occluded_side_bound: float = 0.15
    #: Objects with more of their outline occluded than this are partial.
    max_occluded_outline: float = 0.3
    #: ... or with more than this of one side (left or right) occluded: the width then
    #: misses what is behind the nearer surface (on cluttered rendered rooms with depth
    #: noise, widths within 25% went from 97.4% to 98.9% of those stated, at 6% fewer
    #: objects with a stated size; bench_geometry).
    max_occluded_side: float = 0.5
    #: An occluded left or right side whose seen outline, more than ``band`` grid steps
    #: from its occluded stretch, reaches the object's extreme (within ``tolerance``
    #: grid steps at its range) hides no horizontal extent: the prism prior (seen_edges).
    seen_edge_band: int = 3
    seen_edge_tolerance_steps: float = 1.5
    #: The prism prior looks past the left or right border only where the border takes
    #: at most this share of that side's outline (``hidden_parts``).
    max_cut_side_for_prior: float = 0.5
    #: False: every occluded side stays open, edge seen or not (the prior off).
    prism_prior: bool = True
    #: False: a ball half hidden is not completed from its round silhouette
    #: (``round_outline``): its occluded sides stay open, as for any other object.
    round_prior: bool = True
    #: The longest an object of these scenes is along any axis [m]: what a part hidden
    #: beyond the border, behind an occluder or on the far side can add. The default is
    #: the indoor prior (``cut_bounds.MAX_OBJECT_EXTENT_M``, a wardrobe, a sofa);
    #: outdoor scenes (cars, buses, buildings) need more, e.g. 20.
    max_object_extent_m: float = MAX_OBJECT_EXTENT_M
    #: With noisy depth, each point is pulled back along its ray by this many sigmas
    #: before box extremes are taken (exact depth: plain min/max).
    noise_sigmas: float = 2.0
    #: Depth noise coefficient c (sigma = c z^2) above which depth counts as noisy.
    noisy_threshold: float = 2e-4

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_object_extent_m) and self.max_object_extent_m > 0):
            raise ValueError(f"max_object_extent_m must be a length > 0 [m], got "
                             f"{self.max_object_extent_m}")


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
    #: (k, 3) unit scene axes along which a part beyond the image border or behind
    #: an occluder may lie (``cut_bounds``); empty when the object is seen whole.
    hidden_directions: np.ndarray = field(default_factory=lambda: NO_DIRECTIONS)
    #: (k, 2) [min, max] by which the box face along each direction may move [m].
    hidden_reach_m: np.ndarray = field(default_factory=lambda: NO_REACH)
    #: The cause of each direction: "border", "occluded" or "far_side".
    hidden_causes: tuple[str, ...] = ()
    #: Fraction of the top outline occluded (1 when cut by the top border).
    occluded_top: float = 0.0
    #: Scene x [m] of the surface seen just beyond the top outline (median; NaN when
    #: none is farther): what the view shows behind the object (``far_side``).
    behind_x_m: float = float("nan")
    #: The radius [m] of the ball a round silhouette shows (``round_outline``): its box
    #: is the ball's across the image and in height; NaN for every other object.
    ball_radius_m: float = float("nan")
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
    analysis = analyse_grid(seg, depth, n, s, continuity_abs_m=config.continuity_abs_m,
                            continuity_rel=config.continuity_rel,
                            occlusion_margin_m=config.occlusion_margin_m,
                            reach_px=config.occlusion_reach_px)
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
    upper, lower = _box_extremes(points_scene, rays, z, noise_c=noise_c, scene=scene,
                                 config=config, cell_m_per_m=s / capture.camera.fx)
    # box extremes of every object in one call each (groups are contiguous after the sort)
    nonempty = sizes > 0
    group_starts = starts[:-1][nonempty]
    lows = np.full((n, 3), np.nan, np.float32)
    highs = np.full((n, 3), np.nan, np.float32)
    if group_starts.size:
        lows[nonempty] = np.minimum.reduceat(lower, group_starts, axis=0)
        highs[nonempty] = np.maximum.reduceat(upper, group_starts, axis=0)
    # occluded fractions of every label per outline side and for the left, right and
    # top together ("outline"): one array each per frame, read per object below
    fraction = {side: analysis.occluded_fractions((side,)) for side in SIDES} | {
        "outline": analysis.occluded_fractions(("left", "right", "top"))}
    cut_share = _cut_shares(seg, analysis, n)
    extremes = edge_extremes(
        analysis, index, starts, seg.shape, lower=lower, upper=upper,
        rotation_scene_from_cam=scene.rotation_scene_from_cam, band=config.seen_edge_band,
        wanted=_prior_may_close(fraction, cut_share, config))
    view = HiddenView(crops, analysis, config, scene, s, seg.shape,
                      (capture.camera.fx, capture.camera.fy), fraction,
                      highs[:, 2].astype(np.float64), extremes, cut_share, seg, depth,
                      grid_rays)
    far_z = np.zeros(n)
    far_z[nonempty] = np.maximum.reduceat(z, group_starts) if group_starts.size else 0.0
    behind_x = _behind_x(analysis, depth, grid_rays, scene, n)

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
        occluded, occluded_bottom, occluded_top, side = _occluded(fraction, label, cut_sides)
        # Width and height are only facts when the sides and the top are seen whole;
        # a hidden base is completed by the support it stands on (completion.py).
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
        border_z = _border_height(pts, index[starts[k]:starts[k + 1]], seg.shape) \
            if cut_sides["bottom"] else math.nan
        lo, hi, rounded, ball_radius = view.round_grown(label, cut_sides, lo, hi,
                                                        far_depth_m=float(far_z[k]))
        directions, reach, causes = view.hidden(label, cut_sides, lo, hi,
                                                far_depth_m=float(far_z[k]),
                                                bottom_cut_z_m=border_z, rounded=rounded)
        # a cut or occluded outline with every hidden direction closed hides nothing
        partial = partial and len(directions) > 0
        estimates.append(ObjectEstimate(
            index=k, label=obs.labels[k], score=float(obs.scores[k]),
            source_id=int(obs.source_ids[k]), center_scene=(lo + hi) / 2, extent_scene=hi - lo,
            points_scene=pts, roi_xyxy=roi, pixel_count=int(pixel_counts[label]),
            point_count=int(pts.shape[0]), localised=True, partial=partial, cut_by_border=cut,
            occluded_outline=float(occluded), occluded_bottom=float(occluded_bottom),
            base_occluder=int(analysis.base_occluder[label]) - 1,
            position_sigma_m=0.005 + max(0.003, 2 * noise_c) * range_m ** 2, notes=notes,
            hidden_directions=directions, hidden_reach_m=reach, hidden_causes=causes,
            occluded_top=occluded_top, behind_x_m=float(behind_x[label]),
            ball_radius_m=ball_radius, mask_source=mask_source, detection_age_s=age_s))
    return estimates


def _occluded(fraction: dict[str, np.ndarray], label: int, cut_sides: dict[str, bool]
              ) -> tuple[float, float, float, float]:
    """Occluded fractions of one object's outline: left, right and top together; the
    bottom (1 when cut there: the base is below the image, as good as hidden); the top
    (1 when cut there); the more occluded of left and right."""
    bottom = 1.0 if cut_sides["bottom"] else float(fraction["bottom"][label])
    top = 1.0 if cut_sides["top"] else float(fraction["top"][label])
    side = max(float(fraction["left"][label]), float(fraction["right"][label]))
    return float(fraction["outline"][label]), bottom, top, side


def _border_height(points: np.ndarray, grid_index: np.ndarray, grid_shape: tuple[int, int]
                   ) -> float:
    """Scene height of the surface the bottom border cuts: the 90th percentile of the
    object's points on the grid's last two rows (a tenth of the row on its top is a top
    cut, as where the border crosses a turned table's corner), NaN with none there."""
    heights = points[grid_index // grid_shape[1] >= grid_shape[0] - 2, 2]
    if heights.size == 0:
        return math.nan
    k = int(0.9 * (heights.size - 1))  # the 90th percentile, lower neighbour
    return float(np.partition(heights, k)[k])


def _behind_x(analysis: GridAnalysis, depth: np.ndarray, grid_rays: np.ndarray, scene: SceneFrame,
              n: int) -> np.ndarray:
    """(n + 1,) median scene x of the surfaces seen just beyond each top outline."""
    index = analysis.beyond_top_index
    points = grid_rays[index] * depth.ravel()[index][:, None]
    x = scene.to_scene(points.astype(np.float32))[:, 0] if index.size else np.zeros(0)
    return median_by_label(analysis.beyond_top_label, np.asarray(x, float), n + 1)


def _cut_shares(seg: np.ndarray, analysis: GridAnalysis, n: int) -> dict[str, np.ndarray]:
    """side ("left", "right") -> (n + 1,) the share of each label's outline on that side
    that lies on the image border (its mask pixels in the first or last grid column,
    against its side outline within the image)."""
    out = {}
    for side, column in (("left", seg[:, 0]), ("right", seg[:, -1])):
        on_border = np.bincount(column, minlength=n + 1)[: n + 1].astype(np.float64)
        on_border[0] = 0.0
        total = on_border + analysis.outline[side]
        out[side] = np.divide(on_border, total, out=np.zeros(n + 1), where=total > 0)
    return out


def _prior_may_close(fraction: dict[str, np.ndarray], cut_share: dict[str, np.ndarray],
                     config: ObjectConfig) -> np.ndarray:
    """(n + 1,) the labels whose seen side edges are worth looking at: a left or right
    side that may hide a part the prism prior may close, behind an occluder or beyond a
    border that cuts little of it (``hidden_parts``)."""
    wanted = np.maximum(fraction["left"], fraction["right"]) > config.occluded_side_bound
    for share in (cut_share["left"], cut_share["right"]):
        wanted |= (share > 0.0) & (share <= config.max_cut_side_for_prior)
    return wanted


def _box_extremes(points_scene: np.ndarray, rays: np.ndarray, z: np.ndarray, *,
                  noise_c: float, scene: SceneFrame, config: ObjectConfig,
                  cell_m_per_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points for the upper and lower box extremes (``upper``, ``lower``).

    - **The cell.** A grid point stands for the stride x stride pixels around it, so a
      silhouette's left and right edges lie about half a step beyond its outermost
      points. Those edges are where an object's lateral extremes are (the line of
      sight grazes them), so each point reaches out by half its cell along the image's
      x axis (``cell_m_per_m``: the step over fx, metres per metre of depth), and
      widths are no longer a grid step short (measured -0.93 steps without it,
      +0.05 with it; calibrate seeds, ``size_support``). Not along its y axis: an
      object's top is mostly a top face seen from above, and its base rests on a
      support, neither of which the row step shortens (heights +0.09 steps without).
    - **Depth noise** moves a point along its ray: by sigma(z) * (ray in the scene
      frame) per unit of z-depth. Pulling each point back by ``noise_sigmas`` of that
      before taking extremes keeps noise from stretching boxes, most in x and z,
      hardly in y (width), where rays are nearly perpendicular."""
    rotation = scene.rotation_scene_from_cam.astype(np.float32)
    half_cell = (0.5 * cell_m_per_m * np.abs(rotation[:, 0])).astype(np.float32)
    reach = z.astype(np.float32)[:, None] * half_cell
    if noise_c > config.noisy_threshold:
        sigma_axes = (noise_c * z ** 2)[:, None] * np.abs(rays @ rotation.T)
        reach = reach - (config.noise_sigmas * sigma_axes).astype(np.float32)
    return points_scene + reach, points_scene - reach


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

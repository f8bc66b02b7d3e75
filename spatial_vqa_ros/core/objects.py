"""From masks and metric depth to one box per object, in the scene frame.

Per object: pixels of its mask (strided for large objects, so cost does not grow
with size), lifted to 3D with the camera's undistorted rays, cleaned of flying
pixels and mask bleed by keeping depth-continuous components, moved to the scene
frame, and boxed axis-aligned there (DESIGN.md: width along y, depth along x,
height along z). Single-view bias is then reduced (see :mod:`.completion`).

An object with too few valid points is *unlocalised*: it keeps its label and 2D
box but gets no 3D numbers, never a guessed one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .frame import Frame, Observations
from .scene_frame import SceneFrame


@dataclass(frozen=True)
class ObjectConfig:
    """Tuning of per-object lifting. Distances in metres."""

    #: Points lifted per object at most (larger masks are strided).
    target_points: int = 1600
    #: Fewer valid points than this: the object is unlocalised.
    min_points: int = 20
    #: Neighbouring pixels belong to one surface if their depths differ by less
    #: than ``continuity_abs_m + continuity_rel * depth * stride``.
    continuity_abs_m: float = 0.02
    continuity_rel: float = 0.04
    #: Components smaller than this fraction of the largest are dropped as outliers.
    min_component_fraction: float = 0.2
    #: A mask pixel is occluded when an outside neighbour is nearer by this much.
    occlusion_margin_m: float = 0.03
    #: Objects with more of their outline occluded than this are partial.
    max_occluded_outline: float = 0.3
    #: Mask pixels this close to the image border make the object partial.
    border_px: int = 1


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
    occluded_outline: float
    #: 1-sigma uncertainty of a centre coordinate [m], from depth noise and range.
    position_sigma_m: float
    reason: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def width_m(self) -> float:
        return float(self.extent_scene[1])

    @property
    def depth_m(self) -> float:
        return float(self.extent_scene[0])

    @property
    def height_m(self) -> float:
        return float(self.extent_scene[2])


def _continuous_components(depth: np.ndarray, valid: np.ndarray, threshold: np.ndarray,
                           ) -> tuple[int, np.ndarray]:
    """Label 4-connected components of ``valid`` pixels whose depths are continuous."""
    h, w = depth.shape
    index = np.full((h, w), -1, dtype=np.int64)
    n = int(valid.sum())
    index[valid] = np.arange(n)
    rows, cols = [], []
    for a_sl, b_sl in (((slice(None), slice(0, -1)), (slice(None), slice(1, None))),
                       ((slice(0, -1), slice(None)), (slice(1, None), slice(None)))):
        both = valid[a_sl] & valid[b_sl]
        close = np.abs(depth[a_sl] - depth[b_sl]) < np.minimum(threshold[a_sl], threshold[b_sl])
        link = both & close
        rows.append(index[a_sl][link])
        cols.append(index[b_sl][link])
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    graph = coo_matrix((np.ones(r.size, np.int8), (r, c)), shape=(n, n))
    return connected_components(graph, directed=False)


def _occluded_outline_fraction(seg_crop: np.ndarray, depth_crop: np.ndarray, label: int,
                               margin_m: float) -> float:
    """Fraction of the mask outline whose outside neighbour is a nearer surface."""
    mask = seg_crop == label
    outline = np.zeros_like(mask)
    occluded = np.zeros_like(mask)
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        neighbour_mask = np.ones_like(mask)
        neighbour_depth = np.full(depth_crop.shape, np.nan, np.float32)
        src = (slice(max(dy, 0), depth_crop.shape[0] + min(dy, 0)),
               slice(max(dx, 0), depth_crop.shape[1] + min(dx, 0)))
        dst = (slice(max(-dy, 0), depth_crop.shape[0] + min(-dy, 0)),
               slice(max(-dx, 0), depth_crop.shape[1] + min(-dx, 0)))
        neighbour_mask[dst] = mask[src]
        neighbour_depth[dst] = depth_crop[src]
        edge = mask & ~neighbour_mask
        outline |= edge
        with np.errstate(invalid="ignore"):
            # an outside neighbour that is another object and nearer occludes us
            nearer = neighbour_depth < depth_crop - margin_m
        other_object = np.zeros_like(mask)
        other_object[dst] = (seg_crop[src] != 0) & (seg_crop[src] != label)
        occluded |= edge & (nearer | (other_object & ~np.isfinite(depth_crop)))
    n_outline = int(outline.sum())
    return float(occluded.sum()) / n_outline if n_outline else 0.0


def _unlocalised(index: int, obs: Observations, roi: tuple[int, int, int, int], pixels: int,
                 points: int, partial: bool, cut: bool, occluded: float, reason: str,
                 ) -> ObjectEstimate:
    nan3 = np.full(3, np.nan)
    return ObjectEstimate(
        index=index, label=obs.labels[index], score=float(obs.scores[index]),
        source_id=int(obs.source_ids[index]), center_scene=nan3, extent_scene=nan3,
        points_scene=np.zeros((0, 3), np.float32), roi_xyxy=roi, pixel_count=pixels,
        point_count=points, localised=False, partial=partial, cut_by_border=cut,
        occluded_outline=occluded, position_sigma_m=float("nan"), reason=reason)


def lift_object(frame: Frame, obs: Observations, index: int, crop: tuple[slice, slice],
                scene: SceneFrame, config: ObjectConfig) -> ObjectEstimate:
    """Lift object ``index`` (label value index+1, bounding slices ``crop``) to 3D."""
    label_value = index + 1
    rows, cols = crop
    h, w = obs.segmentation.shape
    roi = (cols.start, rows.start, cols.stop, rows.stop)
    seg_crop = obs.segmentation[crop]
    depth_crop = frame.depth_m[crop]
    mask = seg_crop == label_value
    pixel_count = int(mask.sum())
    b = config.border_px
    cut = (rows.start < b or cols.start < b or rows.stop > h - b or cols.stop > w - b)
    occluded = _occluded_outline_fraction(seg_crop, depth_crop, label_value,
                                          config.occlusion_margin_m)
    partial = cut or occluded > config.max_occluded_outline

    stride = max(1, int(np.sqrt(pixel_count / config.target_points)))
    sub = (slice(None, None, stride), slice(None, None, stride))
    mask_s = mask[sub]
    depth_s = depth_crop[sub]
    valid = mask_s & np.isfinite(depth_s)
    n_valid = int(valid.sum())
    if n_valid < config.min_points:
        why = ("no valid depth on the object" if n_valid == 0
               else f"only {n_valid} valid depth points (need {config.min_points})")
        return _unlocalised(index, obs, roi, pixel_count, n_valid, partial, cut, occluded, why)

    threshold = config.continuity_abs_m + config.continuity_rel * np.nan_to_num(depth_s) * stride
    n_comp, labels = _continuous_components(depth_s, valid, threshold)
    sizes = np.bincount(labels, minlength=n_comp)
    keep_comp = sizes >= config.min_component_fraction * sizes.max()
    keep = keep_comp[labels]
    notes: tuple[str, ...] = ()
    if not keep.all():
        notes = (f"dropped {int((~keep).sum())} of {keep.size} points as outliers",)

    rays = frame.camera.rays()[crop][sub]
    z = depth_s[valid][keep]
    points_cam = rays[valid][keep] * z[:, None]
    good = np.isfinite(points_cam).all(axis=1)
    points_cam = points_cam[good]
    if points_cam.shape[0] < config.min_points:
        return _unlocalised(index, obs, roi, pixel_count, int(points_cam.shape[0]), partial, cut,
                            occluded, "too few points after outlier removal")
    points_scene = scene.to_scene(points_cam.astype(np.float32))
    lo = points_scene.min(axis=0).astype(np.float64)
    hi = points_scene.max(axis=0).astype(np.float64)
    median_range = float(np.median(z))
    return ObjectEstimate(
        index=index, label=obs.labels[index], score=float(obs.scores[index]),
        source_id=int(obs.source_ids[index]), center_scene=(lo + hi) / 2, extent_scene=hi - lo,
        points_scene=points_scene, roi_xyxy=roi, pixel_count=pixel_count,
        point_count=int(points_scene.shape[0]), localised=True, partial=partial,
        cut_by_border=cut, occluded_outline=occluded,
        position_sigma_m=0.005 + 0.003 * median_range ** 2, notes=notes)


def lift_objects(frame: Frame, obs: Observations, scene: SceneFrame,
                 config: ObjectConfig = ObjectConfig()) -> list[ObjectEstimate]:
    """Lift every observed object; objects absent from the segmentation are unlocalised."""
    crops = ndimage.find_objects(obs.segmentation, max_label=len(obs))
    estimates = []
    for index, crop in enumerate(crops):
        if crop is None:
            estimates.append(_unlocalised(index, obs, (0, 0, 0, 0), 0, 0, False, False, 0.0,
                                          "empty mask"))
            continue
        estimates.append(lift_object(frame, obs, index, crop, scene, config))
    return estimates

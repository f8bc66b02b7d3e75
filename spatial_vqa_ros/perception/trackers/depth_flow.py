"""``depth_flow``: objects' masks carried between keyframes by the camera's motion,
optical flow and depth, on the CPU with no weights (the tracker of GPU-less robots).

Per frame, for all objects at once:

1. Optical flow (OpenCV's DIS) from the new frame back to the previous one gives a
   backward map: where each new pixel was.
2. With a pose on both frames and depth, the camera's motion gives a second backward
   map, each new pixel's 3D point moved into the previous camera: the prior of every
   object that stays put. It holds where the previous frame saw that point at that
   depth (not occluded, not moved).
3. An object whose flow agrees with the camera's motion is carried by the prior (flow
   fills in where the prior does not hold); one whose flow does not moved by itself
   (a cube a gripper pushes) and is carried by flow. Without a pose, flow carries all.
4. The carried mask is trimmed to the depth-continuous surface it covers
   (:mod:`.refine`, ``depth_box``'s rule). A mask cut by the image border (or a few
   pixels short of it) goes on to the border, into what the pan brings into view
   there and nothing can be carried to: the pixels between it and the border, on
   its surface and within a depth step of its depths, so an object coming into view
   is followed and stays cut by the border (partial) instead of stopping where the
   previous frame ended and passing for whole. The floor is depth-continuous with the
   object's base, so those pixels never join on the plane the object stands on
   (``support_plane``, the rule ``depth_box`` cuts its masks by), nor where they reach
   the object only through it.

Confidence is the share of the carried mask that the new frame confirms: on the object's
depth surface and of the colour it had (flow's photometric check). An object whose mask
falls out of the image, shrinks below ``min_pixels`` or drops below ``min_confidence``
is lost, and stays lost (empty mask) until an ``update`` gives it a mask again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from ..errors import PerceptionError
from ..types import TrackedMasks, TrackingFrame
from .motion import (
    DIS_PRESETS,
    EgoMap,
    ego_map,
    flow_map,
    gray,
    moves_with_camera,
    revealed,
    warp_masks,
)
from .refine import Reveal, SurfaceRule, bounding_box, refine

#: How far around flow's masks the camera's motion is computed (pixels, each side).
_NEAR_PX = 8
#: Beyond what the view revealed, how far a mask cut by the border may reach out to
#: it (pixels).
_BORDER_SLACK_PX = 3
#: A mask carried onto less than this share of its pixels is leaving the view.
_MIN_KEPT_SHARE = 0.8
#: A side of the image counts as revealing when this share of the shorter side's
#: pixels came from beyond it.
_MIN_REVEALED_SHARE = 0.125
#: At most this share of the image's shorter side is taken as revealed in one frame
#: (flow at the border has outliers; a pan that fast blurs anyway).
_MAX_REVEALED_SHARE = 0.125
#: One step of a fan toward a side: left, right (and transposed: up, down). A fan
#: ``w`` steps deep holds the offsets with |dy| <= |dx| <= w on its side.
_FANS_X = (np.array([[0, 0, 1], [0, 1, 1], [0, 0, 1]], np.uint8),
           np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0]], np.uint8))
_FANS_Y = tuple(np.ascontiguousarray(fan.T) for fan in _FANS_X)


@dataclass(frozen=True)
class DepthFlowConfig:
    """How ``depth_flow`` judges. ``preset``: DIS's (:data:`~.motion.DIS_PRESETS`);
    ``consistency_abs_m`` + ``consistency_rel`` x depth: how far the previous frame's
    depth may be from a point the camera's motion carried there; ``agree_px`` +
    ``agree_motion_share`` x the camera-induced shift: how far flow may be from it for
    the object to count as still, on ``still_share`` of its pixels; ``photo_tolerance``:
    grey levels a pixel may change along flow and still count as the same surface."""

    preset: str = "ultrafast"
    consistency_abs_m: float = 0.03
    consistency_rel: float = 0.03
    agree_px: float = 3.0
    agree_motion_share: float = 0.25
    still_share: float = 0.5
    photo_tolerance: int = 24
    min_pixels: int = 20
    min_confidence: float = 0.3
    surface: SurfaceRule = field(default_factory=SurfaceRule)

    def __post_init__(self) -> None:
        if self.preset not in DIS_PRESETS:
            raise PerceptionError(f"depth_flow preset must be one of {sorted(DIS_PRESETS)}, "
                                  f"got {self.preset!r}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise PerceptionError(f"min_confidence must be within [0, 1], got "
                                  f"{self.min_confidence}")


class DepthFlowTracker:
    """The ``depth_flow`` :class:`~spatial_vqa_ros.perception.protocols.Tracker`.

    State: the objects' masks on the last frame seen (``init``, ``update`` or
    ``track``), with that frame. ``update`` on a frame other than that one first
    tracks the other objects onto it, so all masks always share one frame.
    """

    name = "depth_flow"

    def __init__(self, config: DepthFlowConfig | None = None) -> None:
        self.config = config or DepthFlowConfig()
        self._flow = cv2.DISOpticalFlow_create(DIS_PRESETS[self.config.preset])
        self._frame: TrackingFrame | None = None
        self._gray: np.ndarray | None = None
        self._ids = np.zeros(0, np.int64)
        self._masks = np.zeros((0, 0, 0), bool)
        self._confidence = np.zeros(0, np.float32)
        self._lost = np.zeros(0, bool)

    # --- the seam -----------------------------------------------------------
    def init(self, frame: TrackingFrame, masks: np.ndarray, ids: np.ndarray) -> None:
        masks, ids = _checked(frame, masks, ids)
        self._adopt(frame)
        self._ids, self._masks = ids, masks.copy()
        self._confidence = np.ones(len(ids), np.float32)
        self._lost = np.zeros(len(ids), bool)

    def update(self, frame: TrackingFrame, masks: np.ndarray, ids: np.ndarray) -> None:
        masks, ids = _checked(frame, masks, ids)
        if self._frame is None:
            self.init(frame, masks, ids)
            return
        if frame.stamp_ns != self._frame.stamp_ns:
            self.track(frame)  # the others onto this frame first
        known = {int(i): k for k, i in enumerate(self._ids)}
        fresh = np.array([int(i) not in known for i in ids], bool)
        at = np.array([known[int(i)] for i in ids[~fresh]], np.int64)
        self._masks[at] = masks[~fresh]
        self._confidence[at], self._lost[at] = 1.0, False
        self._ids = np.concatenate([self._ids, ids[fresh]])
        self._masks = np.concatenate([self._masks, masks[fresh]])
        self._confidence = np.concatenate([self._confidence,
                                           np.ones(int(fresh.sum()), np.float32)])
        self._lost = np.concatenate([self._lost, np.zeros(int(fresh.sum()), bool)])

    def drop(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self._ids, np.asarray(ids, np.int64).reshape(-1))
        self._ids, self._masks = self._ids[keep], self._masks[keep]
        self._confidence, self._lost = self._confidence[keep], self._lost[keep]

    def track(self, frame: TrackingFrame) -> TrackedMasks:
        if self._frame is None or self._gray is None:
            raise PerceptionError("depth_flow: track() before init(): give the tracker its "
                                  "objects' masks on a first frame")
        if frame.size_hw != self._frame.size_hw:
            raise PerceptionError(f"depth_flow: frame is {frame.size_hw}, the tracked "
                                  f"objects' frame {self._frame.size_hw}: one tracker per "
                                  "camera, init() again after a resolution change")
        if frame.stamp_ns == self._frame.stamp_ns:
            return self.result()
        gray_new = gray(frame.inputs.rgb)
        active = np.flatnonzero(~self._lost)
        if active.size:
            masks, confidence = self._carry(frame, gray_new, self._masks[active])
            lost = (masks.reshape(len(masks), -1).sum(axis=1) < self.config.min_pixels) | (
                confidence < self.config.min_confidence)
            masks[lost] = False
            self._masks[active] = masks
            self._confidence[active] = np.where(lost, 0.0, confidence)
            self._lost[active] = lost
        self._frame, self._gray = frame, gray_new
        return self.result()

    # --- the steps --------------------------------------------------------------
    def result(self) -> TrackedMasks:
        """Every object on the last frame seen (copies)."""
        return TrackedMasks(self._ids.copy(), self._masks.copy(), self._confidence.copy(),
                            self._lost.copy())

    def _adopt(self, frame: TrackingFrame) -> None:
        if self._frame is not None and frame.size_hw != self._frame.size_hw:
            self._masks = np.zeros((0, *frame.size_hw), bool)
        self._frame, self._gray = frame, gray(frame.inputs.rgb)

    def _carry(self, frame: TrackingFrame, gray_new: np.ndarray, masks: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """(masks, confidence) of the previous frame's ``masks`` on ``frame``."""
        assert self._frame is not None and self._gray is not None
        c = self.config
        fx_map, fy_map = flow_map(self._flow, gray_new, self._gray)
        carried = warp_masks(masks, fx_map, fy_map)
        # the camera's motion only around the objects: flow's masks, grown by its slack
        window = bounding_box(carried.any(axis=0), _NEAR_PX)
        ego = None if window is None else self._ego(frame, window)
        if ego is not None:
            still = moves_with_camera((fx_map, fy_map), ego, carried, tolerance_px=c.agree_px,
                                      motion_share=c.agree_motion_share,
                                      min_share=c.still_share)
            if still.any():
                by_pose = warp_masks(masks[still], ego.map_x, ego.map_y)
                carried[still] = np.where(ego.valid[None], by_pose, carried[still])
        warped_gray = cv2.remap(self._gray, fx_map, fy_map, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
        same = cv2.absdiff(gray_new, warped_gray) <= c.photo_tolerance
        depth = frame.depth_m
        camera = frame.inputs.camera
        fx = camera.fx if camera is not None else float(frame.size_hw[1])
        refined = carried.copy()
        if depth is not None:
            rays = camera.rays() if camera is not None else _pinhole_rays(*frame.size_hw, fx)
            width, sides = _revealed(fx_map, fy_map, ego)
            covered = carried.sum(axis=0)
            for k, mask in enumerate(carried):
                # only an object cut by the border goes on beyond what was carried, and
                # not one leaving the view (its remnant would live on the floor there)
                reveal = None
                if (_touches_border(masks[k]) or _touches_border(mask, width)) and (
                        mask.sum() >= _MIN_KEPT_SHARE * masks[k].sum()):
                    others = covered > mask  # the other objects' carried pixels
                    offered = (_beside_border(mask, width, sides) & ~others
                               & _near_depth_of(mask, depth, c.surface))
                    reveal = Reveal(offered, rays, others)
                refined[k] = refine(mask, depth, fx, c.surface, reveal=reveal)
        sizes = np.maximum(carried.reshape(len(carried), -1).sum(axis=1), 1)
        # of the carried pixels only (revealed ones have no previous frame to agree with)
        confirmed = (refined & carried & same[None]).reshape(len(carried), -1).sum(axis=1)
        return refined, (confirmed / sizes).astype(np.float32)

    def _ego(self, frame: TrackingFrame, window: tuple[slice, slice]) -> EgoMap | None:
        """The camera's motion as a backward map, when both frames have a pose and
        depth and the frame has intrinsics; else None."""
        prev = self._frame
        assert prev is not None
        camera = frame.inputs.camera
        if (camera is None or frame.world_from_camera is None
                or prev.world_from_camera is None or frame.depth_m is None
                or prev.depth_m is None):
            return None
        prev_from_new = np.linalg.inv(prev.world_from_camera) @ frame.world_from_camera
        return ego_map(frame.depth_m, camera, prev_from_new, prev.depth_m, window,
                       tolerance_abs_m=self.config.consistency_abs_m,
                       tolerance_rel=self.config.consistency_rel)


def _revealed(fx_map: np.ndarray, fy_map: np.ndarray, ego: EgoMap | None
              ) -> tuple[int, tuple[bool, bool, bool, bool]]:
    """Where this frame shows what the previous one did not see, by flow or the
    camera's motion (flow is weakest at the border, where it has no pixels beyond to
    match): how far into the image a mask cut by the border may reach out to it
    (pixels, with :data:`_BORDER_SLACK_PX`), and at which sides (left, right, top,
    bottom; a side counts with :data:`_MIN_REVEALED_SHARE` of the shorter side's
    pixels, not a few outliers of flow). An object leaving the view at a side where
    nothing comes in is not continued there (onto the floor it stood on)."""
    height, width = fx_map.shape
    least = max(1, int(_MIN_REVEALED_SHARE * min(height, width)))
    reach, sides = 0, np.zeros(4, bool)
    for map_x, map_y in ((fx_map, fy_map),) + (((ego.map_x, ego.map_y),) if ego else ()):
        reach = max(reach, revealed(map_x, map_y)[2])
        with np.errstate(invalid="ignore"):
            sides |= [np.count_nonzero(map_x < -0.5) >= least,
                      np.count_nonzero(map_x > width - 0.5) >= least,
                      np.count_nonzero(map_y < -0.5) >= least,
                      np.count_nonzero(map_y > height - 0.5) >= least]
    reach = min(reach, int(_MAX_REVEALED_SHARE * min(height, width)))
    return reach + _BORDER_SLACK_PX, (bool(sides[0]), bool(sides[1]), bool(sides[2]),
                                      bool(sides[3]))


def _beside_border(mask: np.ndarray, width: int,
                   sides: tuple[bool, bool, bool, bool] = (True, True, True, True)
                   ) -> np.ndarray:
    """(H, W) bool: pixels within ``width`` of the image border at ``sides`` (left,
    right, top, bottom), not in ``mask``, that continue it out to the border: from a
    mask pixel at most ``width`` away, going toward the border at least as far as along
    it (an hourglass), so a mask cut by the border reaches it again however it left
    it, but creeps along the border only as far as the view moved. Each side is
    computed on its band alone (2 x ``width`` deep), which holds every mask pixel that
    can reach it."""
    band = 2 * width + 1
    out = np.zeros_like(mask)
    for side, part, fans, zone in ((0, np.s_[:, :band], _FANS_X, np.s_[:, :width]),
                                   (1, np.s_[:, -band:], _FANS_X, np.s_[:, -width:]),
                                   (2, np.s_[:band], _FANS_Y, np.s_[:width]),
                                   (3, np.s_[-band:], _FANS_Y, np.s_[-width:])):
        near = np.ascontiguousarray(mask[part]).view(np.uint8)
        if sides[side] and near.any():  # the band, grown; its zone (outer half) kept
            grown = np.zeros(near.shape, bool)
            for fan in fans:  # a fan ``width`` deep: that many one-pixel steps
                grown |= cv2.dilate(near, fan, iterations=width).view(bool)
            out[part][zone] |= grown[zone]
    return out & ~mask


def _near_depth_of(mask: np.ndarray, depth: np.ndarray, rule: SurfaceRule) -> np.ndarray:
    """(H, W) bool: pixels within one depth step (``rule``'s continuity at that depth)
    of the depth range of most of ``mask`` (its 5th to 95th percentile). An object
    coming into view goes on at about the depths it has, a step further each frame;
    the floor behind a small object, reached through its base, lies beyond."""
    d = depth[mask]
    d = d[np.isfinite(d)]
    if d.size == 0:
        return np.zeros(depth.shape, bool)
    low, high = np.percentile(d, [5, 95])
    low -= rule.continuity_abs_m + rule.continuity_rel * low
    high += rule.continuity_abs_m + rule.continuity_rel * high
    with np.errstate(invalid="ignore"):
        return (depth >= low) & (depth <= high)


def _touches_border(mask: np.ndarray, within: int = 1) -> bool:
    return bool(mask[:within].any() or mask[-within:].any() or mask[:, :within].any()
                or mask[:, -within:].any())


@lru_cache(maxsize=4)
def _pinhole_rays(height: int, width: int, f: float) -> np.ndarray:
    """(H, W, 3) rays of a frame without intrinsics: the focal length the tracker
    assumes (``f``), centred."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    rays = np.stack([(u - (width - 1) / 2) / f, (v - (height - 1) / 2) / f,
                     np.ones_like(u)], axis=-1)
    rays.flags.writeable = False
    return rays


def _checked(frame: TrackingFrame, masks: np.ndarray, ids: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """(masks (N, H, W) bool, ids (N,) int64) of a caller, or PerceptionError naming the
    expected shape."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or not (ids.size == 0 or np.issubdtype(ids.dtype, np.integer)):
        raise PerceptionError(f"tracker ids must be (N,) integers, got {ids.shape} "
                              f"{ids.dtype}")
    masks = np.asarray(masks)
    expected = (len(ids), *frame.size_hw)
    if masks.shape != expected:
        raise PerceptionError(f"tracker masks must have shape {expected} for {len(ids)} ids "
                              f"on a {frame.size_hw[1]}x{frame.size_hw[0]} frame, got "
                              f"{masks.shape}")
    if len(np.unique(ids)) != len(ids):
        raise PerceptionError(f"tracker ids must be unique, got {ids.tolist()}")
    return masks.astype(bool), ids.astype(np.int64)


__all__ = ["DepthFlowConfig", "DepthFlowTracker"]

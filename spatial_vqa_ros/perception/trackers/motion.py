"""Where each pixel of a new frame was on the previous one: from optical flow, and from
the camera's motion through depth. Both are backward maps, (H, W) float32 x and y
pixel coordinates on the previous frame per pixel of the new one, so every object's
mask is carried by one ``cv2.remap`` of all masks at once (:func:`warp_masks`), with
no holes where an object grows in the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ...core.camera import CameraIntrinsics

#: OpenCV's DIS presets by name. ULTRAFAST takes about 3 ms a VGA frame on one core
#: of this machine's CPU, FAST about 6 ms, MEDIUM about 40 ms.
DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
               "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


@dataclass(frozen=True)
class EgoMap:
    """The camera's motion as a backward map: ``map_x``/``map_y`` (H, W) float32 pixel
    on the previous frame of each new pixel's 3D point (new depth, both poses; NaN
    outside ``window``, the rows and columns computed); ``valid`` (H, W) bool where
    that point lands on the previous frame at the depth the previous frame measured
    there (a static point seen in both), so an occluded or moving point is not carried
    by it."""

    map_x: np.ndarray
    map_y: np.ndarray
    valid: np.ndarray
    window: tuple[slice, slice]


def gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W) uint8 luminance of an (H, W, 3) uint8 RGB image."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


@lru_cache(maxsize=4)
def pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) float32 coordinates of every pixel, cached per image size."""
    x, y = np.meshgrid(np.arange(width, dtype=np.float32),
                       np.arange(height, dtype=np.float32))
    x.flags.writeable = y.flags.writeable = False
    return x, y


@lru_cache(maxsize=4)
def _ray_planes(camera: CameraIntrinsics) -> tuple[np.ndarray, np.ndarray]:
    """The x/z and y/z planes of the camera's rays, each contiguous (H, W) float32."""
    rays = camera.rays()
    return np.ascontiguousarray(rays[..., 0]), np.ascontiguousarray(rays[..., 1])


def flow_map(flow: cv2.DISOpticalFlow, gray_new: np.ndarray, gray_prev: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """The backward map of dense optical flow from the new frame to the previous one:
    ``gray_new(p) ~ gray_prev(map(p))``."""
    uv = flow.calc(gray_new, gray_prev, None)
    x, y = pixel_grid(*gray_new.shape)
    return x + uv[..., 0], y + uv[..., 1]


def ego_map(depth_new: np.ndarray, camera: CameraIntrinsics, prev_from_new: np.ndarray,
            depth_prev: np.ndarray, window: tuple[slice, slice], *, tolerance_abs_m: float,
            tolerance_rel: float) -> EgoMap:
    """Each new pixel's 3D point (``depth_new`` along the camera's rays) moved into the
    previous camera (``prev_from_new``: (4, 4), ``p_prev = T @ p_new``) and projected,
    valid where the previous frame's depth at that pixel is the point's depth within
    ``tolerance_abs_m`` + ``tolerance_rel`` x depth. Computed in ``window`` (rows,
    columns: around the objects), plane by plane, with no (H, W, 3) temporaries."""
    ray_x, ray_y = (plane[window] for plane in _ray_planes(camera))
    d = depth_new[window]
    xyz = (ray_x * d, ray_y * d, d)
    rotation, offset = prev_from_new[:3, :3], prev_from_new[:3, 3]
    moved = [xyz[0] * np.float32(rotation[i, 0]) + xyz[1] * np.float32(rotation[i, 1])
             + xyz[2] * np.float32(rotation[i, 2]) + np.float32(offset[i]) for i in range(3)]
    z = moved[2]
    if camera.is_distorted:
        uv = camera.project(np.stack(moved, axis=-1).reshape(-1, 3)).astype(np.float32)
        u, v = uv[:, 0].reshape(z.shape), uv[:, 1].reshape(z.shape)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            u = moved[0] / z * np.float32(camera.fx) + np.float32(camera.cx)
            v = moved[1] / z * np.float32(camera.fy) + np.float32(camera.cy)
    seen = cv2.remap(depth_prev, u, v, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=np.nan)
    map_x = np.full(depth_new.shape, np.nan, np.float32)
    map_y = np.full(depth_new.shape, np.nan, np.float32)
    valid = np.zeros(depth_new.shape, bool)
    map_x[window], map_y[window] = u, v
    with np.errstate(invalid="ignore"):
        valid[window] = (z > 0) & (np.abs(seen - z) <= tolerance_abs_m + tolerance_rel * z)
    return EgoMap(map_x, map_y, valid, window)


def warp_masks(masks: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """(N, H, W) bool masks of the previous frame carried to the new one along a
    backward map (nearest pixel; outside the previous frame or a NaN map: not the
    object). The masks travel as bits, sixteen objects a uint16 plane, one remap a
    plane."""
    out = np.empty(masks.shape, bool)
    for start in range(0, len(masks), 16):
        part = masks[start:start + 16]
        packed = np.zeros(masks.shape[1:], np.uint16)
        for bit, mask in enumerate(part):
            packed |= mask.view(np.uint8).astype(np.uint16) << bit
        warped = cv2.remap(packed, map_x, map_y, cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        for bit in range(len(part)):
            out[start + bit] = (warped >> bit) & 1
    return out


def revealed(map_x: np.ndarray, map_y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """What a pan or glide brings into view at the border, where no mask can be carried
    from: (H, W) bool new pixels whose backward map lands beyond the previous frame's
    left or right side, the same beyond its top or bottom, and how far beyond at most,
    in whole pixels (0: none)."""
    height, width = map_x.shape
    with np.errstate(invalid="ignore"):
        beyond_x = np.maximum(-map_x, map_x - (width - 1))
        beyond_y = np.maximum(-map_y, map_y - (height - 1))
        sideways, vertical = beyond_x > 0.5, beyond_y > 0.5
    either = sideways | vertical
    reach = (int(np.ceil(np.nanmax(np.maximum(beyond_x, beyond_y)[either])))
             if either.any() else 0)
    return sideways, vertical, reach


def moves_with_camera(flow_xy: tuple[np.ndarray, np.ndarray], ego: EgoMap,
                      masks: np.ndarray, *, tolerance_px: float, motion_share: float,
                      min_share: float) -> np.ndarray:
    """(N,) bool: whether each object (its flow-carried mask on the new frame) moved
    as the camera's motion predicts: on at least ``min_share`` of its pixels, the
    camera's motion explains the pixel (:attr:`EgoMap.valid`) and flow agrees with it
    within ``tolerance_px`` + ``motion_share`` x the camera-induced displacement. An
    object pushed by a gripper fails it and is carried by flow alone."""
    window = ego.window
    x, y = (plane[window] for plane in pixel_grid(*ego.valid.shape))
    ex, ey = ego.map_x[window], ego.map_y[window]
    with np.errstate(invalid="ignore"):
        gap = np.hypot(flow_xy[0][window] - ex, flow_xy[1][window] - ey)
        motion = np.hypot(ex - x, ey - y)
        agrees = ego.valid[window] & (gap <= tolerance_px + motion_share * motion)
    inside = masks[(slice(None), *window)]
    counts = masks.reshape(len(masks), -1).sum(axis=1)
    agreeing = (inside & agrees[None]).reshape(len(masks), -1).sum(axis=1)
    return agreeing >= min_share * np.maximum(counts, 1)

__all__ = ["DIS_PRESETS", "EgoMap", "ego_map", "flow_map", "gray", "moves_with_camera",
           "revealed", "warp_masks"]

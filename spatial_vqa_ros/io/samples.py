"""Real RGB-D frames with measured depth and calibration, for tests, benchmarks and demos.

Model weights and datasets cannot be downloaded at run time, but scikit-image ships the
Middlebury 2014 "Motorcycle" stereo pair with its ground-truth disparity and
calibration (BSD-licensed wheel). Disparity d gives metric depth Z = f B / (d + doffs):
a real camera frame with real metric depth (2.1-5.0 m, 93 % of pixels valid), the
nearest thing to a robot's RGB-D frame reachable here. scikit-image is a test
dependency; it is imported only when a sample is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.camera import CameraIntrinsics
from .errors import DataIOError

#: Middlebury 2014 Motorcycle calibration (calib.txt of the dataset), pixels and mm.
MOTORCYCLE_F_PX = 994.978
MOTORCYCLE_CX_PX = 311.193
MOTORCYCLE_CY_PX = 254.877
MOTORCYCLE_DOFFS_PX = 31.086
MOTORCYCLE_BASELINE_M = 0.193001


@dataclass(frozen=True)
class RgbdSample:
    """One real frame: (H, W, 3) uint8 rgb, (H, W) float32 depth in metres (NaN where
    unknown), its calibrated camera, and what it shows."""

    rgb: np.ndarray
    depth_m: np.ndarray
    camera: CameraIntrinsics
    name: str
    objects: tuple[str, ...]


def middlebury_motorcycle() -> RgbdSample:
    """The left view of Middlebury 2014 "Motorcycle" with metric depth from its disparity."""
    try:
        from skimage import data
    except ImportError:
        raise DataIOError("the Middlebury sample needs scikit-image: pip install "
                          "scikit-image") from None
    left, _, disparity = data.stereo_motorcycle()
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = (MOTORCYCLE_F_PX * MOTORCYCLE_BASELINE_M
                 / (disparity.astype(np.float64) + MOTORCYCLE_DOFFS_PX))
    depth[~np.isfinite(disparity) | (disparity <= 0)] = np.nan
    height, width = left.shape[:2]
    camera = CameraIntrinsics(width, height, MOTORCYCLE_F_PX, MOTORCYCLE_F_PX,
                              MOTORCYCLE_CX_PX, MOTORCYCLE_CY_PX,
                              frame_id="middlebury_left_optical")
    return RgbdSample(np.ascontiguousarray(left), depth.astype(np.float32), camera,
                      "middlebury_motorcycle", ("motorcycle",))


__all__ = ["RgbdSample", "middlebury_motorcycle"]

"""Pinhole camera intrinsics with lens distortion, and the pixel rays they imply.

Depth images from RGB-D cameras are registered to the (distorted) colour image, so
a pixel (u, v) with depth z lies at ``z * ray(u, v)`` where ``ray`` is the
*undistorted* normalised ray (x/z, y/z, 1). Undistorting the rays, once per
camera, is exact and cheaper than resampling every image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import CoreError

#: Distortion models (sensor_msgs/CameraInfo names) whose coefficients we invert.
SUPPORTED_DISTORTION_MODELS = ("plumb_bob", "rational_polynomial")

_UNDISTORT_ITERATIONS = 20
#: Reprojection error (pixels) above which an undistorted ray is declared invalid.
_UNDISTORT_TOLERANCE_PX = 0.05


@dataclass(frozen=True)
class CameraIntrinsics:
    """Intrinsics of one camera, as sensor_msgs/CameraInfo carries them.

    ``distortion`` holds D: (k1, k2, p1, p2, k3) for ``plumb_bob``, eight
    coefficients (k1, k2, p1, p2, k3, k4, k5, k6) for ``rational_polynomial``.
    An all-zero or empty D means an undistorted image, whatever the model name.
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion_model: str = "plumb_bob"
    distortion: tuple[float, ...] = ()
    frame_id: str = "camera_color_optical_frame"

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise CoreError(f"camera size must be positive, got {self.width}x{self.height}")
        if not (np.isfinite([self.fx, self.fy, self.cx, self.cy]).all() and self.fx > 0
                and self.fy > 0):
            raise CoreError(
                f"invalid focal lengths fx={self.fx}, fy={self.fy}: is CameraInfo.k filled in? "
                "(an uncalibrated camera publishes zeros)")
        if self.is_distorted and self.distortion_model not in SUPPORTED_DISTORTION_MODELS:
            raise CoreError(
                f"distortion model {self.distortion_model!r} is not supported "
                f"(supported: {', '.join(SUPPORTED_DISTORTION_MODELS)}); rectify the image "
                "(image_proc) and use the rectified CameraInfo")

    @classmethod
    def from_camera_info(
        cls,
        k: Sequence[float],
        d: Sequence[float],
        width: int,
        height: int,
        *,
        distortion_model: str = "plumb_bob",
        frame_id: str = "camera_color_optical_frame",
    ) -> CameraIntrinsics:
        """Build from CameraInfo fields: K row-major 3x3, D, image size."""
        k_arr = np.asarray(k, dtype=np.float64).ravel()
        if k_arr.size != 9:
            raise CoreError(f"CameraInfo.k must have 9 entries, got {k_arr.size}")
        return cls(
            width=int(width), height=int(height),
            fx=float(k_arr[0]), fy=float(k_arr[4]), cx=float(k_arr[2]), cy=float(k_arr[5]),
            distortion_model=distortion_model or "plumb_bob",
            distortion=tuple(float(x) for x in d),
            frame_id=frame_id,
        )

    @property
    def is_distorted(self) -> bool:
        return any(abs(c) > 0.0 for c in self.distortion)

    @property
    def k_matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def rays(self) -> np.ndarray:
        """Undistorted normalised rays (x/z, y/z, 1) per pixel, shape (H, W, 3), float32.

        Pixels whose undistortion does not converge get NaN rays. Cached per camera up
        to :data:`RAYS_CACHE_MAX_PIXELS`: one huge frame (an 8K still) must not pin
        hundreds of MB for the rest of a run.
        """
        if self.width * self.height > RAYS_CACHE_MAX_PIXELS:
            return _rays_for.__wrapped__(self)
        return _rays_for(self)

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Project (N, 3) optical-frame points to (N, 2) pixel coordinates (u, v).

        Applies the distortion model, so ``project(z * rays()[v, u]) == (u, v)``.
        """
        pts = np.asarray(points_cam, dtype=np.float64).reshape(-1, 3)
        x = pts[:, 0] / pts[:, 2]
        y = pts[:, 1] / pts[:, 2]
        xd, yd = self._distort(x, y)
        return np.stack([self.fx * xd + self.cx, self.fy * yd + self.cy], axis=1)

    def _coefficients(self) -> tuple[float, ...]:
        c = list(self.distortion) + [0.0] * 8
        return tuple(c[:8])  # k1 k2 p1 p2 k3 k4 k5 k6

    def _distort(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self.is_distorted:
            return x, y
        k1, k2, p1, p2, k3, k4, k5, k6 = self._coefficients()
        r2 = x * x + y * y
        radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        return xd, yd


#: Cameras up to this many pixels keep their rays cached (12 bytes a pixel: 48 MB at
#: 4 MP); larger ones compute them per call.
RAYS_CACHE_MAX_PIXELS = 4_000_000


@lru_cache(maxsize=8)
def _rays_for(camera: CameraIntrinsics) -> np.ndarray:
    u = np.arange(camera.width, dtype=np.float64)
    v = np.arange(camera.height, dtype=np.float64)
    xd = np.broadcast_to((u - camera.cx) / camera.fx, (camera.height, camera.width))
    yd = np.broadcast_to(((v - camera.cy) / camera.fy)[:, None], (camera.height, camera.width))
    x, y = xd.copy(), yd.copy()
    if camera.is_distorted:
        k1, k2, p1, p2, k3, k4, k5, k6 = camera._coefficients()
        for _ in range(_UNDISTORT_ITERATIONS):  # fixed-point inversion, as OpenCV does
            r2 = x * x + y * y
            radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
            dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
            dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
            x = (xd - dx) / radial
            y = (yd - dy) / radial
        xr, yr = camera._distort(x, y)
        error_px = np.hypot((xr - xd) * camera.fx, (yr - yd) * camera.fy)
        bad = ~(error_px < _UNDISTORT_TOLERANCE_PX)
        x[bad] = np.nan
        y[bad] = np.nan
    rays = np.empty((camera.height, camera.width, 3), dtype=np.float32)
    rays[..., 0] = x
    rays[..., 1] = y
    rays[..., 2] = 1.0
    rays.setflags(write=False)
    return rays

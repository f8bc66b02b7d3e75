"""Metric scale alignment of monocular model depth, from sensor depth or the camera height.

Why: a monocular "metric" depth model (Depth Anything V2 metric, Depth Pro) gets the
*shape* of a scene right but its overall scale wrong by tens of percent, and that one
number multiplies every distance and size the package states. To first order the
error is global (one scale for the whole image: the model guessed the focal length or
the room size wrong), so one number fixes most of it. What remains after alignment is
a smooth, low-frequency warp (a few percent, varying across the image) and local
errors at object edges; no global fit can remove those, and this module does not try.

Two sources of the scale, both cheap and both reported (DESIGN: "the applied scale is
reported, never hidden"):

- :func:`align_to_sensor`: sensor depth, even sparse (1 % of the pixels) or low
  resolution upsampled by the caller. A robust least-squares fit of
  ``sensor ≈ s * model + t`` (RANSAC start, then Tukey-reweighted least squares on
  *relative* residuals), so flying pixels and edge disagreements do not bias it.
- :func:`align_to_camera_height`: the camera's height above the floor (a parameter or
  TF). Depth scales linearly along the pixel rays, so the floor plane fitted in the
  model's point cloud has its distance to the camera multiplied by the same scale:
  ``s = camera_height_m / fitted_height``.

Both return a :class:`ScaleFit`; ``fit.apply(model_depth_m)`` gives the aligned depth.

On rendered scenes (``bench/bench_scale.py``) either method brings distances and widths
back to the accuracy of exact depth. Heights and vertical distances need the warp to
be small (about +-1 %): a warp tilts the floor fitted by the core, and "up" with it,
which no global scale undoes (the true scale does no better than the fits).
Pure numpy (and open3d through the core's floor fit): no torch, no rclpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from ..core.camera import CameraIntrinsics
from ..core.floor import (
    FloorConfig,
    FloorEstimate,
    detect_floor,
    fit_plane_least_squares,
    sample_background_points,
)
from .errors import PerceptionError
from .types import DepthResult, SensorInputs

#: Minimum valid (model, sensor) pairs for a sensor fit.
MIN_SENSOR_POINTS = 30
#: With ``fit_shift=None`` the shift is fitted only with at least this many pairs...
MIN_POINTS_FOR_SHIFT = 500
#: ...whose model depths span at least this ratio (90th / 10th percentile). On a
#: narrow depth range scale and shift trade off against each other and the pair is
#: ill-conditioned: a scale alone extrapolates better.
MIN_DEPTH_SPAN_FOR_SHIFT = 2.0
#: Tukey biweight tuning constant (95 % efficiency on Gaussian residuals).
_TUKEY_C = 4.685
#: Floor on the robust sigma of relative residuals, so that exact data keep all points.
_MIN_SIGMA_REL = 0.002


@dataclass(frozen=True)
class ScaleFit:
    """``aligned = scale * model + shift_m`` (metres), and how it was found.

    ``method``: ``"sensor"`` (fitted to sensor depth) or ``"camera_height"`` (fitted
    floor put at the known camera height). ``residual_m``: median
    ``|aligned - sensor|`` over the inliers (NaN for ``camera_height``: one equation,
    one unknown, nothing left over). ``points_used``: inlier pairs of the sensor fit,
    or inlier points of the fitted floor. ``shift_fitted``: False when the shift was
    held at 0 (scale-only fit, and always for ``camera_height``).
    """

    scale: float
    shift_m: float
    method: Literal["sensor", "camera_height"]
    residual_m: float
    points_used: int
    shift_fitted: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and self.scale > 0 and math.isfinite(self.shift_m)):
            raise PerceptionError(f"a depth scale must be finite and positive, and the shift "
                                  f"finite; got scale={self.scale}, shift={self.shift_m} m")
        if self.method not in ("sensor", "camera_height"):
            raise PerceptionError(f"ScaleFit.method must be 'sensor' or 'camera_height', "
                                  f"got {self.method!r}")

    def apply(self, depth_m: np.ndarray) -> np.ndarray:
        """Aligned (H, W) float32 depth: NaN stays NaN, non-positive results become NaN."""
        depth = np.asarray(depth_m, dtype=np.float64)
        aligned = self.scale * depth + self.shift_m
        with np.errstate(invalid="ignore"):
            aligned[~(aligned > 0) | ~np.isfinite(aligned)] = np.nan
        return aligned.astype(np.float32)


def align_to_sensor(
    model_depth_m: np.ndarray,
    sensor_depth_m: np.ndarray,
    *,
    fit_shift: bool | None = None,
    min_points: int = MIN_SENSOR_POINTS,
    ransac_iterations: int = 256,
    ransac_tolerance_rel: float = 0.05,
    seed: int = 0,
) -> ScaleFit:
    """Fit ``sensor ≈ scale * model + shift`` over the pixels where both are valid.

    ``model_depth_m`` and ``sensor_depth_m`` are (H, W) metres on the same pixel grid
    (upsample a low-resolution sensor first, nearest-neighbour, so that no pixel mixes
    two surfaces); NaN, inf or <= 0 mean "no depth". The sensor may be sparse.

    Residuals are *relative* (divided by the sensor depth) because both a model's
    error and a sensor's noise grow with distance. A RANSAC over minimal samples
    (one pair for a scale, two for scale and shift) finds the bulk of the agreeing
    pixels (``ransac_tolerance_rel``); Tukey-reweighted least squares then refines,
    with the cut-off at 4.685 robust sigmas (MAD over the current inliers) of the
    relative residual. Flying pixels and edges, where model and sensor see different
    surfaces, get zero weight; more than half of the pairs may be such outliers as
    long as they do not agree among themselves.

    ``fit_shift``: True fits scale and shift, False the scale alone, None (default)
    decides: a shift only with at least ``MIN_POINTS_FOR_SHIFT`` pairs spanning a depth
    ratio of ``MIN_DEPTH_SPAN_FOR_SHIFT``. A metric model's error is mostly a scale; a
    shift fitted on few points, or on a narrow depth range, trades off against the
    scale and extrapolates badly to the rest of the image.

    What it cannot fix: the smooth warp that remains (the fit averages it), and any
    error where the sensor has no points (a sensor that only sees the near field
    pins the scale there). Raises PerceptionError with fewer than ``min_points``
    valid pairs or inliers, or when the sizes differ.
    """
    model = np.asarray(model_depth_m, dtype=np.float64)
    sensor = np.asarray(sensor_depth_m, dtype=np.float64)
    if model.shape != sensor.shape:
        raise PerceptionError(
            f"model depth {model.shape} and sensor depth {sensor.shape} differ in size: "
            "upsample the sensor depth to the model's grid first (nearest neighbour)")
    min_points = max(int(min_points), 2)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(model) & np.isfinite(sensor) & (model > 0) & (sensor > 0)
    m, d = model[valid], sensor[valid]
    if m.size < min_points:
        raise PerceptionError(
            f"scale alignment to sensor depth needs at least {min_points} pixels where both "
            f"the model and the sensor have depth, got {m.size} valid pairs")
    if fit_shift is None:
        lo, hi = np.percentile(m, [10, 90])
        fit_shift = m.size >= MIN_POINTS_FOR_SHIFT and hi >= MIN_DEPTH_SPAN_FOR_SHIFT * lo
    rng = np.random.default_rng(seed)
    s, t = _ransac(m, d, fit_shift=fit_shift, iterations=ransac_iterations,
                   tolerance_rel=ransac_tolerance_rel, rng=rng)
    s, t, inliers = _tukey_refine(m, d, s, t, fit_shift=fit_shift,
                                  tolerance_rel=ransac_tolerance_rel)
    count = int(inliers.sum())
    if count < min_points or not s > 0:
        raise PerceptionError(
            f"scale alignment to sensor depth found no consistent fit: {count} of {m.size} "
            f"valid pairs agree (at least {min_points} needed); are model and sensor depth "
            "registered to the same image?")
    residual = float(np.median(np.abs(s * m[inliers] + t - d[inliers])))
    return ScaleFit(scale=float(s), shift_m=float(t), method="sensor", residual_m=residual,
                    points_used=count, shift_fitted=bool(fit_shift))


def _ransac(m: np.ndarray, d: np.ndarray, *, fit_shift: bool, iterations: int,
            tolerance_rel: float, rng: np.random.Generator) -> tuple[float, float]:
    """Best (scale, shift) of minimal samples, by the count of pairs within
    ``tolerance_rel`` relative error (scored on at most 4000 pairs)."""
    n = m.size
    score_idx = rng.choice(n, 4000, replace=False) if n > 4000 else np.arange(n)
    ms, ds = m[score_idx], d[score_idx]
    i = rng.integers(0, n, iterations)
    if fit_shift:
        j = rng.integers(0, n, iterations)
        dm = m[i] - m[j]
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (d[i] - d[j]) / dm
        # two pixels at the same model depth say nothing about the slope
        s[np.abs(dm) < 1e-6 * np.maximum(m[i], m[j])] = np.nan
        t = d[i] - s * m[i]
    else:
        s, t = d[i] / m[i], np.zeros(iterations)
    ok = np.isfinite(s) & (s > 0) & np.isfinite(t)
    if not ok.any():
        return float(np.median(d / m)), 0.0
    s, t = s[ok], t[ok]
    residual_rel = np.abs(s[:, None] * ms[None, :] + t[:, None] - ds[None, :]) / ds[None, :]
    best = int(np.argmax((residual_rel < tolerance_rel).sum(axis=1)))
    return float(s[best]), float(t[best])


def _tukey_refine(m: np.ndarray, d: np.ndarray, s: float, t: float, *, fit_shift: bool,
                  tolerance_rel: float, iterations: int = 30
                  ) -> tuple[float, float, np.ndarray]:
    """Iteratively reweighted least squares, Tukey biweight on relative residuals.

    Returns (scale, shift, inlier mask). Minimises sum w * ((s m + t - d) / d)^2: the
    1 / d^2 weight makes every pixel count by its relative error. The robust sigma is
    the MAD of the *current inliers* (first: RANSAC's consensus), not of all pairs, so
    that more than half of the pairs may be outliers, as RANSAC allows.
    """
    a_m, a_1 = m / d, 1.0 / d  # rows of the relative design: (s m + t) / d ≈ 1
    inliers = np.abs((s * m + t - d) / d) < tolerance_rel
    for _ in range(iterations):
        if inliers.sum() < (2 if fit_shift else 1):
            break
        r = (s * m + t - d) / d
        cutoff = _TUKEY_C * max(1.4826 * float(np.median(np.abs(r[inliers]))), _MIN_SIGMA_REL)
        inliers = np.abs(r) < cutoff
        w = np.where(inliers, (1.0 - (r / cutoff) ** 2) ** 2, 0.0)
        if fit_shift:
            design = np.stack([a_m, a_1], axis=1) * np.sqrt(w)[:, None]
            solution, *_ = np.linalg.lstsq(design, np.sqrt(w), rcond=None)
            s_new, t_new = float(solution[0]), float(solution[1])
        else:
            s_new, t_new = float((w * a_m).sum() / (w * a_m * a_m).sum()), 0.0
        converged = abs(s_new - s) <= 1e-10 * abs(s) and abs(t_new - t) <= 1e-10
        s, t = s_new, t_new
        if converged:
            break
    r = (s * m + t - d) / d
    if inliers.any():
        cutoff = _TUKEY_C * max(1.4826 * float(np.median(np.abs(r[inliers]))), _MIN_SIGMA_REL)
        inliers = np.abs(r) < cutoff
    return s, t, inliers


def align_to_camera_height(
    model_depth_m: np.ndarray,
    camera: CameraIntrinsics,
    camera_height_m: float,
    *,
    floor_config: FloorConfig = FloorConfig(),
    exclude: np.ndarray | None = None,
    refine: bool = True,
) -> ScaleFit:
    """The scale that puts the floor fitted in the model's point cloud at the known
    height of the camera above the floor: ``s = camera_height_m / fitted_height``.

    Points are ``depth * camera.rays()``; the floor is the core's (:func:`detect_floor`:
    the lowest near-horizontal plane below the camera). Scaling depth by ``s`` scales
    every point, so the plane's distance to the camera scales by ``s`` too.
    ``exclude``: (H, W) bool, pixels to leave out (objects' masks, when known).

    With ``refine`` the floor is detected again in the aligned cloud, where the floor
    config's metric thresholds (inlier band, minimum camera height) mean what they
    say; of the two detections the better supported one is kept (the "lowest plane"
    rule can take a sliver of floor and object bases, tilted by a few degrees, for the
    floor) and refitted by least squares on its metric inlier band.

    What it cannot fix: a warp that bends or tilts the floor. The floor is seen at a
    grazing angle metres away, so a tilt of the fitted plane moves its distance to the
    camera by lever arm x tilt: a +-3 % warp gives scale errors of 2 % (median) and
    up to ~7 %, twice what a sensor fit leaves. Nor a scene whose lowest visible plane
    is not the floor: on a table top with no floor in view the table is taken for the
    floor and the scale is too large by camera height / height above the table. No
    shift is fitted (one plane, one number). Raises PerceptionError when no floor is
    found.
    """
    if not (math.isfinite(camera_height_m) and camera_height_m > 0):
        raise PerceptionError(f"camera_height_m must be positive and finite, got "
                              f"{camera_height_m}")
    depth = np.asarray(model_depth_m, dtype=np.float64)
    if depth.shape != (camera.height, camera.width):
        raise PerceptionError(f"model depth {depth.shape} does not match the camera "
                              f"({camera.height}, {camera.width})")
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(depth) & (depth > 0)
    if exclude is not None:
        keep &= ~np.asarray(exclude, dtype=bool)
    points = camera.rays()[keep].astype(np.float64) * depth[keep][:, None]
    points = sample_background_points(points[np.isfinite(points).all(axis=1)],
                                      floor_config.max_points)
    floor = detect_floor(points, floor_config)
    if floor is None:
        raise PerceptionError(
            f"scale alignment to the camera height found no floor in the model depth "
            f"({points.shape[0]} valid points): point the camera at the floor, or give "
            "sensor depth (align_to_sensor)")
    scale = camera_height_m / floor.offset_m
    if refine:
        scale, floor = _refine_floor_scale(points, scale, floor, camera_height_m, floor_config)
    return ScaleFit(scale=float(scale), shift_m=0.0, method="camera_height",
                    residual_m=float("nan"), points_used=int(floor.inlier_count),
                    shift_fitted=False)


def _refine_floor_scale(points: np.ndarray, scale: float, floor: FloorEstimate,
                        camera_height_m: float, config: FloorConfig
                        ) -> tuple[float, FloorEstimate]:
    """Scale and floor after a second detection in the aligned (metric) cloud."""
    aligned = points * scale
    normal, offset = floor.normal_cam, floor.offset_m * scale
    again = detect_floor(aligned, config)
    if again is not None and again.inlier_count > floor.inlier_count:
        floor, normal, offset = again, again.normal_cam, again.offset_m
    tight = np.abs(aligned @ normal + offset) < 0.75 * config.inlier_distance_m
    if tight.sum() >= config.min_support_points:
        normal, offset = fit_plane_least_squares(aligned[tight])
        offset = abs(offset)  # the camera (origin) is above the floor
    return scale * camera_height_m / offset, floor


#: Fewer valid sensor pixels than this: the sensor cannot fix the scale; use the height.
MIN_SENSOR_PIXELS = 30


def align_depth(depth: DepthResult, inputs: SensorInputs, camera: CameraIntrinsics, *,
                camera_height_m: float = 0.0) -> DepthResult:
    """Model depth made metric with what the robot knows, the applied fit recorded.

    Sensor depth (even sparse) is preferred: its fit is twice as close as the camera
    height's (see :func:`align_to_camera_height`). Without either, the model's depth is
    returned as it is (scale 1), which the provenance then says.
    """
    sensor = inputs.depth_m
    if sensor is not None and int(np.isfinite(sensor).sum()) >= MIN_SENSOR_PIXELS:
        fit = align_to_sensor(depth.depth_m, sensor)
        source = "model+sensor"
    elif camera_height_m > 0:
        fit = align_to_camera_height(depth.depth_m, camera, camera_height_m)
        source = depth.source
    else:
        return depth
    return replace(depth, depth_m=fit.apply(depth.depth_m), source=source,
                   scale=fit.scale, shift_m=fit.shift_m)


__all__ = ["MIN_SENSOR_PIXELS", "ScaleFit", "align_depth", "align_to_camera_height",
           "align_to_sensor"]

"""Find the floor (or the support surface of a tabletop scene) in a depth image.

RANSAC (open3d ``segment_plane``) proposes up to a few planes; the floor is the
*lowest* plane whose normal is near the camera's up direction and that has enough
support. "Lowest" is what separates the floor from a table top seen together with
it; "near up" rejects walls; "below the camera" rejects ceilings. When only a
table is visible, its top is the lowest candidate, so the support surface is used.

The winner is refined by least squares on its inliers, which is what gets the
normal to a fraction of a degree. A :class:`FloorTracker` smooths the plane across
frames of a still camera and skips RANSAC while the previous plane still fits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .errors import CoreError
from .scene_frame import SceneFrame, camera_aligned_frame, scene_frame_from_floor


@dataclass(frozen=True)
class FloorConfig:
    """Tuning of floor detection. Distances in metres, angles in degrees."""

    #: Max point-to-plane distance of a RANSAC inlier.
    inlier_distance_m: float = 0.02
    #: Max angle between a floor candidate's normal and the camera's "up" prior
    #: (image up, -y of the optical frame). Covers pitch and roll of a mounted camera.
    max_tilt_deg: float = 70.0
    #: A candidate must hold this fraction of the sampled background points...
    min_support_fraction: float = 0.08
    #: ...and at least this many points.
    min_support_points: int = 150
    #: Candidate must lie this far below the camera at least.
    min_camera_height_m: float = 0.05
    #: Planes extracted per frame (floor, table top, a wall...).
    max_planes: int = 3
    ransac_iterations: int = 300
    #: Background points sampled for the fit (more = slower, barely more accurate).
    max_points: int = 12000
    #: Tracker: blend weight of a new measurement (1 = no smoothing).
    smoothing: float = 0.3
    #: Tracker: keep the previous plane while this fraction of its former inlier
    #: ratio still fits it.
    keep_ratio: float = 0.8


@dataclass(frozen=True)
class FloorEstimate:
    """A floor plane n.p + d = 0 in the camera frame (n unit, up), and its support."""

    normal_cam: np.ndarray
    offset_m: float
    inlier_fraction: float
    inlier_count: int

    def scene_frame(self) -> SceneFrame:
        return scene_frame_from_floor(self.normal_cam, self.offset_m)


def sample_background_points(
    points_cam: np.ndarray, max_points: int, rng: np.random.Generator | None = None
) -> np.ndarray:
    """At most ``max_points`` of (N, 3) points, evenly strided (deterministic by default)."""
    n = points_cam.shape[0]
    if n <= max_points:
        return points_cam
    if rng is None:
        return points_cam[:: int(np.ceil(n / max_points))]
    return points_cam[rng.choice(n, max_points, replace=False)]


def fit_plane_least_squares(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Total-least-squares plane through (N, 3) points: (unit normal, d)."""
    points = np.asarray(points, dtype=np.float64)
    centroid = points.mean(axis=0)
    centred = points - centroid
    _, vectors = np.linalg.eigh(centred.T @ centred)  # 3x3: cheaper than an N x 3 SVD
    normal = vectors[:, 0]  # eigenvalues ascending: the direction of least spread
    return normal, float(-normal @ centroid)


def _oriented_up(normal: np.ndarray, d: float) -> tuple[np.ndarray, float]:
    """Orient a plane so that the camera (the origin) is on its positive side."""
    return (-normal, -d) if d < 0 else (normal, d)


def detect_floor(points_cam: np.ndarray, config: FloorConfig = FloorConfig()
                 ) -> FloorEstimate | None:
    """The floor among (N, 3) background points in the camera frame, or None.

    Background points are those not on any detected object; the caller samples them.
    """
    points = np.asarray(points_cam, dtype=np.float64)
    points = points[np.isfinite(points).all(axis=1)]
    total = points.shape[0]
    if total < config.min_support_points:
        return None
    min_support = max(config.min_support_points, int(config.min_support_fraction * total))
    up_prior = np.array([0.0, -1.0, 0.0])
    cos_max_tilt = np.cos(np.radians(config.max_tilt_deg))
    candidates: list[FloorEstimate] = []
    with deterministic_open3d():
        planes = _ransac_planes(points, config, min_support)
    for normal, d, inliers in planes:
        is_horizontal = normal @ up_prior >= cos_max_tilt
        if is_horizontal and d >= config.min_camera_height_m:
            candidates.append(FloorEstimate(normal, d, inliers / total, inliers))
    if not candidates:
        return None
    # Lowest plane = largest camera height: the floor below a table, or the table
    # when no floor is in view.
    return max(candidates, key=lambda c: c.offset_m)


def _ransac_planes(points: np.ndarray, config: FloorConfig, min_support: int
                   ) -> list[tuple[np.ndarray, float, int]]:
    """Up to ``max_planes`` planes (unit normal towards the camera, d, inlier count)."""
    import open3d as o3d  # heavy import, only where planes are fitted

    remaining = points
    planes = []
    for _ in range(config.max_planes):
        if remaining.shape[0] < min_support:
            break
        cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(remaining))
        _, inliers = cloud.segment_plane(
            config.inlier_distance_m, 3, config.ransac_iterations)
        inliers = np.asarray(inliers, dtype=np.int64)
        if inliers.size < min_support:
            break
        normal, d = fit_plane_least_squares(remaining[inliers])
        normal, d = _oriented_up(normal, d)
        # Refit on the inliers of the refined plane: RANSAC's threshold band is
        # wide, least squares on a tighter band removes its tilt bias.
        distances = np.abs(remaining @ normal + d)
        tight = distances < config.inlier_distance_m * 0.75
        if tight.sum() >= 3:
            normal, d = _oriented_up(*fit_plane_least_squares(remaining[tight]))
        planes.append((normal, d, int(inliers.size)))
        keep = np.ones(remaining.shape[0], dtype=bool)
        keep[inliers] = False
        remaining = remaining[keep]
    return planes


_OPEN3D_LOCK = threading.Lock()


@contextmanager
def deterministic_open3d(seed: int = 0) -> Iterator[None]:
    """open3d's RANSAC on one thread with its random engine reseeded.

    open3d (0.20, TBB) draws RANSAC samples from one shared engine across threads, so
    even a seeded run differs from the last one; on one thread and reseeded for every
    frame, the same frame always gives the same floor (bags give the same answers).
    """
    import open3d as o3d

    with _OPEN3D_LOCK:
        previous = o3d.utility.get_max_threads()
        o3d.utility.set_max_threads(1)
        o3d.utility.random.seed(seed)
        try:
            yield
        finally:
            o3d.utility.set_max_threads(previous)


def plane_inlier_fraction(points_cam: np.ndarray, normal: np.ndarray, offset_m: float,
                          inlier_distance_m: float) -> float:
    if points_cam.shape[0] == 0:
        return 0.0
    return float((np.abs(points_cam @ normal + offset_m) < inlier_distance_m).mean())


class FloorTracker:
    """Floor across frames: smoothed for a still camera, re-detected when it moves.

    Not thread-safe; one per camera stream.
    """

    def __init__(self, config: FloorConfig = FloorConfig()) -> None:
        self.config = config
        self._floor: FloorEstimate | None = None

    @property
    def floor(self) -> FloorEstimate | None:
        return self._floor

    def reset(self) -> None:
        self._floor = None

    def update(self, background_cam: np.ndarray) -> SceneFrame:
        """Update with this frame's background points; return the scene frame to use."""
        cfg = self.config
        points = sample_background_points(
            background_cam[np.isfinite(background_cam).all(axis=1)], cfg.max_points)
        previous = self._floor
        if previous is not None:
            fraction = plane_inlier_fraction(points, previous.normal_cam, previous.offset_m,
                                             cfg.inlier_distance_m)
            if fraction >= cfg.keep_ratio * previous.inlier_fraction and fraction > 0:
                inliers = points[np.abs(points @ previous.normal_cam + previous.offset_m)
                                 < cfg.inlier_distance_m * 0.75]
                if inliers.shape[0] >= cfg.min_support_points:
                    normal, d = _oriented_up(*fit_plane_least_squares(inliers))
                    a = cfg.smoothing
                    blended = (1 - a) * previous.normal_cam + a * normal
                    blended /= np.linalg.norm(blended)
                    self._floor = FloorEstimate(
                        blended, (1 - a) * previous.offset_m + a * d, fraction,
                        int(inliers.shape[0]))
                    return self._safe_frame(self._floor)
        self._floor = detect_floor(points, cfg)
        return self._safe_frame(self._floor)

    def _safe_frame(self, floor: FloorEstimate | None) -> SceneFrame:
        if floor is None:
            return camera_aligned_frame()
        try:
            return floor.scene_frame()
        except CoreError:  # camera looking straight down: no forward direction
            self._floor = None
            return camera_aligned_frame()

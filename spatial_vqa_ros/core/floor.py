"""Find the floor (or the support surface of a tabletop scene) in a depth image.

RANSAC (open3d's ``segment_plane``, run by :mod:`.plane_ransac`) proposes up to a few
planes; the floor is the
*lowest* plane whose normal is near the camera's up direction and that has enough
support. "Lowest" is what separates the floor from a table top seen together with
it; "near up" rejects walls; "below the camera" rejects ceilings. When only a
table is visible, its top is the lowest candidate, so the support surface is used.

RANSAC only has to find a plane, not measure it: it scores its hypotheses on a
strided subsample of a couple of thousand points (a room with walls needs three
planes a frame, and on the full cloud that was most of the core's time). Each plane
is then refined by least squares on *all* the points within the inlier distance,
which is what gets the normal to a fraction of a degree. The RANSAC is open3d's,
reproduced draw for draw in numpy (:mod:`.plane_ransac`): the same planes, a third of
the time, no threads and no global random engine to guard.

A :class:`FloorTracker` carries the floor across frames: while the last plane (moved
by the camera's motion when a pose is known) still fits, it is refit by least squares
and smoothed, and RANSAC is skipped; when the pose says the camera has not moved, the
last floor is kept as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .errors import CoreError
from .plane_ransac import Mt19937Stream, segment_plane
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
    #: RANSAC scores its hypotheses on at most this many of those points (strided);
    #: the least-squares refit then uses every sampled point, so this costs speed only.
    ransac_points: int = 2000
    #: Tracker: blend weight of a new measurement (1 = no smoothing)...
    smoothing: float = 0.3
    #: ...applied only while the measurement is within these of the last floor: a
    #: larger change is the camera moving (without a pose to say so), and blending it
    #: would make the floor lag behind the camera.
    smoothing_gate_deg: float = 0.1
    smoothing_gate_m: float = 0.003
    #: Tracker: keep the previous plane while this fraction of its former inlier
    #: ratio still fits it.
    keep_ratio: float = 0.8
    #: Tracker with a known camera motion: a move below both of these keeps the last
    #: floor as it is, without a fit (the pose says the camera has not moved).
    still_translation_m: float = 0.002
    still_rotation_deg: float = 0.1

    def __post_init__(self) -> None:
        counts = {"ransac_iterations": self.ransac_iterations, "max_points": self.max_points,
                  "ransac_points": self.ransac_points, "max_planes": self.max_planes}
        for name, value in counts.items():
            if int(value) < 1:
                raise CoreError(f"FloorConfig.{name} must be >= 1, got {value}")
        if self.ransac_points < 3:
            raise CoreError("FloorConfig.ransac_points must be >= 3 (a plane needs three "
                            f"points), got {self.ransac_points}")


@dataclass(frozen=True)
class FloorEstimate:
    """A floor plane n.p + d = 0 in the camera frame (n unit, up), and its support."""

    normal_cam: np.ndarray
    offset_m: float
    inlier_fraction: float
    inlier_count: int

    def scene_frame(self) -> SceneFrame:
        return scene_frame_from_floor(self.normal_cam, self.offset_m)

    def moved(self, previous_from_current: np.ndarray) -> FloorEstimate:
        """The same floor seen from the camera after a move.

        ``previous_from_current``: 4x4 rigid transform taking points of the current
        camera frame to the previous one (p_prev = R p_cur + t). The plane n.p + d = 0
        becomes (R^T n).p + (n.t + d) = 0.
        """
        rotation, translation = previous_from_current[:3, :3], previous_from_current[:3, 3]
        normal = rotation.T @ self.normal_cam
        return FloorEstimate(normal / np.linalg.norm(normal),
                             float(self.normal_cam @ translation + self.offset_m),
                             self.inlier_fraction, self.inlier_count)


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
    """Up to ``max_planes`` planes (unit normal towards the camera, d, inlier count).

    RANSAC runs on at most ``ransac_points`` strided points; the inlier count, the
    least-squares refit and the points removed before the next plane all use every
    point, so support is counted as on the full cloud. One random stream, seeded per
    call, serves every plane (as open3d's engine did, seeded once per frame), so the
    same points always give the same floor.
    """
    stream = Mt19937Stream(seed=0)
    remaining = points
    planes = []
    for _ in range(config.max_planes):
        if remaining.shape[0] < min_support:
            break
        subsample = sample_background_points(remaining, config.ransac_points)
        model = segment_plane(subsample, config.inlier_distance_m, config.ransac_iterations,
                              stream)
        normal, d = model[:3], float(model[3])
        norm = float(np.linalg.norm(normal))
        if not np.isfinite(norm) or norm == 0.0:
            break
        normal, d = normal / norm, d / norm
        band = np.abs(remaining @ normal + d) < config.inlier_distance_m
        count = int(band.sum())
        if count < min_support:
            break
        normal, d = _oriented_up(*fit_plane_least_squares(remaining[band]))
        # Refit on the inliers of the refined plane: RANSAC's threshold band is
        # wide, least squares on a tighter band removes its tilt bias.
        tight = np.abs(remaining @ normal + d) < config.inlier_distance_m * 0.75
        if tight.sum() >= 3:
            normal, d = _oriented_up(*fit_plane_least_squares(remaining[tight]))
        planes.append((normal, d, count))
        remaining = remaining[~band]
    return planes


def plane_inlier_fraction(points_cam: np.ndarray, normal: np.ndarray, offset_m: float,
                          inlier_distance_m: float) -> float:
    if points_cam.shape[0] == 0:
        return 0.0
    return float((np.abs(points_cam @ normal + offset_m) < inlier_distance_m).mean())


def _refit_near(points: np.ndarray, floor: FloorEstimate, config: FloorConfig
                ) -> FloorEstimate | None:
    """Least-squares plane of the points near ``floor`` (a warm start instead of
    RANSAC), refit once on its own tight band so that a plane that moved since is
    followed, not pulled back; None with too little support. Its inlier fraction is
    the new plane's, so the next frame's keep test compares like with like."""
    normal, d = floor.normal_cam, floor.offset_m
    for _ in range(2):
        tight = np.abs(points @ normal + d) < config.inlier_distance_m * 0.75
        if int(tight.sum()) < config.min_support_points:
            return None
        normal, d = _oriented_up(*fit_plane_least_squares(points[tight]))
    inliers = np.abs(points @ normal + d) < config.inlier_distance_m
    return FloorEstimate(normal, d, float(inliers.mean()), int(inliers.sum()))


def _smoothed(previous: FloorEstimate, measured: FloorEstimate, config: FloorConfig
              ) -> FloorEstimate:
    """The measured plane, blended with the previous one when they agree closely (a
    still camera's noise); taken as it is when they differ (the camera moved)."""
    cos_angle = float(np.clip(measured.normal_cam @ previous.normal_cam, -1.0, 1.0))
    if (np.degrees(np.arccos(cos_angle)) > config.smoothing_gate_deg
            or abs(measured.offset_m - previous.offset_m) > config.smoothing_gate_m):
        return measured
    a = config.smoothing
    normal = (1 - a) * previous.normal_cam + a * measured.normal_cam
    return replace(measured, normal_cam=normal / np.linalg.norm(normal),
                   offset_m=(1 - a) * previous.offset_m + a * measured.offset_m)


def checked_rigid_transform(transform: np.ndarray, name: str) -> np.ndarray:
    """``transform`` as a float64 4x4 rigid transform, or a CoreError naming ``name``."""
    matrix = np.asarray(transform, dtype=np.float64)
    if matrix.shape != (4, 4) or not np.isfinite(matrix).all():
        raise CoreError(f"{name} must be a finite 4x4 transform, got shape {matrix.shape}")
    rotation = matrix[:3, :3]
    if (not np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-5)
            or np.linalg.det(rotation) < 0 or not np.allclose(matrix[3], [0, 0, 0, 1])):
        raise CoreError(f"{name} must be a rigid transform (a rotation and a translation, "
                        "last row 0 0 0 1)")
    return matrix


def _is_still(previous_from_current: np.ndarray, config: FloorConfig) -> bool:
    """Whether a camera motion is below the tracker's "has not moved" thresholds."""
    rotation = previous_from_current[:3, :3]
    cos_angle = np.clip((np.trace(rotation) - 1.0) / 2.0, -1.0, 1.0)
    return bool(np.linalg.norm(previous_from_current[:3, 3]) < config.still_translation_m
                and np.degrees(np.arccos(cos_angle)) < config.still_rotation_deg)


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

    def update(self, background_cam: np.ndarray,
               previous_from_current: np.ndarray | None = None) -> SceneFrame:
        """Update with this frame's background points; return the scene frame to use.

        ``previous_from_current``: the camera's motion since the last update, as the
        4x4 rigid transform from this frame's camera to the last one's (from a pose per
        frame), or None when unknown. With it, the last floor is first moved with the
        camera, so a gliding camera keeps its floor (and skips RANSAC) frame after
        frame; a move below ``still_translation_m`` and ``still_rotation_deg`` keeps the
        moved floor as it is, without a fit.
        """
        cfg = self.config
        previous = self._floor
        if previous_from_current is not None:
            previous_from_current = checked_rigid_transform(previous_from_current,
                                                            "previous_from_current")
        if previous is not None and previous_from_current is not None:
            previous = self._floor = previous.moved(previous_from_current)
            if _is_still(previous_from_current, cfg):
                return self._safe_frame(previous)
        points = sample_background_points(
            background_cam[np.isfinite(background_cam).all(axis=1)], cfg.max_points)
        if previous is not None:
            fraction = plane_inlier_fraction(points, previous.normal_cam, previous.offset_m,
                                             cfg.inlier_distance_m)
            if fraction >= cfg.keep_ratio * previous.inlier_fraction and fraction > 0:
                kept = _refit_near(points, previous, cfg)
                if kept is not None:
                    self._floor = _smoothed(previous, kept, cfg)
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

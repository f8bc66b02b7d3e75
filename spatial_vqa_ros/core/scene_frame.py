"""The scene frame: gravity-aligned, fixed to the floor under the camera.

Definition (DESIGN.md, the package's contract): z up along the floor normal,
x forward (the camera optical axis projected on the floor), y left, origin on the
floor under the camera; right-handed (REP-103 body convention). Without a floor,
a camera-aligned fallback (x = optical axis, y = image left, z = image up, origin
at the camera) is used and ``floor_found`` is False.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import CoreError

# Camera optical frame (REP-103): x right, y down, z forward.
_FALLBACK_ROTATION = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class SceneFrame:
    """Rigid transform camera optical frame -> scene frame, and the floor it came from.

    ``p_scene = rotation_scene_from_cam @ (p_cam - origin_cam)``.
    ``floor_normal_cam``/``floor_offset_m``: plane n.p + d = 0 in the camera frame with
    n the unit normal pointing up, so d is the camera height above the floor.
    """

    rotation_scene_from_cam: np.ndarray
    origin_cam: np.ndarray
    floor_found: bool
    floor_normal_cam: np.ndarray
    floor_offset_m: float

    @property
    def camera_height_m(self) -> float:
        return self.floor_offset_m if self.floor_found else 0.0

    @property
    def pitch_rad(self) -> float:
        """Angle of the optical axis below the horizontal (positive looking down)."""
        if not self.floor_found:
            return 0.0
        return float(np.arcsin(np.clip(-self.floor_normal_cam[2], -1.0, 1.0)))

    @property
    def roll_rad(self) -> float:
        """Angle of the image x axis above the horizontal (positive: right side up)."""
        if not self.floor_found:
            return 0.0
        return float(np.arcsin(np.clip(self.floor_normal_cam[0], -1.0, 1.0)))

    @property
    def floor_plane_cam(self) -> np.ndarray:
        """(a, b, c, d) with a x + b y + c z + d = 0 in the camera frame (zeros if none)."""
        if not self.floor_found:
            return np.zeros(4)
        return np.append(self.floor_normal_cam, self.floor_offset_m)

    def to_scene(self, points_cam: np.ndarray) -> np.ndarray:
        """(N, 3) camera-frame points to (N, 3) scene-frame points (same dtype)."""
        r = self.rotation_scene_from_cam.astype(points_cam.dtype, copy=False)
        o = self.origin_cam.astype(points_cam.dtype, copy=False)
        return (points_cam - o) @ r.T

    def to_camera(self, points_scene: np.ndarray) -> np.ndarray:
        r = self.rotation_scene_from_cam.astype(points_scene.dtype, copy=False)
        return points_scene @ r + self.origin_cam.astype(points_scene.dtype, copy=False)

    @property
    def camera_position_scene(self) -> np.ndarray:
        return self.to_scene(np.zeros((1, 3)))[0]


def camera_from_scene(scene: SceneFrame) -> np.ndarray:
    """4x4 transform taking scene-frame points to the camera optical frame."""
    transform = np.eye(4)
    transform[:3, :3] = scene.rotation_scene_from_cam.T
    transform[:3, 3] = scene.origin_cam
    return transform


def scene_frame_from_floor(normal_cam: np.ndarray, offset_m: float) -> SceneFrame:
    """Scene frame from a floor plane n.p + d = 0 (camera frame, n unit, pointing up).

    A normal pointing away from the camera is flipped, so d is always the camera
    height. Fails when the optical axis is (nearly) vertical: "forward" is then
    undefined.
    """
    n = np.asarray(normal_cam, dtype=np.float64)
    norm = np.linalg.norm(n)
    if not np.isfinite(norm) or norm < 1e-9:
        raise CoreError(f"floor normal {n} is not a valid direction")
    n = n / norm
    d = float(offset_m) / norm
    if d < 0:  # make the camera lie on the positive side: n points up towards it
        n, d = -n, -d
    optical_axis = np.array([0.0, 0.0, 1.0])
    forward = optical_axis - n * (optical_axis @ n)
    forward_norm = np.linalg.norm(forward)
    if forward_norm < 1e-3:
        raise CoreError("the camera looks straight down or up at the floor: the scene's "
                        "forward direction is undefined")
    x_axis = forward / forward_norm
    z_axis = n
    y_axis = np.cross(z_axis, x_axis)
    rotation = np.stack([x_axis, y_axis, z_axis])
    return SceneFrame(
        rotation_scene_from_cam=rotation,
        origin_cam=-d * n,
        floor_found=True,
        floor_normal_cam=n,
        floor_offset_m=d,
    )


def camera_aligned_frame() -> SceneFrame:
    """Fallback when no floor is found: x forward, y left, z up in the image, at the camera."""
    return SceneFrame(
        rotation_scene_from_cam=_FALLBACK_ROTATION.copy(),
        origin_cam=np.zeros(3),
        floor_found=False,
        floor_normal_cam=np.array([0.0, -1.0, 0.0]),
        floor_offset_m=0.0,
    )

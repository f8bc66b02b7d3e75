"""The synthetic world's types: primitives on a floor, a camera pose, and a scene.

World frame: z up, the floor is the plane z = 0. Camera optical frame per REP-103
(x right, y down, z forward). All lengths in metres, angles in radians. Everything
else in ``synthetic`` (placement, trajectories, rendering, truth) builds on these
validated, immutable types; their meshes come from ``meshes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import open3d as o3d

from ...core.camera import CameraIntrinsics
from .meshes import _box_mesh, _cylinder_mesh, _orient_outward, _sphere_mesh

#: The primitive kinds and the number of size parameters (``Primitive.dims``) of each.
KIND_DIMS = {"box": 3, "cylinder": 2, "sphere": 1}
#: Segments around a cylinder or a sphere's equator (a sphere has half as many rings).
MESH_SEGMENTS = 64


class SyntheticError(ValueError):
    """Invalid input to the synthetic world; the message says what to change."""


def _rot_z(angle_rad: float) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _frozen_array(values: object, shape: tuple[int, ...], dtype: type, name: str) -> np.ndarray:
    arr = np.array(values, dtype=dtype)
    if arr.shape != shape:
        raise SyntheticError(f"{name} must have shape {shape}, got {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise SyntheticError(f"{name} must be finite, got {arr}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Primitive:
    """A solid object of the world: an upright box, an upright cylinder or a sphere.

    ``center_world``: (3,) float64, centre of the solid in the world frame (m).
    ``dims`` (m): box -> (length_x, width_y, height_z) in the object's own frame, which
    is the world frame rotated by ``yaw_rad`` about z; cylinder -> (radius, height),
    axis along world z; sphere -> (radius,). ``yaw_rad`` is ignored by the round kinds.
    ``color``: (3,) uint8 RGB albedo. ``id`` >= 1 (0 is the floor / no object).
    """

    id: int
    label: str
    kind: str
    center_world: np.ndarray
    dims: tuple[float, ...]
    yaw_rad: float = 0.0
    color: np.ndarray = field(default_factory=lambda: np.array([200, 200, 200], np.uint8))

    def __post_init__(self) -> None:
        if int(self.id) < 1:
            raise SyntheticError(f"primitive id must be >= 1 (0 is the floor), got {self.id}")
        if self.kind not in KIND_DIMS:
            raise SyntheticError(
                f"unknown primitive kind {self.kind!r}; expected one of {', '.join(KIND_DIMS)}")
        dims = tuple(float(d) for d in self.dims)
        if len(dims) != KIND_DIMS[self.kind] or not all(np.isfinite(d) and d > 0 for d in dims):
            raise SyntheticError(
                f"a {self.kind} needs {KIND_DIMS[self.kind]} positive dims, got {self.dims}")
        object.__setattr__(self, "id", int(self.id))
        object.__setattr__(self, "dims", dims)
        object.__setattr__(self, "yaw_rad", float(self.yaw_rad))
        object.__setattr__(
            self, "center_world", _frozen_array(self.center_world, (3,), np.float64,
                                                "center_world"))
        object.__setattr__(self, "color", _frozen_array(self.color, (3,), np.uint8, "color"))

    @property
    def half_height_m(self) -> float:
        return self.dims[2] / 2 if self.kind == "box" else (
            self.dims[1] / 2 if self.kind == "cylinder" else self.dims[0])

    @property
    def top_z_m(self) -> float:
        """World height of the top of the solid."""
        return float(self.center_world[2]) + self.half_height_m

    @property
    def footprint_radius_m(self) -> float:
        """Radius of the smallest vertical cylinder about the centre holding the solid."""
        if self.kind == "box":
            return float(np.hypot(self.dims[0], self.dims[1]) / 2)
        return self.dims[0]

    def to_local(self, points_world: np.ndarray) -> np.ndarray:
        """(N, 3) world points to the object's own frame (centred, yawed)."""
        return (np.asarray(points_world, np.float64) - self.center_world) @ _rot_z(self.yaw_rad)

    def mesh_arrays(self, segments: int = MESH_SEGMENTS) -> tuple[np.ndarray, np.ndarray]:
        """Closed triangle mesh in the world frame, outward (counter-clockwise) winding.

        Returns vertices_world (V, 3) float64 and triangles (T, 3) int32.
        """
        if self.kind == "box":
            vertices, triangles = _box_mesh(np.asarray(self.dims))
        elif self.kind == "cylinder":
            vertices, triangles = _cylinder_mesh(self.dims[0], self.dims[1], segments)
        else:
            vertices, triangles = _sphere_mesh(self.dims[0], segments)
        triangles = _orient_outward(vertices, triangles)
        return vertices @ _rot_z(self.yaw_rad).T + self.center_world, triangles

    def to_open3d(self, segments: int = MESH_SEGMENTS) -> o3d.t.geometry.TriangleMesh:
        """The mesh as an open3d tensor ``TriangleMesh`` (world frame, float32 vertices)."""
        vertices, triangles = self.mesh_arrays(segments)
        mesh = o3d.t.geometry.TriangleMesh()
        mesh.vertex.positions = o3d.core.Tensor(vertices.astype(np.float32))
        mesh.triangle.indices = o3d.core.Tensor(triangles.astype(np.int64))
        return mesh


@dataclass(frozen=True, eq=False)
class CameraPose:
    """Pose of the camera optical frame in the world.

    ``position_world``: (3,) float64, optical centre (m). ``rotation_world_from_cam``:
    (3, 3) float64 rotation whose columns are the optical x (right), y (down) and
    z (forward) axes expressed in the world frame: ``p_world = R @ p_cam + position``.
    """

    position_world: np.ndarray
    rotation_world_from_cam: np.ndarray

    def __post_init__(self) -> None:
        position = _frozen_array(self.position_world, (3,), np.float64, "position_world")
        rotation = _frozen_array(self.rotation_world_from_cam, (3, 3), np.float64,
                                 "rotation_world_from_cam")
        if (not np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-6)
                or np.linalg.det(rotation) < 0):
            raise SyntheticError("rotation_world_from_cam must be a proper rotation matrix")
        object.__setattr__(self, "position_world", position)
        object.__setattr__(self, "rotation_world_from_cam", rotation)

    @classmethod
    def from_angles(cls, position_world: Sequence[float], yaw_rad: float, pitch_rad: float,
                    roll_rad: float = 0.0) -> CameraPose:
        """Pose from heading and tilt, in the convention of ``core.scene_frame``.

        ``yaw_rad``: heading of the optical axis about world z (0 = world +x).
        ``pitch_rad``: angle of the optical axis below the horizontal (positive: down).
        ``roll_rad``: angle of the image x axis above the horizontal (positive: the
        image's right side up), i.e. the optical x axis has world z-component
        sin(roll). Then the floor normal in the camera frame is
        (sin roll, -sqrt(1 - sin^2 pitch - sin^2 roll), -sin pitch), and
        ``SceneFrame.pitch_rad`` / ``roll_rad`` return exactly these angles.
        """
        sp, sr = np.sin(pitch_rad), np.sin(roll_rad)
        if sp * sp + sr * sr >= 1.0 - 1e-9:
            raise SyntheticError(
                f"pitch {pitch_rad:.3f} rad and roll {roll_rad:.3f} rad together tilt the "
                "camera past vertical (need sin^2 pitch + sin^2 roll < 1)")
        cp, cy, sy = np.cos(pitch_rad), np.cos(yaw_rad), np.sin(yaw_rad)
        forward = np.array([cp * cy, cp * sy, -sp])
        right_level = np.array([sy, -cy, 0.0])
        up_level = np.cross(right_level, forward)  # image-up with zero roll
        sin_turn = sr / cp  # rotation about the optical axis giving right_z = sin(roll)
        right = np.sqrt(1.0 - sin_turn**2) * right_level + sin_turn * up_level
        down = np.cross(forward, right)
        return cls(np.asarray(position_world, float), np.stack([right, down, forward], axis=1))

    @classmethod
    def looking_at(cls, position_world: Sequence[float], target_world: Sequence[float],
                   roll_rad: float = 0.0) -> CameraPose:
        """Pose at ``position_world`` whose optical axis passes through ``target_world``."""
        d = np.asarray(target_world, float) - np.asarray(position_world, float)
        return cls.from_angles(position_world, float(np.arctan2(d[1], d[0])),
                               float(np.arctan2(-d[2], np.hypot(d[0], d[1]))), roll_rad)

    @property
    def yaw_rad(self) -> float:
        forward = self.rotation_world_from_cam[:, 2]
        return float(np.arctan2(forward[1], forward[0]))

    @property
    def pitch_rad(self) -> float:
        return float(np.arcsin(np.clip(-self.rotation_world_from_cam[2, 2], -1.0, 1.0)))

    @property
    def roll_rad(self) -> float:
        return float(np.arcsin(np.clip(self.rotation_world_from_cam[2, 0], -1.0, 1.0)))

    @property
    def height_m(self) -> float:
        """Height of the optical centre above the floor."""
        return float(self.position_world[2])

    def world_to_cam(self, points_world: np.ndarray) -> np.ndarray:
        """(N, 3) world points to (N, 3) optical-frame points (float64)."""
        return (np.asarray(points_world, np.float64) - self.position_world) @ \
            self.rotation_world_from_cam

    def cam_to_world(self, points_cam: np.ndarray) -> np.ndarray:
        """(N, 3) optical-frame points to (N, 3) world points (float64)."""
        return np.asarray(points_cam, np.float64) @ self.rotation_world_from_cam.T + \
            self.position_world

    def floor_plane_cam(self) -> tuple[np.ndarray, float]:
        """The floor as n . p + d = 0 in the camera frame: unit normal n (up), d (m)."""
        return self.rotation_world_from_cam[2].copy(), self.height_m


@dataclass(frozen=True, eq=False)
class SyntheticScene:
    """A static world seen by one camera: primitives, intrinsics and pose.

    ``background``: solids that are rendered (depth, colour, occlusion) but are not
    objects of the scene, such as walls. They show as instance id 0, as the floor does
    and as a simulator or a real room gives them: nothing is asked or scored about
    them, but they fill the depth behind the objects.
    """

    objects: tuple[Primitive, ...]
    camera: CameraIntrinsics
    pose: CameraPose
    background: tuple[Primitive, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", tuple(self.objects))
        object.__setattr__(self, "background", tuple(self.background))
        ids = [o.id for o in self.objects + self.background]
        if len(set(ids)) != len(ids):
            raise SyntheticError(f"primitive ids must be unique (objects and background "
                                 f"together), got {ids}")

    @property
    def id_to_label(self) -> dict[int, str]:
        return {o.id: o.label for o in self.objects}

    def object(self, object_id: int) -> Primitive:
        for o in self.objects:
            if o.id == object_id:
                return o
        raise SyntheticError(f"no primitive with id {object_id}; ids: {sorted(self.id_to_label)}")

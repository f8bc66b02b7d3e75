"""The synthetic world: primitives on a floor, a camera pose, and random scenes.

World frame: z up, the floor is the plane z = 0. Camera optical frame per REP-103
(x right, y down, z forward). All lengths in metres, angles in radians.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import open3d as o3d
from scipy.spatial import ConvexHull, QhullError

from ..core.camera import CameraIntrinsics

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


def _box_mesh(dims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    corners = np.array([[(i >> 0) & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], float)
    vertices = (corners - 0.5) * dims
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    triangles = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return vertices, np.array(triangles, np.int32)


def _ring(radius: float, z: float, segments: int) -> np.ndarray:
    angles = np.arange(segments) * (2 * np.pi / segments)
    return np.stack([radius * np.cos(angles), radius * np.sin(angles),
                     np.full(segments, z)], axis=1)


def _fan_and_strip(segments: int, rings: int) -> np.ndarray:
    """Triangles of ``rings`` stacked rings (vertex 0 = bottom apex, last = top apex)."""
    k = np.arange(segments)
    nxt = (k + 1) % segments
    top = 1 + rings * segments
    parts = [np.stack([np.zeros(segments, int), 1 + nxt, 1 + k], axis=1)]
    for r in range(rings - 1):
        a, b = 1 + r * segments, 1 + (r + 1) * segments
        parts.append(np.stack([a + k, a + nxt, b + nxt], axis=1))
        parts.append(np.stack([a + k, b + nxt, b + k], axis=1))
    parts.append(np.stack([np.full(segments, top), top - segments + k,
                           top - segments + nxt], axis=1))
    return np.concatenate(parts).astype(np.int32)


def _cylinder_mesh(radius: float, height: float, segments: int) -> tuple[np.ndarray, np.ndarray]:
    vertices = np.concatenate([[[0.0, 0.0, -height / 2]], _ring(radius, -height / 2, segments),
                               _ring(radius, height / 2, segments), [[0.0, 0.0, height / 2]]])
    return vertices, _fan_and_strip(segments, 2)


def _sphere_mesh(radius: float, segments: int) -> tuple[np.ndarray, np.ndarray]:
    n_rings = max(segments // 2, 2)
    polar = np.pi - np.arange(1, n_rings) * (np.pi / n_rings)  # from the bottom up
    rings = [_ring(radius * np.sin(p), radius * np.cos(p), segments) for p in polar]
    vertices = np.concatenate([[[0.0, 0.0, -radius]], *rings, [[0.0, 0.0, radius]]])
    return vertices, _fan_and_strip(segments, n_rings - 1)


def _orient_outward(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Flip triangles of a convex mesh centred at the origin so normals point outward."""
    v0, v1, v2 = (vertices[triangles[:, i]] for i in range(3))
    normals = np.cross(v1 - v0, v2 - v0)
    inward = np.einsum("ij,ij->i", normals, v0 + v1 + v2) < 0
    out = triangles.copy()
    out[inward] = out[inward][:, ::-1]
    return out


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
    """A static world seen by one camera: primitives, intrinsics and pose."""

    objects: tuple[Primitive, ...]
    camera: CameraIntrinsics
    pose: CameraPose

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", tuple(self.objects))
        ids = [o.id for o in self.objects]
        if len(set(ids)) != len(ids):
            raise SyntheticError(f"primitive ids must be unique, got {ids}")

    @property
    def id_to_label(self) -> dict[int, str]:
        return {o.id: o.label for o in self.objects}

    def object(self, object_id: int) -> Primitive:
        for o in self.objects:
            if o.id == object_id:
                return o
        raise SyntheticError(f"no primitive with id {object_id}; ids: {sorted(self.id_to_label)}")


# ---------------------------------------------------------------------------------------
# Random scenes
# ---------------------------------------------------------------------------------------

#: label -> (kind, (low, high) per dimension in metres). Plausible real-world sizes.
CATALOGUE: dict[str, tuple[str, tuple[tuple[float, float], ...]]] = {
    "box": ("box", ((0.25, 0.6), (0.2, 0.45), (0.15, 0.45))),
    "crate": ("box", ((0.35, 0.6), (0.3, 0.45), (0.25, 0.4))),
    "book": ("box", ((0.17, 0.3), (0.12, 0.22), (0.02, 0.06))),
    "cabinet": ("box", ((0.4, 0.9), (0.35, 0.6), (0.6, 1.2))),
    "suitcase": ("box", ((0.4, 0.7), (0.2, 0.3), (0.5, 0.75))),
    "mug": ("cylinder", ((0.04, 0.05), (0.09, 0.12))),
    "bottle": ("cylinder", ((0.035, 0.045), (0.2, 0.32))),
    "can": ("cylinder", ((0.032, 0.034), (0.11, 0.125))),
    "bucket": ("cylinder", ((0.12, 0.17), (0.25, 0.35))),
    "trash can": ("cylinder", ((0.15, 0.25), (0.4, 0.7))),
    "ball": ("sphere", ((0.1, 0.15),)),
    "globe": ("sphere", ((0.15, 0.2),)),
    "orange": ("sphere", ((0.035, 0.045),)),
}
_TABLE_DIMS = ((0.8, 1.6), (0.6, 0.9), (0.4, 0.8))
_TABLE_PROBABILITY = 0.38  # tables do not fit every view: ~30% of scenes get one
_STACK_PROBABILITY = 0.15
_REPEAT_LABEL_PROBABILITY = 0.1
_ON_TABLE_LABELS = ("book", "mug", "bottle", "can", "orange", "ball", "box")
_STACKABLE_LABELS = ("book", "mug", "bottle", "can", "orange", "box")
_RANGE_M = (0.5, 6.0)  # camera to object centre
_CLEARANCE_M = 0.03  # between footprints
_MIN_VISIBLE_PX = 500.0  # estimated, with margin over the 200 px a scene must keep
_MIN_VISIBLE_FRACTION = 0.45  # of the object's in-image silhouette
_MIN_IN_IMAGE_FRACTION = 0.6  # of the whole silhouette (the rest is cut by the border)
#: Share of placements allowed to be cut by the image border (the others must be whole
#: in view), so that about one object in ten is cut, as in a framed robot view.
_CUT_PROBABILITY = 0.1
_WHOLE_IN_IMAGE_FRACTION = 0.995
_MAX_IMAGE_FRACTION = 0.3  # no object fills the view
_ATTEMPTS_PER_OBJECT = 30
_MASK_STRIDE_PX = 2


def random_camera(rng: np.random.Generator, width: int = 640, height: int = 480
                  ) -> CameraIntrinsics:
    """Realistic RGB-D intrinsics: f in [525, 615] px, principal point near the centre."""
    focal = rng.uniform(525.0, 615.0) * width / 640
    return CameraIntrinsics(
        width=width, height=height, fx=focal, fy=focal * rng.uniform(0.998, 1.002),
        cx=(width - 1) / 2 + rng.uniform(-8.0, 8.0), cy=(height - 1) / 2 + rng.uniform(-6.0, 6.0),
        frame_id="synthetic_camera_optical_frame")


def random_pose(rng: np.random.Generator) -> CameraPose:
    """Height 0.3-2 m, pitch 10-45 deg down (the image centre hits the floor 1-5 m
    ahead where that range allows), roll within +-5 deg, any heading and place."""
    height = rng.uniform(0.3, 2.0)
    low = max(np.deg2rad(10.0), np.arctan(height / 5.0))
    high = min(np.deg2rad(45.0), np.arctan(height / 1.0))
    return CameraPose.from_angles(
        [rng.uniform(-3, 3), rng.uniform(-3, 3), height], yaw_rad=rng.uniform(-np.pi, np.pi),
        pitch_rad=rng.uniform(low, high), roll_rad=np.deg2rad(rng.uniform(-5.0, 5.0)))


def random_scene(rng: np.random.Generator, camera: CameraIntrinsics | None = None,
                 n_objects: tuple[int, int] = (3, 10)) -> SyntheticScene:
    """A random, plausible scene; deterministic under ``rng``.

    ``n_objects``: inclusive range of the number of primitives (a table and what
    stands on it included). Objects stand on the floor 0.5-6 m from the camera,
    mostly inside the view, with disjoint footprints; about 30% of scenes have a
    table with 1-3 objects on top, some objects are stacked on a box, labels repeat.
    Each object keeps an estimated >= 500 visible pixels and >= 45% of its in-image
    silhouette unoccluded when placed.
    """
    low, high = (int(n) for n in n_objects)
    if not 1 <= low <= high:
        raise SyntheticError(f"n_objects must be (low, high) with 1 <= low <= high, got "
                             f"{n_objects}")
    camera = camera if camera is not None else random_camera(rng)
    for _ in range(20):
        placer = _Placer(camera, random_pose(rng))
        placer.populate(rng, int(rng.integers(low, high + 1)))
        if len(placer.objects) >= low:
            return SyntheticScene(tuple(placer.objects), camera, placer.pose)
    raise SyntheticError(f"could not place {low} objects in 20 random views; lower "
                         "n_objects or use a wider camera")


def _random_color(rng: np.random.Generator, saturation: tuple[float, float] = (0.45, 0.9)
                  ) -> np.ndarray:
    rgb = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*saturation), rng.uniform(0.55, 0.95))
    return np.round(np.array(rgb) * 255).astype(np.uint8)


def _random_dims(rng: np.random.Generator, ranges: tuple[tuple[float, float], ...]
                 ) -> tuple[float, ...]:
    return tuple(float(rng.uniform(lo, hi)) for lo, hi in ranges)


class _Placer:
    """Adds primitives one at a time, keeping only those that stay visible.

    Visibility is estimated from convex silhouettes rasterised on a coarse pixel grid
    and a painter's order (support relations decide who hides whom; otherwise the
    object whose centre is nearer to the camera is in front).
    """

    def __init__(self, camera: CameraIntrinsics, pose: CameraPose) -> None:
        self.camera, self.pose = camera, pose
        self.objects: list[Primitive] = []
        self.supporter: list[int | None] = []  # index of the object each one stands on
        self.masks: list[np.ndarray] = []
        self.in_image_px: list[float] = []
        s = _MASK_STRIDE_PX
        self.allow_cut = True
        self.grid_u = np.arange(s / 2 - 0.5, camera.width, s)
        self.grid_v = np.arange(s / 2 - 0.5, camera.height, s)
        self.rays_cam = camera.rays()

    # -- population ---------------------------------------------------------------------
    def populate(self, rng: np.random.Generator, n: int) -> None:
        if n >= 2 and rng.random() < _TABLE_PROBABILITY:
            for _ in range(4):  # a table of another size, elsewhere
                if self._place_table(rng, n):
                    break
        failures = 0
        while len(self.objects) < n and failures < _ATTEMPTS_PER_OBJECT * n:
            self.allow_cut = bool(rng.random() < _CUT_PROBABILITY)
            stackable = [i for i, o in enumerate(self.objects)
                         if o.kind == "box" and o.label != "table" and i not in self.supporter
                         and min(o.dims[:2]) >= 0.15]
            if stackable and rng.random() < _STACK_PROBABILITY:
                placed = self._place_on(rng, int(rng.choice(stackable)),
                                        str(rng.choice(_STACKABLE_LABELS)))
            else:
                placed = self._place_on_floor(rng, *self._pick_label(rng)) is not None
            failures += not placed

    def _place_table(self, rng: np.random.Generator, n: int) -> bool:
        """A table with 1-3 objects (but at most n - 1) on top; False if none fits."""
        table = self._place_on_floor(rng, "table", "box", _TABLE_DIMS,
                                     _random_color(rng, (0.3, 0.6)))
        if table is None:
            return False
        n_on_top = int(rng.integers(1, min(3, n - 1) + 1))
        placed = [self._place_on(rng, table, str(rng.choice(_ON_TABLE_LABELS)))
                  for _ in range(n_on_top)]
        if not any(placed):  # a table is there to carry something
            self._pop()
        return any(placed)

    def _pick_label(self, rng: np.random.Generator
                    ) -> tuple[str, str, tuple[tuple[float, float], ...], np.ndarray]:
        seen = sorted({o.label for o in self.objects if o.label in CATALOGUE})
        if seen and rng.random() < _REPEAT_LABEL_PROBABILITY:
            label = str(rng.choice(seen))
        else:
            label = str(rng.choice(sorted(CATALOGUE)))
        kind, ranges = CATALOGUE[label]
        return label, kind, ranges, _random_color(rng)

    def _place_on_floor(self, rng: np.random.Generator, label: str, kind: str,
                        ranges: tuple[tuple[float, float], ...], color: np.ndarray
                        ) -> int | None:
        """Place a new object standing on the floor; its index, or None."""
        yaw = float(rng.uniform(-np.pi, np.pi)) if kind == "box" else 0.0
        probe = Primitive(len(self.objects) + 1, label, kind, np.zeros(3),
                          _random_dims(rng, ranges), yaw, color)
        for _ in range(_ATTEMPTS_PER_OBJECT):
            u = int(rng.uniform(0.05, 0.95) * self.camera.width)
            v = int(rng.uniform(0.1, 0.95) * self.camera.height)
            ray = self.pose.rotation_world_from_cam @ self.rays_cam[v, u].astype(np.float64)
            rise = probe.half_height_m - self.pose.position_world[2]
            t = rise / ray[2] if ray[2] != 0 else -1.0
            if not np.isfinite(t) or t <= 0:
                continue
            candidate = replace(probe, center_world=self.pose.position_world + t * ray)
            if self._try_add(candidate, None):
                return len(self.objects) - 1
        return None

    def _place_on(self, rng: np.random.Generator, support: int, label: str) -> bool:
        """Place a new object standing on the top face of box ``support``."""
        base = self.objects[support]
        kind, ranges = CATALOGUE[label]
        for _ in range(_ATTEMPTS_PER_OBJECT // 3):
            dims = _random_dims(rng, ranges)
            yaw = float(rng.uniform(-np.pi, np.pi)) if kind == "box" else 0.0
            probe = Primitive(1, label, kind, np.zeros(3), dims, yaw)
            margin = np.array(base.dims[:2]) / 2 - probe.footprint_radius_m - 0.01
            if (margin <= 0).any():
                continue
            offset = np.append(rng.uniform(-margin, margin), base.half_height_m +
                               probe.half_height_m)
            center = base.center_world + _rot_z(base.yaw_rad) @ offset
            candidate = Primitive(len(self.objects) + 1, label, kind, center, dims, yaw,
                                  _random_color(rng))
            if self._try_add(candidate, support):
                return True
        return False

    # -- acceptance ---------------------------------------------------------------------
    def _try_add(self, candidate: Primitive, support: int | None) -> bool:
        distance = np.linalg.norm(candidate.center_world - self.pose.position_world)
        horizontal = np.linalg.norm(candidate.center_world[:2] - self.pose.position_world[:2])
        if not (_RANGE_M[0] <= distance <= _RANGE_M[1]
                and horizontal >= 0.3 + candidate.footprint_radius_m):
            return False
        for other, other_support in zip(self.objects, self.supporter):
            gap = np.linalg.norm(candidate.center_world[:2] - other.center_world[:2])
            if other_support == support and gap < (candidate.footprint_radius_m
                                                   + other.footprint_radius_m + _CLEARANCE_M):
                return False
        silhouette = self._silhouette(candidate)
        if silhouette is None:
            return False
        mask, area_px = silhouette
        in_image_px = float(mask.sum()) * _MASK_STRIDE_PX**2
        min_fraction = _MIN_IN_IMAGE_FRACTION if self.allow_cut else _WHOLE_IN_IMAGE_FRACTION
        if not (max(_MIN_VISIBLE_PX, min_fraction * area_px) <= in_image_px
                <= _MAX_IMAGE_FRACTION * self.camera.width * self.camera.height):
            return False
        self.objects.append(candidate)
        self.supporter.append(support)
        self.masks.append(mask)
        self.in_image_px.append(in_image_px)
        if self._all_visible():
            return True
        self._pop()
        return False

    def _pop(self) -> None:
        for stack in (self.objects, self.supporter, self.masks, self.in_image_px):
            stack.pop()

    def _all_visible(self) -> bool:
        for i, mask in enumerate(self.masks):
            if i in self.supporter:  # what stands on a table may hide much of it
                continue
            front = [j for j in range(len(self.masks)) if j != i and self._in_front(j, i)]
            hidden = np.logical_or.reduce([self.masks[j] for j in front]) if front else False
            visible_px = float((mask & ~hidden).sum()) * _MASK_STRIDE_PX**2
            if visible_px < max(_MIN_VISIBLE_PX, _MIN_VISIBLE_FRACTION * self.in_image_px[i]):
                return False
        return True

    def _in_front(self, j: int, i: int) -> bool:
        """Whether object j (partly) hides object i."""
        camera_z = self.pose.position_world[2]
        if self.supporter[i] == j:  # i stands on j: j hides i only from below its top
            return camera_z < self.objects[j].top_z_m
        if self.supporter[j] == i:
            return camera_z >= self.objects[i].top_z_m
        position = self.pose.position_world
        return bool(np.linalg.norm(self.objects[j].center_world - position)
                    < np.linalg.norm(self.objects[i].center_world - position))

    def _silhouette(self, primitive: Primitive) -> tuple[np.ndarray, float] | None:
        """Coarse-grid mask of the projected convex hull, and the hull's area (px)."""
        vertices, _ = primitive.mesh_arrays(segments=16)
        points_cam = self.pose.world_to_cam(vertices)
        if (points_cam[:, 2] < 0.05).any():
            return None
        uv = self.camera.project(points_cam)
        try:
            hull = ConvexHull(uv)
        except QhullError:
            return None
        polygon = uv[hull.vertices]  # counter-clockwise
        edges = np.roll(polygon, -1, axis=0) - polygon
        u_sel = self.grid_u[(self.grid_u >= polygon[:, 0].min())
                            & (self.grid_u <= polygon[:, 0].max())]
        v_sel = self.grid_v[(self.grid_v >= polygon[:, 1].min())
                            & (self.grid_v <= polygon[:, 1].max())]
        mask = np.zeros((self.grid_v.size, self.grid_u.size), bool)
        if u_sel.size and v_sel.size:
            du = u_sel[None, None, :] - polygon[:, 0, None, None]
            dv = v_sel[None, :, None] - polygon[:, 1, None, None]
            cross = edges[:, 0, None, None] * dv - edges[:, 1, None, None] * du
            inside = (cross >= 0).all(axis=0)
            i0 = int(np.searchsorted(self.grid_v, v_sel[0]))
            j0 = int(np.searchsorted(self.grid_u, u_sel[0]))
            mask[i0:i0 + v_sel.size, j0:j0 + u_sel.size] = inside
        return mask, float(hull.volume)


# ---------------------------------------------------------------------------------------
# Sequences
# ---------------------------------------------------------------------------------------

def random_sequence(rng: np.random.Generator, n_frames: int,
                    camera: CameraIntrinsics | None = None,
                    n_objects: tuple[int, int] = (3, 10), max_shift_m: float = 0.3,
                    max_turn_rad: float = 0.15) -> list[SyntheticScene]:
    """A static random scene seen by a smoothly moving camera (known pose per frame).

    The camera drifts by up to ``max_shift_m`` horizontally (and a third of it
    vertically) and turns by up to ``max_turn_rad`` in yaw (pitch and roll by a
    third of it), along smooth sinusoids, from the pose of ``random_scene``.
    """
    if n_frames < 1:
        raise SyntheticError(f"n_frames must be >= 1, got {n_frames}")
    base = random_scene(rng, camera, n_objects)
    phase = rng.uniform(0, 2 * np.pi, size=6)
    amplitude = rng.uniform(0.5, 1.0, size=6) * np.array(
        [max_shift_m, max_shift_m, max_shift_m / 3, max_turn_rad, max_turn_rad / 3,
         max_turn_rad / 3])
    pose0 = base.pose
    start = np.array([*pose0.position_world, pose0.yaw_rad, pose0.pitch_rad, pose0.roll_rad])
    frames = []
    for t in np.linspace(0.0, 1.0, n_frames):
        x, y, z, yaw, pitch, roll = start + amplitude * (np.sin(np.pi * t + phase)
                                                         - np.sin(phase))
        pose = CameraPose.from_angles([x, y, max(z, 0.2)], yaw, pitch, roll)
        frames.append(SyntheticScene(base.objects, base.camera, pose))
    return frames


#: gripper (length_x, width_y, height_z) and cube edge, metres.
GRIPPER_DIMS = (0.08, 0.04, 0.10)
CUBE_EDGE_M = 0.05


def aligned_box_gap_m(a: Primitive, b: Primitive) -> float:
    """Exact gap between two boxes with the same yaw (0 if they touch or overlap)."""
    delta = np.abs(_rot_z(a.yaw_rad).T @ (b.center_world - a.center_world))
    gaps = np.maximum(delta - (np.array(a.dims) + np.array(b.dims)) / 2, 0.0)
    return float(np.linalg.norm(gaps))


def approach_trajectory(rng: np.random.Generator, n_frames: int,
                        camera: CameraIntrinsics | None = None,
                        start_gap_m: float = 0.6) -> list[SyntheticScene]:
    """A floating "gripper" box moving in equal steps onto a "cube" until touching it.

    The cube (5 cm) stands on the floor; the gripper (8 x 4 x 10 cm, same yaw as the
    cube) starts ``start_gap_m`` away (closest-surface gap) above and beside it and
    moves along a straight line until its bottom face rests on the cube's top face
    (gap exactly 0 in the last frame). The gap shrinks monotonically. Static camera
    about 1 m from the middle of the path, looking down at it from the side.
    """
    if n_frames < 2:
        raise SyntheticError(f"an approach needs n_frames >= 2, got {n_frames}")
    camera = camera if camera is not None else random_camera(rng)
    yaw = float(rng.uniform(-np.pi, np.pi))
    cube_center = np.array([*rng.uniform(-1, 1, size=2), CUBE_EDGE_M / 2])
    cube = Primitive(1, "cube", "box", cube_center, (CUBE_EDGE_M,) * 3, yaw,
                     _random_color(rng))
    contact = cube_center + [0.0, 0.0, (CUBE_EDGE_M + GRIPPER_DIMS[2]) / 2]
    elevation = rng.uniform(np.deg2rad(35), np.deg2rad(80))
    azimuth = rng.uniform(-np.pi, np.pi)
    direction = np.array([np.cos(elevation) * np.cos(azimuth),
                          np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
    gripper_color = np.array([90, 90, 100], np.uint8)

    def gripper_at(center: np.ndarray) -> Primitive:
        return Primitive(2, "gripper", "box", center, GRIPPER_DIMS, yaw, gripper_color)

    low, high = 0.0, 4.0 * start_gap_m  # the gap grows monotonically with the offset
    for _ in range(60):
        mid = (low + high) / 2
        if aligned_box_gap_m(cube, gripper_at(contact + mid * direction)) < start_gap_m:
            low = mid
        else:
            high = mid
    start = contact + (low + high) / 2 * direction
    middle = (start + contact) / 2
    for attempt in range(50):  # a view from the side of the path, both ends inside the image
        view_azimuth = azimuth + np.pi / 2 * rng.choice([-1.0, 1.0]) + rng.uniform(-0.6, 0.6)
        distance = rng.uniform(0.8, 1.1) * 1.03**attempt  # back off until it fits
        pitch = rng.uniform(np.deg2rad(20), np.deg2rad(40))
        eye = middle + distance * np.array([np.cos(view_azimuth) * np.cos(pitch),
                                            np.sin(view_azimuth) * np.cos(pitch), np.sin(pitch)])
        pose = CameraPose.looking_at(eye, middle)
        corners = np.concatenate([gripper_at(start).mesh_arrays()[0], cube.mesh_arrays()[0]])
        uv = camera.project(pose.world_to_cam(corners))
        margin = 0.1 * np.array([camera.width, camera.height])
        if ((uv > margin) & (uv < np.array([camera.width, camera.height]) - margin)).all():
            break
    return [SyntheticScene((cube, gripper_at(start + t * (contact - start))), camera, pose)
            for t in np.linspace(0.0, 1.0, n_frames)]

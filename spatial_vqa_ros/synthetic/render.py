"""Ray-cast RGB, metric depth and instance images of a synthetic scene, plus sensor noise.

One ray per pixel, along the camera's undistorted pixel rays (``CameraIntrinsics.rays``),
so lens distortion is honoured exactly; open3d's ``RaycastingScene`` (Embree) finds
the first hit. Depth is the z coordinate in the optical frame (not the ray length).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import open3d as o3d

from ..core.camera import CameraIntrinsics
from .scenes import CameraPose, Primitive, SyntheticError, SyntheticScene

#: Half side of the square floor patch (m), centred under the camera.
FLOOR_HALF_SIZE_M = 50.0
_FLOOR_TILE_M = 0.5
_LIGHT_DIR_WORLD = np.array([0.35, 0.25, 1.0]) / np.linalg.norm([0.35, 0.25, 1.0])
_AMBIENT = 0.3
_SUN = 0.45
_KIND_CODE = {"box": 0, "cylinder": 1, "sphere": 2}


@dataclass(frozen=True)
class DepthNoise:
    """Depth sensor noise in the style of structured-light / stereo RGB-D cameras.

    - Gaussian noise with sigma = ``sigma_coefficient_per_m * z**2`` (m; z in m):
      1.5 mm at 1 m, 6 mm at 2 m with the default.
    - Edge dropouts: pixels next to a depth jump above ``edge_threshold_m`` (or to a
      pixel without depth) become NaN with probability ``edge_dropout_probability``.
    - Random dropouts: any pixel becomes NaN with probability ``random_dropout_rate``.
    - Quantisation of the depth to multiples of ``quantisation_m``.
    - No return beyond ``max_range_m`` (None: unlimited).
    """

    sigma_coefficient_per_m: float = 0.0015
    edge_threshold_m: float = 0.05
    edge_dropout_probability: float = 0.5
    random_dropout_rate: float = 0.002
    quantisation_m: float = 0.001
    max_range_m: float | None = 10.0


@dataclass(frozen=True, eq=False)
class RenderedFrame:
    """One rendered camera frame (H, W = ``camera.height``, ``camera.width``).

    ``rgb``: (H, W, 3) uint8. ``depth_m``: (H, W) float32, z in the optical frame (m),
    NaN where nothing was hit (or the sensor dropped the pixel). ``instance_ids``:
    (H, W) int32, 0 = floor, background (walls) or nothing, else ``Primitive.id``.
    ``id_to_label``: label of every object of the scene (visible or not).
    """

    rgb: np.ndarray
    depth_m: np.ndarray
    instance_ids: np.ndarray
    id_to_label: dict[int, str]
    camera: CameraIntrinsics


@dataclass(frozen=True, eq=False)
class RayHits:
    """First hits of N rays: ``depth_m`` (N,) float32 z-depth (optical frame; NaN: no
    hit), ``instance_ids`` (N,) int32 (0: floor or none), ``points_world`` (N, 3) and
    ``normals_world`` (N, 3) float32 unit triangle normals facing the camera."""

    depth_m: np.ndarray
    instance_ids: np.ndarray
    points_world: np.ndarray
    normals_world: np.ndarray


def raycast(objects: Sequence[Primitive], pose: CameraPose, rays_cam: np.ndarray,
            include_floor: bool = True) -> RayHits:
    """Cast rays (N, 3) given in the optical frame with z = 1 (NaN rays: no hit)."""
    scene = o3d.t.geometry.RaycastingScene()
    geometry_to_id = []
    if include_floor:
        c = pose.position_world[:2]
        h = FLOOR_HALF_SIZE_M
        floor = np.array([[c[0] - h, c[1] - h, 0], [c[0] + h, c[1] - h, 0],
                          [c[0] + h, c[1] + h, 0], [c[0] - h, c[1] + h, 0]], np.float32)
        scene.add_triangles(o3d.core.Tensor(floor),
                            o3d.core.Tensor(np.array([[0, 1, 2], [0, 2, 3]], np.uint32)))
        geometry_to_id.append(0)
    for primitive in objects:
        vertices, triangles = primitive.mesh_arrays()
        scene.add_triangles(o3d.core.Tensor(vertices.astype(np.float32)),
                            o3d.core.Tensor(triangles.astype(np.uint32)))
        geometry_to_id.append(primitive.id)
    rays_cam = np.asarray(rays_cam, np.float32).reshape(-1, 3)
    finite = np.isfinite(rays_cam).all(axis=1)
    if not finite.all():
        rays_cam = np.where(finite[:, None], rays_cam, np.float32(1.0))
    directions = rays_cam @ pose.rotation_world_from_cam.T.astype(np.float32)
    rays = np.empty((len(rays_cam), 6), np.float32)
    rays[:, :3] = pose.position_world
    rays[:, 3:] = directions
    hits = scene.cast_rays(o3d.core.Tensor(rays))
    t_hit = hits["t_hit"].numpy()
    geometry = hits["geometry_ids"].numpy()
    hit = finite & (geometry != o3d.t.geometry.RaycastingScene.INVALID_ID)
    lookup = np.array([*geometry_to_id, 0], np.int32)
    instance_ids = lookup[np.where(hit, geometry, len(geometry_to_id))]
    depth_m = np.where(hit, t_hit, np.float32(np.nan))  # direction has z = 1 in the optical frame
    points_world = rays[:, :3] + depth_m[:, None] * directions
    normals = hits["primitive_normals"].numpy()
    facing_away = np.einsum("ij,ij->i", normals, directions) > 0
    normals[facing_away] *= -1.0
    return RayHits(depth_m, instance_ids, points_world, normals)


def render(scene: SyntheticScene, noise: DepthNoise | None = None,
           rng: np.random.Generator | None = None) -> RenderedFrame:
    """Render the scene: shaded RGB, z-depth (m) and instance ids, optionally noisy depth."""
    if noise is not None and rng is None:
        raise SyntheticError("render(noise=...) needs rng=np.random.default_rng(seed) so "
                             "the noise is reproducible")
    camera = scene.camera
    shape = (camera.height, camera.width)
    hits = raycast(scene.objects + scene.background, scene.pose, camera.rays())
    depth_m = hits.depth_m.reshape(shape).astype(np.float32)
    if noise is not None and rng is not None:
        depth_m = apply_noise(depth_m, noise, rng)
    instance_ids = hits.instance_ids
    if scene.background:  # walls are rendered, but are no object (id 0, as the floor)
        background_ids = [b.id for b in scene.background]
        instance_ids = np.where(np.isin(instance_ids, background_ids), 0,
                                instance_ids).astype(np.int32)
    return RenderedFrame(
        rgb=_shade(scene, hits).reshape(*shape, 3),
        depth_m=depth_m,
        instance_ids=instance_ids.reshape(shape),
        id_to_label=scene.id_to_label,
        camera=camera,
    )


def _per_id(scene: SyntheticScene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup tables indexed by instance id: centre (world), kind code, colour."""
    solids = scene.objects + scene.background
    n_ids = max((o.id for o in solids), default=0) + 1
    centers = np.zeros((n_ids, 3), np.float32)
    kinds = np.full(n_ids, -1)
    colors = np.zeros((n_ids, 3), np.float32)
    for o in solids:
        centers[o.id], kinds[o.id], colors[o.id] = o.center_world, _KIND_CODE[o.kind], o.color
    return centers, kinds, colors


def _smooth_normals(hits: RayHits, centers: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Analytic normals on spheres and cylinder sides (the mesh facets would show)."""
    kind = kinds[hits.instance_ids]
    normals = hits.normals_world.copy()
    smooth = np.flatnonzero((kind == _KIND_CODE["sphere"]) | (
        (kind == _KIND_CODE["cylinder"]) & (np.abs(normals[:, 2]) < 0.5)))
    radial = hits.points_world[smooth] - centers[hits.instance_ids[smooth]]
    radial[kind[smooth] == _KIND_CODE["cylinder"], 2] = 0.0
    normals[smooth] = radial / np.linalg.norm(radial, axis=1, keepdims=True)
    return normals


def _shade(scene: SyntheticScene, hits: RayHits) -> np.ndarray:
    """Lambertian shading (sun + head light) of object colours and a checkered grey
    floor, sky where nothing is hit; (N, 3) uint8."""
    centers, kinds, colors = _per_id(scene)
    albedo = colors[hits.instance_ids]
    hit = np.isfinite(hits.depth_m)
    floor = np.flatnonzero(hit & (hits.instance_ids == 0))
    tiles = np.floor(hits.points_world[floor, :2] / _FLOOR_TILE_M).astype(np.int64).sum(axis=1)
    albedo[floor] = np.where((tiles % 2 == 0)[:, None], 150.0, 178.0)
    normals = _smooth_normals(hits, centers, kinds)
    sun = np.clip(normals @ _LIGHT_DIR_WORLD.astype(np.float32), 0.0, 1.0)
    head = np.abs(normals @ scene.pose.rotation_world_from_cam[:, 2].astype(np.float32))
    rgb = albedo * (_AMBIENT + _SUN * sun + (1 - _AMBIENT - _SUN) * head)[:, None]
    rows = np.arange(hits.depth_m.size) // scene.camera.width / max(scene.camera.height - 1, 1)
    sky = np.flatnonzero(~hit)
    rgb[sky] = np.stack([200 - 30 * rows[sky], 212 - 25 * rows[sky], 230 - 15 * rows[sky]], 1)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def depth_edges(depth_m: np.ndarray, threshold_m: float) -> np.ndarray:
    """(H, W) bool: pixels next to a depth jump > ``threshold_m`` or to a missing depth."""
    finite = np.isfinite(depth_m)
    edges = np.zeros(depth_m.shape, bool)
    for axis in (0, 1):
        a = [slice(None)] * 2
        b = [slice(None)] * 2
        a[axis], b[axis] = slice(None, -1), slice(1, None)
        with np.errstate(invalid="ignore"):
            jump = np.abs(depth_m[tuple(a)] - depth_m[tuple(b)]) > threshold_m
        jump |= finite[tuple(a)] != finite[tuple(b)]
        edges[tuple(a)] |= jump
        edges[tuple(b)] |= jump
    return edges & finite


def apply_noise(depth_m: np.ndarray, noise: DepthNoise, rng: np.random.Generator
                ) -> np.ndarray:
    """A noisy copy of a (H, W) depth image in metres (float32, NaN = no depth)."""
    depth = np.asarray(depth_m, np.float64)
    noisy = depth + rng.standard_normal(depth.shape) * noise.sigma_coefficient_per_m * depth**2
    edge = depth_edges(depth, noise.edge_threshold_m)
    dropped = edge & (rng.random(depth.shape) < noise.edge_dropout_probability)
    dropped |= rng.random(depth.shape) < noise.random_dropout_rate
    if noise.quantisation_m > 0:
        noisy = np.round(noisy / noise.quantisation_m) * noise.quantisation_m
    with np.errstate(invalid="ignore"):
        dropped |= ~(noisy > 0)
        if noise.max_range_m is not None:
            dropped |= noisy > noise.max_range_m
    noisy[dropped] = np.nan
    return noisy.astype(np.float32)

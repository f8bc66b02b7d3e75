"""Exact ground truth of a synthetic scene, with the package's quantity definitions.

Everything is expressed in the scene frame of ``core.scene_frame`` (z up along the
floor normal, x forward, y left, origin on the floor under the camera), built from
the true floor plane, so truth and estimates share one definition. Extents are of
the *full* object (also where it is hidden or outside the image):
``extent_scene = (along x = depth, along y = width, along z = height)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.spatial import cKDTree

from ..core.scene_frame import SceneFrame, scene_frame_from_floor
from .render import RenderedFrame, raycast
from .scenes import Primitive, SyntheticError, SyntheticScene

#: Points sampled on each object's surface (``ObjectTruth.surface_points_scene``).
SURFACE_SAMPLES = 2000
#: Gaps below this (m) are reported as 0 (touching).
TOUCH_TOLERANCE_M = 1e-6


@dataclass(frozen=True, eq=False)
class ObjectTruth:
    """Ground truth of one primitive, in the scene frame (metres, radians).

    ``center_scene`` (3,): centre of the scene-axis-aligned box of the full solid
    (= the solid's centre). ``extent_scene`` (3,): that box's size along x (depth),
    y (width), z (height). ``dims``/``yaw_scene_rad``: the primitive's own size
    (see ``Primitive``) and its yaw about the scene z axis. ``surface_points_scene``
    (N, 3) float64: uniform samples of the whole surface. ``visible_pixel_count``:
    pixels of the render showing it; ``unoccluded_pixel_count``: pixels it would cover
    alone in the scene (inside the image); ``occluded_fraction`` = 1 - visible /
    unoccluded (0 when it has no pixel in the image at all): the share of its in-image
    silhouette that nearer objects hide; ``cut_by_border``: its full projection extends
    beyond the image.

    The far side (issue 22), along the object's horizontal line of sight (from the
    camera's foot towards its centre): ``depth_extent_m`` is the solid's extent along
    it; ``far_side_m`` how far the solid reaches beyond the farthest point of its own
    camera-facing surface in the image (the part the object hides behind itself, 0 when
    a top face shows its whole depth), so a centre taken from what is seen sits about
    half of it too near.
    """

    id: int
    label: str
    kind: str
    center_scene: np.ndarray
    extent_scene: np.ndarray
    dims: tuple[float, ...]
    yaw_scene_rad: float
    surface_points_scene: np.ndarray
    visible_pixel_count: int
    unoccluded_pixel_count: int
    cut_by_border: bool
    occluded_fraction: float
    depth_extent_m: float
    far_side_m: float


@dataclass(frozen=True, eq=False)
class SceneTruth:
    """Ground truth of one frame: the true scene frame and every primitive's truth.

    ``frame`` comes from ``scene_frame_from_floor`` with the exact floor plane in the
    camera frame; ``camera_height_m``, ``pitch_rad``, ``roll_rad`` are its values.
    """

    frame: SceneFrame
    camera_height_m: float
    pitch_rad: float
    roll_rad: float
    objects: tuple[ObjectTruth, ...]

    def object(self, object_id: int) -> ObjectTruth:
        for o in self.objects:
            if o.id == object_id:
                return o
        raise SyntheticError(f"no object with id {object_id} in the truth; ids: "
                             f"{[o.id for o in self.objects]}")


def true_frame(scene: SyntheticScene) -> SceneFrame:
    """The scene frame implied by the true floor (z = 0 in the world)."""
    normal_cam, offset_m = scene.pose.floor_plane_cam()
    return scene_frame_from_floor(normal_cam, offset_m)


def world_to_scene(scene: SyntheticScene, points_world: np.ndarray) -> np.ndarray:
    """(N, 3) world points to the true scene frame of ``scene``'s camera."""
    return true_frame(scene).to_scene(scene.pose.world_to_cam(points_world))


def ground_truth(scene: SyntheticScene, rendered: RenderedFrame) -> SceneTruth:
    """Ground truth of a scene and its rendered frame (for the pixel counts)."""
    camera = scene.camera
    if rendered.instance_ids.shape != (camera.height, camera.width):
        raise SyntheticError(
            f"rendered instance image has shape {rendered.instance_ids.shape}, but the scene's "
            f"camera is {camera.height}x{camera.width}: render this scene, not another")
    frame = true_frame(scene)
    x_axis_world = scene.pose.rotation_world_from_cam @ frame.rotation_scene_from_cam[0]
    frame_yaw = float(np.arctan2(x_axis_world[1], x_axis_world[0]))
    max_id = max((o.id for o in scene.objects), default=0)
    visible = np.bincount(rendered.instance_ids.ravel().clip(0, max_id), minlength=max_id + 1)
    objects = []
    for primitive in scene.objects:
        center_scene = frame.to_scene(scene.pose.world_to_cam(primitive.center_world[None]))[0]
        yaw_scene = float(np.angle(np.exp(1j * (primitive.yaw_rad - frame_yaw))))
        unoccluded, cut, seen_world = _seen_alone(scene, primitive)
        surface_world = _sample_surface(primitive, SURFACE_SAMPLES)
        n_visible = int(visible[primitive.id])
        depth_extent, far_side = _far_side(scene, primitive, seen_world)
        objects.append(ObjectTruth(
            id=primitive.id, label=primitive.label, kind=primitive.kind,
            center_scene=center_scene,
            extent_scene=_extent(primitive.kind, primitive.dims, yaw_scene),
            dims=primitive.dims, yaw_scene_rad=yaw_scene,
            surface_points_scene=frame.to_scene(scene.pose.world_to_cam(surface_world)),
            visible_pixel_count=n_visible, unoccluded_pixel_count=unoccluded,
            cut_by_border=cut,
            occluded_fraction=float(np.clip(1 - n_visible / unoccluded, 0.0, 1.0))
            if unoccluded else 0.0,
            depth_extent_m=depth_extent, far_side_m=far_side,
        ))
    return SceneTruth(frame=frame, camera_height_m=frame.camera_height_m,
                      pitch_rad=frame.pitch_rad, roll_rad=frame.roll_rad,
                      objects=tuple(objects))


def _extent(kind: str, dims: tuple[float, ...], yaw_rad: float) -> np.ndarray:
    """Size of the z-aligned bounding box of an upright primitive with the given yaw."""
    if kind == "box":
        length, width, height = dims
        c, s = abs(np.cos(yaw_rad)), abs(np.sin(yaw_rad))
        return np.array([length * c + width * s, length * s + width * c, height])
    if kind == "cylinder":
        return np.array([2 * dims[0], 2 * dims[0], dims[1]])
    return np.full(3, 2 * dims[0])


def _sample_surface(primitive: Primitive, n: int) -> np.ndarray:
    """(n, 3) points uniformly distributed on the mesh surface; fixed per primitive id."""
    rng = np.random.default_rng(primitive.id)
    vertices, triangles = primitive.mesh_arrays()
    v0, v1, v2 = (vertices[triangles[:, i]] for i in range(3))
    areas = np.linalg.norm(np.cross(v1 - v0, v2 - v0), axis=1)
    chosen = rng.choice(len(triangles), size=n, p=areas / areas.sum())
    a, b = rng.random((2, n, 1))
    flip = (a + b) > 1
    a, b = np.where(flip, 1 - a, a), np.where(flip, 1 - b, b)
    return v0[chosen] + a * (v1[chosen] - v0[chosen]) + b * (v2[chosen] - v0[chosen])


def _far_side(scene: SyntheticScene, primitive: Primitive, seen_world: np.ndarray
              ) -> tuple[float, float]:
    """(depth_extent_m, far_side_m) of ``ObjectTruth``: along the horizontal line of
    sight, the solid's extent (its mesh vertices) and its reach beyond ``seen_world``
    (its own camera-facing surface in the image; none seen: the whole extent)."""
    camera_xy = scene.pose.position_world[:2]
    sight = primitive.center_world[:2] - camera_xy
    if np.linalg.norm(sight) < 1e-6:  # right under the camera: the view's heading
        sight = scene.pose.rotation_world_from_cam[:2, 2]
    sight = sight / np.linalg.norm(sight)
    vertices, _ = primitive.mesh_arrays()
    reach = (vertices[:, :2] - camera_xy) @ sight
    extent = float(reach.max() - reach.min())
    if not len(seen_world):
        return extent, extent
    seen = float(((seen_world[:, :2] - camera_xy) @ sight).max())
    return extent, float(np.clip(reach.max() - seen, 0.0, extent))


def _seen_alone(scene: SyntheticScene, primitive: Primitive
                ) -> tuple[int, bool, np.ndarray]:
    """Pixels the primitive covers when alone, whether its projection is cut, and the
    world points (M, 3) of its surface those pixels see.

    Rays are cast only inside the bounding rectangle of the projected mesh edges.
    """
    camera = scene.camera
    vertices, triangles = primitive.mesh_arrays()
    start, end = vertices[triangles], vertices[np.roll(triangles, 1, axis=1)]  # every edge
    steps = np.linspace(0.0, 1.0, 8, endpoint=False)[:, None, None, None]
    points = start + steps * (end - start)  # edges bulge under lens distortion
    points_cam = scene.pose.world_to_cam(points.reshape(-1, 3))
    if (points_cam[:, 2] <= 1e-6).any():  # partly behind the camera: cut, search everywhere
        cut, (u0, u1, v0, v1) = True, (0, camera.width, 0, camera.height)
    else:
        uv = camera.project(points_cam)
        low, high = uv.min(axis=0), uv.max(axis=0)
        cut = bool((low < -0.5).any() or high[0] > camera.width - 0.5
                   or high[1] > camera.height - 0.5)
        u0, v0 = (max(int(np.floor(x)) - 2, 0) for x in low)
        u1, v1 = (min(int(np.ceil(x)) + 3, n) for x, n in zip(high, (camera.width,
                                                                       camera.height)))
    if u0 >= u1 or v0 >= v1:
        return 0, cut, np.zeros((0, 3))
    hits = raycast([primitive], scene.pose, camera.rays()[v0:v1, u0:u1], include_floor=False)
    on_it = hits.instance_ids == primitive.id
    return int(on_it.sum()), cut, hits.points_world[on_it].astype(np.float64)


# ---------------------------------------------------------------------------------------
# Gap between two solids
# ---------------------------------------------------------------------------------------

Constraint = Callable[[np.ndarray], np.ndarray]


def _solid_constraints(obj: ObjectTruth) -> tuple[Constraint, Constraint]:
    """Inequalities g(p) >= 0 describing the solid, and their Jacobian (m x 3)."""
    center = obj.center_scene
    if obj.kind == "box":
        c, s = np.cos(obj.yaw_scene_rad), np.sin(obj.yaw_scene_rad)
        to_local = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
        half = np.asarray(obj.dims) / 2
        return (lambda p: np.concatenate([half - to_local @ (p - center),
                                          half + to_local @ (p - center)]),
                lambda p: np.concatenate([-to_local, to_local]))
    if obj.kind == "cylinder":
        radius, half_height = obj.dims[0], obj.dims[1] / 2

        def fun(p: np.ndarray) -> np.ndarray:
            d = p - center
            return np.array([radius**2 - d[0] ** 2 - d[1] ** 2, half_height - d[2],
                             half_height + d[2]])

        def jac(p: np.ndarray) -> np.ndarray:
            d = p - center
            return np.array([[-2 * d[0], -2 * d[1], 0.0], [0.0, 0.0, -1.0], [0.0, 0.0, 1.0]])

        return fun, jac
    radius = obj.dims[0]
    return (lambda p: np.array([radius**2 - (p - center) @ (p - center)]),
            lambda p: (-2 * (p - center))[None])


def true_gap(a: ObjectTruth, b: ObjectTruth) -> float:
    """Closest distance (m) between the surfaces of two solids; 0 if they touch or overlap.

    Solved exactly as a convex problem (min |p - q|, p in A, q in B) with SLSQP on the
    analytic solids, started from the closest pair of surface samples. The meshes
    that are rendered differ from the analytic round solids by < 0.13% of the radius.
    """
    tree = cKDTree(b.surface_points_scene)
    distances, nearest = tree.query(a.surface_points_scene)
    i = int(np.argmin(distances))
    start = np.concatenate([a.surface_points_scene[i], b.surface_points_scene[nearest[i]]])
    fun_a, jac_a = _solid_constraints(a)
    fun_b, jac_b = _solid_constraints(b)
    zeros = np.zeros((1, 3))
    constraints = [
        {"type": "ineq", "fun": lambda x: fun_a(x[:3]),
         "jac": lambda x: np.hstack([jac_a(x[:3]), np.repeat(zeros, len(fun_a(x[:3])), 0)])},
        {"type": "ineq", "fun": lambda x: fun_b(x[3:]),
         "jac": lambda x: np.hstack([np.repeat(zeros, len(fun_b(x[3:])), 0), jac_b(x[3:])])},
    ]
    result = minimize(
        lambda x: 0.5 * float((x[:3] - x[3:]) @ (x[:3] - x[3:])), start,
        jac=lambda x: np.concatenate([x[:3] - x[3:], x[3:] - x[:3]]),
        constraints=constraints, method="SLSQP", options={"ftol": 1e-16, "maxiter": 500})
    feasible = fun_a(result.x[:3]).min() > -1e-7 and fun_b(result.x[3:]).min() > -1e-7
    if not feasible:
        raise SyntheticError(f"gap between objects {a.id} and {b.id} did not converge: "
                             f"{result.message}")
    gap = float(np.linalg.norm(result.x[:3] - result.x[3:]))
    return 0.0 if gap < TOUCH_TOLERANCE_M else min(gap, float(distances[i]))

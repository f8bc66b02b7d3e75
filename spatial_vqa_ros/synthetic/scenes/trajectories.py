"""Scenes over time: a static scene under a moving camera, a gripper approaching a cube
or pushing it, with the exact gap between two aligned boxes (or a tool point and a box).

These feed the ``sequence`` and ``approach`` synthetic bags (tracking and reward
tests); the frames of a sequence share their objects and differ only in the pose.
"""

from __future__ import annotations

import numpy as np

from ...core.camera import CameraIntrinsics
from .placement import _random_color, random_camera, random_scene
from .primitives import CameraPose, Primitive, SyntheticError, SyntheticScene, _rot_z


def random_sequence(rng: np.random.Generator, n_frames: int,
                    camera: CameraIntrinsics | None = None, *,
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


#: Height of the pushing gripper's bottom face above the floor (m).
PUSH_LIFT_M = 0.005


def point_to_box_m(point_world: np.ndarray, box: Primitive) -> float:
    """Exact distance from a point to a (yawed) box primitive; 0 inside or on it."""
    local = _rot_z(box.yaw_rad).T @ (np.asarray(point_world, float) - box.center_world)
    return float(np.linalg.norm(np.maximum(np.abs(local) - np.array(box.dims) / 2, 0.0)))


def push_trajectory(rng: np.random.Generator, n_frames: int,
                    camera: CameraIntrinsics | None = None, start_gap_m: float = 0.3,
                    push_share: float = 0.4) -> list[SyntheticScene]:
    """The gripper slides along the floor onto the cube's side, then pushes it: for the
    last ``push_share`` of the frames both move on together, touching.

    The gripper (``GRIPPER_DIMS``, the cube's yaw, ``PUSH_LIFT_M`` above the floor) moves along
    the cube's local +x axis in equal steps, from ``start_gap_m`` (face to face) to
    touching; each pushing frame moves both by the same step. The cube moves by itself
    in the image while the camera stands still (the case a tracker must follow by flow,
    not by the camera's motion). Tool point: :func:`tool_point_world` with ``"push"``.
    """
    if n_frames < 3:
        raise SyntheticError(f"a push needs n_frames >= 3, got {n_frames}")
    if not 0.0 < push_share < 1.0:
        raise SyntheticError(f"push_share must be within (0, 1), got {push_share}")
    camera = camera if camera is not None else random_camera(rng)
    yaw = float(rng.uniform(-np.pi, np.pi))
    axis = _rot_z(yaw) @ np.array([1.0, 0.0, 0.0])
    cube_start = np.array([*rng.uniform(-1, 1, size=2), CUBE_EDGE_M / 2])
    gripper_z = PUSH_LIFT_M + GRIPPER_DIMS[2] / 2
    touching = (CUBE_EDGE_M + GRIPPER_DIMS[0]) / 2  # centre-to-centre along the axis
    n_push = max(1, round(push_share * n_frames))
    n_reach = n_frames - n_push
    step = start_gap_m / max(n_reach - 1, 1)
    color = _random_color(rng)
    gripper_color = np.array([90, 90, 100], np.uint8)
    centres = []  # (gripper offset behind the cube's start along axis, cube shift)
    for k in range(n_frames):
        if k < n_reach:
            gap = start_gap_m - step * k
            centres.append((touching + gap, 0.0))
        else:
            shift = step * (k - n_reach + 1)
            centres.append((touching - shift, shift))
    path_end = cube_start + axis * centres[-1][1]
    middle = (cube_start - axis * (touching + start_gap_m) + path_end) / 2
    distance = rng.uniform(0.8, 1.0)
    side = axis[[1, 0]] * [-1.0, 1.0] * rng.choice([-1.0, 1.0])  # across the path
    pitch = rng.uniform(np.deg2rad(25), np.deg2rad(40))
    eye = middle + distance * np.array([side[0] * np.cos(pitch), side[1] * np.cos(pitch),
                                        np.sin(pitch)])
    pose = CameraPose.looking_at(eye, middle)
    scenes = []
    for behind, shift in centres:
        cube_center = cube_start + axis * shift
        gripper_center = cube_start - axis * behind
        gripper_center[2] = gripper_z
        cube = Primitive(1, "cube", "box", cube_center, (CUBE_EDGE_M,) * 3, yaw, color)
        gripper = Primitive(2, "gripper", "box", gripper_center, GRIPPER_DIMS, yaw,
                            gripper_color)
        scenes.append(SyntheticScene((cube, gripper), camera, pose))
    return scenes


#: Where the gripper's tool point is, in its own frame (m): the centre of the face that
#: meets the cube (approach), or of where its front face meets the cube's side (push).
TOOL_OFFSET_M = {"approach": np.array([0.0, 0.0, -GRIPPER_DIMS[2] / 2]),
                 "push": np.array([GRIPPER_DIMS[0] / 2, 0.0,
                                   CUBE_EDGE_M / 2 - PUSH_LIFT_M - GRIPPER_DIMS[2] / 2])}


def tool_point_world(scene: SyntheticScene, kind: str) -> np.ndarray:
    """The gripper's tool point (world, m) in an ``approach`` or ``push`` scene, where
    TF would place a tool frame (``TOOL_OFFSET_M``): its gap to the cube is 0 at contact."""
    if kind not in TOOL_OFFSET_M:
        raise SyntheticError(f"kind must be one of {', '.join(TOOL_OFFSET_M)}, got {kind!r}")
    gripper = next(o for o in scene.objects if o.label == "gripper")
    return gripper.center_world + _rot_z(gripper.yaw_rad) @ TOOL_OFFSET_M[kind]

"""Scene model, pose convention and random generation of spatial_vqa_ros.synthetic."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.scene_frame import scene_frame_from_floor
from spatial_vqa_ros.synthetic import (
    CameraPose,
    Primitive,
    SyntheticError,
    approach_trajectory,
    random_scene,
    random_sequence,
)
from spatial_vqa_ros.synthetic.scenes import GRIPPER_DIMS, aligned_box_gap_m
from spatial_vqa_ros.synthetic.truth import world_to_scene


def _rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _mesh_volume(primitive: Primitive) -> float:
    vertices, triangles = primitive.mesh_arrays()
    v0, v1, v2 = (vertices[triangles[:, i]] - primitive.center_world for i in range(3))
    return float(np.einsum("ij,ij->i", v0, np.cross(v1, v2)).sum() / 6)


@pytest.mark.parametrize("seed", range(5))
def test_pose_angles_are_those_the_core_scene_frame_reports(seed: int) -> None:
    rng = np.random.default_rng(seed)
    yaw, pitch, roll = rng.uniform(-3, 3), rng.uniform(-1.2, 1.2), rng.uniform(-0.3, 0.3)
    pose = CameraPose.from_angles([0.3, -0.2, 1.4], yaw, pitch, roll)
    frame = scene_frame_from_floor(*pose.floor_plane_cam())
    assert frame.pitch_rad == pytest.approx(pitch, abs=1e-12)
    assert frame.roll_rad == pytest.approx(roll, abs=1e-12)
    assert frame.camera_height_m == pytest.approx(1.4, abs=1e-12)
    assert (pose.yaw_rad, pose.pitch_rad, pose.roll_rad) == pytest.approx((yaw, pitch, roll))
    rotation = pose.rotation_world_from_cam
    assert rotation[2, 0] == pytest.approx(np.sin(roll))  # image right side up for roll > 0
    assert rotation[2, 1] < 0  # image y points down
    assert np.linalg.det(rotation) == pytest.approx(1.0)


def test_scene_frame_is_the_world_turned_by_the_heading_about_the_camera_foot() -> None:
    pose = CameraPose.from_angles([1.0, 2.0, 0.8], 0.7, 0.4, 0.05)
    scene = random_scene(np.random.default_rng(0))
    scene = type(scene)(scene.objects, scene.camera, pose)
    points_world = np.random.default_rng(1).uniform(-3, 3, size=(20, 3))
    expected = (points_world - [1.0, 2.0, 0.0]) @ _rot_z(0.7)
    np.testing.assert_allclose(world_to_scene(scene, points_world), expected, atol=1e-12)


def test_looking_at_points_the_optical_axis_at_the_target() -> None:
    pose = CameraPose.looking_at([0.0, 0.0, 1.5], [2.0, 1.0, 0.2])
    target_cam = pose.world_to_cam(np.array([[2.0, 1.0, 0.2]]))[0]
    np.testing.assert_allclose(target_cam[:2], 0.0, atol=1e-12)
    assert target_cam[2] > 0


@pytest.mark.parametrize(("kind", "dims", "volume"), [
    ("box", (0.4, 0.3, 0.2), 0.4 * 0.3 * 0.2),
    ("cylinder", (0.1, 0.3), np.pi * 0.1**2 * 0.3),
    ("sphere", (0.2,), 4 / 3 * np.pi * 0.2**3),
])
def test_meshes_are_closed_outward_and_close_to_the_solid(kind: str, dims: tuple[float, ...],
                                                          volume: float) -> None:
    primitive = Primitive(1, kind, kind, [1.0, 2.0, 0.5], dims, yaw_rad=0.3)
    assert _mesh_volume(primitive) == pytest.approx(volume, rel=5e-3)
    mesh = primitive.to_open3d()
    assert mesh.vertex.positions.shape[0] == len(primitive.mesh_arrays()[0])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "cone"}, "unknown primitive kind"),
    ({"dims": (0.1, 0.2)}, "a box needs 3 positive dims"),
    ({"dims": (0.1, -0.2, 0.3)}, "a box needs 3 positive dims"),
    ({"id": 0}, "id must be >= 1"),
    ({"center_world": [1.0, 2.0]}, r"center_world must have shape \(3,\)"),
])
def test_primitive_rejects_invalid_input(kwargs: dict, message: str) -> None:
    args = {"id": 1, "label": "box", "kind": "box", "center_world": [0, 0, 0.1],
            "dims": (0.2, 0.2, 0.2)}
    with pytest.raises(SyntheticError, match=message):
        Primitive(**{**args, **kwargs})


def test_pose_rejects_a_tilt_past_vertical_and_a_non_rotation() -> None:
    with pytest.raises(SyntheticError, match="past vertical"):
        CameraPose.from_angles([0, 0, 1], 0.0, 1.2, 0.6)
    with pytest.raises(SyntheticError, match="proper rotation"):
        CameraPose(np.zeros(3), np.diag([1.0, 1.0, -1.0]))


def test_random_scene_is_deterministic_under_the_seed() -> None:
    a, b = (random_scene(np.random.default_rng(42)) for _ in range(2))
    assert a.camera == b.camera
    np.testing.assert_array_equal(a.pose.rotation_world_from_cam, b.pose.rotation_world_from_cam)
    assert [(o.id, o.label, o.kind, o.dims, o.yaw_rad) for o in a.objects] == \
        [(o.id, o.label, o.kind, o.dims, o.yaw_rad) for o in b.objects]
    for oa, ob in zip(a.objects, b.objects):
        np.testing.assert_array_equal(oa.center_world, ob.center_world)
        np.testing.assert_array_equal(oa.color, ob.color)
    c = random_scene(np.random.default_rng(43))
    assert [o.center_world.tolist() for o in c.objects] != \
        [o.center_world.tolist() for o in a.objects]


def test_random_scenes_are_physically_plausible() -> None:
    rng = np.random.default_rng(7)
    for _ in range(15):
        scene = random_scene(rng, n_objects=(3, 8))
        pose = scene.pose
        assert 3 <= len(scene.objects) <= 8
        assert [o.id for o in scene.objects] == list(range(1, len(scene.objects) + 1))
        assert 0.3 <= pose.height_m <= 2.0
        assert np.deg2rad(10) - 1e-9 <= pose.pitch_rad <= np.deg2rad(45) + 1e-9
        assert abs(pose.roll_rad) <= np.deg2rad(5) + 1e-9
        tops = {round(o.top_z_m, 9) for o in scene.objects if o.kind == "box"}
        for o in scene.objects:
            distance = np.linalg.norm(o.center_world - pose.position_world)
            assert 0.5 <= distance <= 6.0
            bottom = round(o.center_world[2] - o.half_height_m, 9)
            assert bottom == 0.0 or bottom in tops  # on the floor or on a box
        on_floor = [o for o in scene.objects if abs(o.center_world[2] - o.half_height_m) < 1e-9]
        for i, a in enumerate(on_floor):
            for b in on_floor[i + 1:]:
                gap = np.linalg.norm(a.center_world[:2] - b.center_world[:2])
                assert gap >= a.footprint_radius_m + b.footprint_radius_m


def test_random_scenes_have_tables_stacks_and_repeated_labels() -> None:
    rng = np.random.default_rng(3)
    scenes = [random_scene(rng) for _ in range(30)]
    with_table = [s for s in scenes if any(o.label == "table" for o in s.objects)]
    assert 4 <= len(with_table) <= 16
    for scene in with_table:
        table = next(o for o in scene.objects if o.label == "table")
        assert 0.4 <= table.dims[2] <= 0.8
        on_top = [o for o in scene.objects
                  if abs(o.center_world[2] - o.half_height_m - table.top_z_m) < 1e-9]
        assert 1 <= len(on_top) <= 3
    assert any(len({o.label for o in s.objects}) < len(s.objects) for s in scenes)
    kinds = {o.kind for s in scenes for o in s.objects}
    assert kinds == {"box", "cylinder", "sphere"}


def test_random_scene_rejects_an_invalid_object_count() -> None:
    with pytest.raises(SyntheticError, match="n_objects"):
        random_scene(np.random.default_rng(0), n_objects=(5, 2))


def test_random_sequence_moves_the_camera_smoothly_in_a_static_scene() -> None:
    frames = random_sequence(np.random.default_rng(5), 12)
    assert len(frames) == 12
    assert all(f.objects is frames[0].objects for f in frames)
    positions = np.array([f.pose.position_world for f in frames])
    steps = np.linalg.norm(np.diff(positions, axis=0), axis=1)
    assert steps.max() < 0.1
    assert np.linalg.norm(positions[-1] - positions[0]) > 0.01
    yaws = np.unwrap([f.pose.yaw_rad for f in frames])
    assert np.abs(np.diff(yaws)).max() < 0.05


def test_approach_trajectory_closes_the_gap_to_contact() -> None:
    frames = approach_trajectory(np.random.default_rng(2), 10)
    gaps = [aligned_box_gap_m(s.object(1), s.object(2)) for s in frames]
    assert gaps[0] == pytest.approx(0.6, abs=1e-6)
    assert gaps[-1] == 0.0
    assert all(np.diff(gaps) < 0)
    assert all(f.pose is frames[0].pose for f in frames)
    gripper = frames[-1].object(2)
    assert (gripper.label, gripper.dims) == ("gripper", GRIPPER_DIMS)
    assert frames[-1].object(1).label == "cube"
    assert min(s.object(2).center_world[2] - s.object(2).half_height_m for s in frames) > 0

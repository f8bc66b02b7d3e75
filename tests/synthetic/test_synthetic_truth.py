"""Ground truth (scene frame, extents, pixel counts, gaps) of spatial_vqa_ros.synthetic."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.synthetic import (
    CameraPose,
    Primitive,
    SyntheticError,
    SyntheticScene,
    approach_trajectory,
    ground_truth,
    random_scene,
    render,
    true_gap,
)

CAMERA = CameraIntrinsics(width=640, height=480, fx=600.0, fy=600.0, cx=319.5, cy=239.5)
CAMERA_YAW = 0.6
POSE = CameraPose.from_angles([1.0, -2.0, 1.3], CAMERA_YAW, pitch_rad=0.45, roll_rad=-0.04)


def _world(x_forward: float, y_left: float, z: float) -> np.ndarray:
    """A world point given in the camera's scene frame (heading CAMERA_YAW)."""
    c, s = np.cos(CAMERA_YAW), np.sin(CAMERA_YAW)
    return np.array([1.0 + c * x_forward - s * y_left, -2.0 + s * x_forward + c * y_left, z])


def _truth(*objects: Primitive, camera: CameraIntrinsics = CAMERA, pose: CameraPose = POSE):
    scene = SyntheticScene(objects, camera, pose)
    return ground_truth(scene, render(scene))


def test_truth_frame_has_the_pose_height_pitch_and_roll() -> None:
    truth = _truth()
    assert truth.camera_height_m == pytest.approx(1.3, abs=1e-12)
    assert truth.pitch_rad == pytest.approx(0.45, abs=1e-12)
    assert truth.roll_rad == pytest.approx(-0.04, abs=1e-12)
    assert truth.frame.floor_found


def test_extent_of_a_box_aligned_with_the_scene_frame_is_its_dims() -> None:
    box = Primitive(1, "crate", "box", _world(2.5, 0.3, 0.2), (0.6, 0.4, 0.4),
                    yaw_rad=CAMERA_YAW)
    truth = _truth(box).object(1)
    np.testing.assert_allclose(truth.extent_scene, (0.6, 0.4, 0.4), atol=1e-9)
    np.testing.assert_allclose(truth.center_scene, (2.5, 0.3, 0.2), atol=1e-9)
    assert truth.yaw_scene_rad == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("relative_yaw", [0.3, np.pi / 4, 2.0, -1.1])
def test_extent_of_a_yawed_box_is_the_analytic_footprint(relative_yaw: float) -> None:
    length, width = 0.6, 0.25
    box = Primitive(1, "box", "box", _world(2.5, -0.2, 0.15), (length, width, 0.3),
                    yaw_rad=CAMERA_YAW + relative_yaw)
    c, s = abs(np.cos(relative_yaw)), abs(np.sin(relative_yaw))
    truth = _truth(box).object(1)
    np.testing.assert_allclose(truth.extent_scene,
                               (length * c + width * s, length * s + width * c, 0.3), atol=1e-9)
    corners = truth.surface_points_scene
    assert (corners.max(axis=0) - corners.min(axis=0) <= truth.extent_scene + 1e-9).all()


def test_extents_of_round_solids() -> None:
    mug = Primitive(1, "mug", "cylinder", _world(2.0, 0.4, 0.05), (0.045, 0.1))
    ball = Primitive(2, "ball", "sphere", _world(2.5, -0.4, 0.12), (0.12,))
    truth = _truth(mug, ball)
    np.testing.assert_allclose(truth.object(1).extent_scene, (0.09, 0.09, 0.1), atol=1e-9)
    np.testing.assert_allclose(truth.object(2).extent_scene, (0.24, 0.24, 0.24), atol=1e-9)
    np.testing.assert_allclose(truth.object(2).center_scene, (2.5, -0.4, 0.12), atol=1e-9)
    radii = np.linalg.norm(truth.object(2).surface_points_scene - (2.5, -0.4, 0.12), axis=1)
    assert len(radii) == 2000
    assert radii.min() > 0.12 * 0.99 and radii.max() <= 0.12 + 1e-9


def test_pixel_counts_occlusion_and_border_cut() -> None:
    front = Primitive(1, "box", "box", _world(2.0, 0.0, 0.3), (0.3, 0.3, 0.6),
                      yaw_rad=CAMERA_YAW)
    behind = Primitive(2, "ball", "sphere", _world(3.5, 0.25, 0.25), (0.25,))
    edge = Primitive(3, "crate", "box", _world(2.5, 1.45, 0.2), (0.4, 0.4, 0.4))
    scene = SyntheticScene((front, behind, edge), CAMERA, POSE)
    frame = render(scene)
    truth = ground_truth(scene, frame)
    for o in truth.objects:
        assert o.visible_pixel_count == (frame.instance_ids == o.id).sum()
    assert truth.object(1).occluded_fraction == pytest.approx(0.0, abs=1e-9)
    assert 0.1 < truth.object(2).occluded_fraction < 0.9
    assert truth.object(2).unoccluded_pixel_count > truth.object(2).visible_pixel_count
    assert not truth.object(1).cut_by_border and not truth.object(2).cut_by_border
    assert truth.object(3).cut_by_border
    assert truth.object(3).occluded_fraction == pytest.approx(0.0, abs=1e-9)


def test_ground_truth_rejects_a_frame_of_another_camera() -> None:
    scene = random_scene(np.random.default_rng(0))
    small = SyntheticScene(scene.objects, CameraIntrinsics(320, 240, 300.0, 300.0, 160, 120),
                           scene.pose)
    with pytest.raises(SyntheticError, match="render this scene"):
        ground_truth(scene, render(small))


@pytest.mark.parametrize(("a", "b", "gap"), [
    (("box", (0.4, 0.4, 0.4), 0.0), ("box", (0.4, 0.4, 0.4), 0.0), 0.6),
    (("box", (0.4, 0.4, 0.4), 0.0), ("box", (0.4, 0.4, 0.4), np.pi / 4),
     1.0 - 0.2 - 0.2 * np.sqrt(2)),
    (("sphere", (0.3,), 0.0), ("sphere", (0.2,), 0.0), 0.5),
    (("box", (0.4, 0.4, 0.4), 0.0), ("cylinder", (0.15, 0.4), 0.0), 0.65),
    (("box", (0.4, 0.4, 0.4), 0.0), ("box", (0.4, 1.6, 0.4), 0.0), 0.0),  # touching
    (("box", (0.4, 0.4, 0.4), 0.0), ("sphere", (0.9,), 0.0), 0.0),  # overlapping
])
def test_true_gap_of_solids_at_known_separation(a: tuple, b: tuple, gap: float) -> None:
    first = Primitive(1, a[0], a[0], _world(2.0, 0.5, 0.4), a[1], yaw_rad=CAMERA_YAW + a[2])
    second = Primitive(2, b[0], b[0], _world(2.0, -0.5, 0.4), b[1], yaw_rad=CAMERA_YAW + b[2])
    truth = _truth(first, second)
    assert true_gap(truth.object(1), truth.object(2)) == pytest.approx(gap, abs=1e-5)
    assert true_gap(truth.object(2), truth.object(1)) == pytest.approx(gap, abs=1e-5)


def test_true_gap_corner_to_corner_in_3d() -> None:
    low = Primitive(1, "box", "box", _world(2.0, 0.0, 0.1), (0.2, 0.2, 0.2), yaw_rad=CAMERA_YAW)
    high = Primitive(2, "box", "box", _world(2.5, 0.4, 0.6), (0.2, 0.2, 0.2), yaw_rad=CAMERA_YAW)
    truth = _truth(low, high)
    assert true_gap(truth.object(1), truth.object(2)) == pytest.approx(
        np.linalg.norm([0.3, 0.2, 0.3]), abs=1e-5)


def test_true_gap_along_an_approach_shrinks_monotonically_to_zero() -> None:
    gaps = []
    for scene in approach_trajectory(np.random.default_rng(8), 6):
        truth = ground_truth(scene, render(scene))
        gaps.append(true_gap(truth.object(1), truth.object(2)))
        assert truth.object(1).visible_pixel_count >= 200
        assert truth.object(2).visible_pixel_count >= 200
    assert gaps[0] == pytest.approx(0.6, abs=1e-4)
    assert gaps[-1] == 0.0
    assert (np.diff(gaps) < 0).all()


def test_most_objects_of_random_scenes_are_well_visible() -> None:
    rng = np.random.default_rng(2024)
    counts = []
    for _ in range(20):
        scene = random_scene(rng)
        truth = ground_truth(scene, render(scene))
        counts += [o.visible_pixel_count for o in truth.objects]
    assert np.mean(np.array(counts) >= 200) >= 0.85


# -- the far side (issue 22) -----------------------------------------------------------

def _level_pose(height_m: float) -> CameraPose:
    """Looking along world +x from the origin at ``height_m``, tilted 10 deg down."""
    return CameraPose.from_angles([0.0, 0.0, height_m], 0.0, np.deg2rad(10.0))


def test_far_side_of_a_deep_box_seen_from_below_its_top_is_its_whole_depth() -> None:
    cabinet = Primitive(1, "cabinet", "box", [3.0, 0.0, 0.5], (0.6, 0.5, 1.0))
    truth = _truth(cabinet, pose=_level_pose(0.4)).object(1)
    assert truth.depth_extent_m == pytest.approx(0.6, abs=1e-9)
    assert truth.far_side_m == pytest.approx(0.6, abs=0.01)  # only the front face shows


def test_far_side_of_a_box_whose_top_face_shows_is_almost_none() -> None:
    cabinet = Primitive(1, "cabinet", "box", [3.0, 0.0, 0.5], (0.6, 0.5, 1.0))
    truth = _truth(cabinet, pose=_level_pose(2.0)).object(1)
    assert truth.depth_extent_m == pytest.approx(0.6, abs=1e-9)
    assert truth.far_side_m < 0.02  # the top face reaches the back edge


def test_far_side_of_a_sphere_is_about_its_back_half() -> None:
    ball = Primitive(1, "ball", "sphere", [3.0, 0.0, 0.15], (0.15,))
    truth = _truth(ball, pose=_level_pose(0.15)).object(1)
    assert truth.depth_extent_m == pytest.approx(0.3, abs=0.002)
    assert 0.15 <= truth.far_side_m <= 0.17  # the silhouette is r^2/d before the centre


def test_far_side_of_an_object_out_of_view_is_its_whole_depth() -> None:
    behind_camera = Primitive(1, "box", "box", [-3.0, 0.0, 0.2], (0.4, 0.4, 0.4))
    truth = _truth(behind_camera, pose=_level_pose(1.0)).object(1)
    assert truth.unoccluded_pixel_count == 0
    assert truth.far_side_m == pytest.approx(truth.depth_extent_m)


def test_occluded_share_is_of_the_silhouette_nearer_objects_hide() -> None:
    front = Primitive(1, "crate", "box", [2.0, 0.0, 0.3], (0.4, 0.6, 0.6))
    behind = Primitive(2, "box", "box", [3.0, 0.45, 0.2], (0.3, 0.3, 0.4))
    truth = _truth(front, behind, pose=_level_pose(0.5))
    hidden, seen = truth.object(2), truth.object(1)
    assert not hidden.cut_by_border
    assert 0.2 < hidden.occluded_fraction < 0.9
    assert hidden.visible_pixel_count == pytest.approx(
        (1 - hidden.occluded_fraction) * hidden.unoccluded_pixel_count, abs=1)
    assert seen.occluded_fraction == 0.0

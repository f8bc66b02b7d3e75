from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.errors import CoreError
from spatial_vqa_ros.core.scene_frame import camera_aligned_frame, scene_frame_from_floor


def _level_camera(height: float, pitch_deg: float):
    """Floor normal in the optical frame of a camera pitched down by pitch_deg."""
    p = np.radians(pitch_deg)
    return np.array([0.0, -np.cos(p), -np.sin(p)]), height


def test_axes_are_forward_left_up_and_origin_is_under_the_camera():
    n, h = _level_camera(1.2, 30.0)
    frame = scene_frame_from_floor(n, h)
    assert frame.camera_height_m == pytest.approx(1.2)
    assert np.degrees(frame.pitch_rad) == pytest.approx(30.0)
    assert frame.roll_rad == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(frame.camera_position_scene, [0, 0, 1.2], atol=1e-12)
    # a point straight ahead along the optical axis is forward (x) and below the camera
    ahead = frame.to_scene(np.array([[0.0, 0.0, 2.0]]))[0]
    assert ahead[0] > 0 and abs(ahead[1]) < 1e-12 and ahead[2] < 1.2
    # image right (+x optical) is scene right (-y); image up (-y optical) goes up (+z)
    right = frame.to_scene(np.array([[1.0, 0.0, 0.0]]))[0] - frame.camera_position_scene
    assert right[1] == pytest.approx(-1.0)
    rot = frame.rotation_scene_from_cam
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) == pytest.approx(1.0)


def test_floor_points_have_zero_height():
    n, h = _level_camera(0.8, 20.0)
    frame = scene_frame_from_floor(n, h)
    # intersect a few optical rays with the floor n.p + h = 0
    rays = np.array([[0.1, 0.3, 1.0], [-0.4, 0.2, 1.0], [0.0, 0.5, 1.0]])
    points = rays * (-h / (rays @ n))[:, None]
    np.testing.assert_allclose(frame.to_scene(points)[:, 2], 0.0, atol=1e-12)
    np.testing.assert_allclose(frame.to_camera(frame.to_scene(points)), points, atol=1e-12)


def test_normal_pointing_down_is_flipped():
    n, h = _level_camera(1.0, 10.0)
    frame = scene_frame_from_floor(-n, -h)
    assert frame.camera_height_m == pytest.approx(1.0)
    np.testing.assert_allclose(frame.floor_normal_cam, n)


def test_camera_looking_straight_down_has_no_forward():
    with pytest.raises(CoreError, match="straight down"):
        scene_frame_from_floor(np.array([0.0, 0.0, -1.0]), 1.0)


def test_fallback_frame_is_camera_aligned():
    frame = camera_aligned_frame()
    assert not frame.floor_found and frame.camera_height_m == 0.0
    np.testing.assert_allclose(frame.to_scene(np.array([[0.0, 0.0, 1.0]])), [[1.0, 0, 0]])
    np.testing.assert_allclose(frame.to_scene(np.array([[0.0, -1.0, 0.0]])), [[0, 0, 1.0]])
    np.testing.assert_allclose(frame.floor_plane_cam, np.zeros(4))

"""Floor detection picks the floor: not a wall, not a table top; a table when alone."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.floor import FloorConfig, FloorTracker, detect_floor

RNG = np.random.default_rng(0)


def _plane_points(n: int, normal, offset: float, extent: float = 3.0) -> np.ndarray:
    """n points on n.p + offset = 0 (camera frame), spread around the optical axis."""
    normal = np.asarray(normal, float) / np.linalg.norm(normal)
    helper = np.array([1.0, 0, 0]) if abs(normal[0]) < 0.9 else np.array([0, 0, 1.0])
    u = np.cross(normal, helper)
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    centre = -offset * normal + np.array([0, 0, 2.5]) - normal * (normal @ [0, 0, 2.5])
    coeffs = RNG.uniform(-extent, extent, (n, 2))
    return centre + coeffs[:, :1] * u + coeffs[:, 1:] * v


def _up(pitch_deg: float) -> np.ndarray:
    p = np.radians(pitch_deg)
    return np.array([0.0, -np.cos(p), -np.sin(p)])


def test_lowest_horizontal_plane_wins_over_a_bigger_table_and_a_wall():
    up = _up(30)
    floor = _plane_points(1500, up, 1.2)  # 1.2 m below the camera
    table = _plane_points(3000, up, 0.5, extent=1.0)  # a table top 0.7 m higher, larger
    wall = _plane_points(5000, [0.0, 0.0, -1.0], 4.0)  # the largest plane: a wall
    found = detect_floor(np.vstack([floor, table, wall]), FloorConfig(max_planes=4))
    assert found is not None
    assert found.offset_m == pytest.approx(1.2, abs=0.01)
    assert np.degrees(np.arccos(found.normal_cam @ up)) < 0.5


def test_a_table_top_alone_is_the_support_surface():
    up = _up(50)
    table = _plane_points(4000, up, 0.6, extent=1.0)
    found = detect_floor(table)
    assert found is not None and found.offset_m == pytest.approx(0.6, abs=0.01)


def test_no_horizontal_plane_means_no_floor():
    wall = _plane_points(4000, [0.0, 0.0, -1.0], 3.0)
    assert detect_floor(wall) is None
    ceiling = _plane_points(4000, -_up(0), 1.0)  # above the camera: normal points down
    assert detect_floor(ceiling) is None


def test_tracker_smooths_a_still_camera_and_re_detects_after_motion():
    tracker = FloorTracker()
    up = _up(30)
    for _ in range(5):
        noisy = _plane_points(3000, up, 1.0) + RNG.normal(0, 0.005, (3000, 3))
        frame = tracker.update(noisy)
    assert frame.floor_found and frame.camera_height_m == pytest.approx(1.0, abs=0.005)
    moved = _plane_points(3000, _up(45), 1.6)  # the camera tilted and rose
    frame = tracker.update(moved)
    assert frame.camera_height_m == pytest.approx(1.6, abs=0.01)
    assert np.degrees(frame.pitch_rad) == pytest.approx(45, abs=0.5)

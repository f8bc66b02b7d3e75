"""Floor detection picks the floor: not a wall, not a table top; a table when alone."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.errors import CoreError
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


def _pitched_camera(pitch_deg: float, height_m: float) -> tuple[np.ndarray, float]:
    """Floor plane (up normal, offset) seen by a camera pitched down by pitch_deg."""
    return _up(pitch_deg), height_m


def _motion(rotation_deg: float = 0.0, translation=(0.0, 0.0, 0.0)) -> np.ndarray:
    """previous_from_current: the camera turned about its x axis and moved."""
    a = np.radians(rotation_deg)
    motion = np.eye(4)
    motion[:3, :3] = [[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]]
    motion[:3, 3] = translation
    return motion


def _room(up: np.ndarray, height_m: float, n_floor: int = 6000) -> np.ndarray:
    """A noisy floor and two walls (the walls together bigger than the floor)."""
    floor = _plane_points(n_floor, up, height_m) + RNG.normal(0, 0.004, (n_floor, 3))
    back = _plane_points(4000, [0.0, 0.0, -1.0], 4.0)
    side = _plane_points(4000, [1.0, 0.0, 0.0], 2.0)
    return np.vstack([floor, back, side])


def test_ransac_on_a_subsample_finds_the_floor_as_exactly_and_counts_every_inlier():
    up = _up(25)
    points = _room(up, 1.3)
    full = detect_floor(points, FloorConfig(ransac_points=len(points)))
    small = detect_floor(points, FloorConfig(ransac_points=300))
    for found in (full, small):
        assert found is not None
        assert np.degrees(np.arccos(found.normal_cam @ up)) < 0.1
        assert found.offset_m == pytest.approx(1.3, abs=0.002)
    # support is counted on every point, not on the 300 RANSAC saw
    assert small.inlier_count > 5000
    assert small.inlier_count == pytest.approx(full.inlier_count, rel=0.01)


def test_the_same_points_always_give_the_same_floor():
    points = _room(_up(30), 1.0)
    first, second = detect_floor(points), detect_floor(points)
    assert np.array_equal(first.normal_cam, second.normal_cam)
    assert first.offset_m == second.offset_m and first.inlier_count == second.inlier_count


def test_a_floor_moved_by_the_camera_motion_is_the_floor_seen_from_there():
    up, height = _pitched_camera(30, 1.2)
    # the camera pitches 10 deg further down about its x axis and rises 0.3 m
    motion = _motion(-10.0, (0.0, -0.3 * np.cos(np.radians(30)), -0.3 * np.sin(np.radians(30))))
    tracker = FloorTracker()
    tracker.update(_plane_points(3000, up, height))
    moved = tracker.floor.moved(motion)
    expected_up = _up(40)
    assert np.degrees(np.arccos(moved.normal_cam @ expected_up)) < 0.1
    assert moved.offset_m == pytest.approx(1.5, abs=0.005)


def test_a_still_pose_keeps_the_last_floor_without_a_fit():
    tracker = FloorTracker()
    up = _up(30)
    tracker.update(_plane_points(3000, up, 1.1))
    # no background points at all: any fit would lose the floor
    frame = tracker.update(np.empty((0, 3)), _motion(0.01, (0.0005, 0.0, 0.0)))
    assert frame.floor_found and frame.camera_height_m == pytest.approx(1.1, abs=0.005)
    assert not tracker.update(np.empty((0, 3))).floor_found  # without a pose it is lost


def test_a_known_motion_carries_the_floor_through_big_moves_without_ransac(monkeypatch):
    tracker = FloorTracker()
    tracker.update(_plane_points(4000, _up(20), 1.0))

    def no_ransac(*_args, **_kwargs):
        raise AssertionError("RANSAC ran although the moved floor still fits")

    monkeypatch.setattr("spatial_vqa_ros.core.floor.detect_floor", no_ransac)
    for step in range(1, 6):  # 5 deg more pitch a frame: the old plane would not fit
        pitch = 20 + 5 * step
        frame = tracker.update(_plane_points(4000, _up(pitch), 1.0), _motion(-5.0))
        assert np.degrees(frame.pitch_rad) == pytest.approx(pitch, abs=0.2)
        assert frame.camera_height_m == pytest.approx(1.0, abs=0.005)


def test_without_a_pose_a_turning_camera_gets_this_frames_floor_not_a_lagging_blend(
        monkeypatch):
    tracker = FloorTracker()
    tracker.update(_plane_points(4000, _up(30), 1.2))

    def no_ransac(*_args, **_kwargs):
        raise AssertionError("RANSAC ran: the last floor should still fit")

    monkeypatch.setattr("spatial_vqa_ros.core.floor.detect_floor", no_ransac)
    for step in range(1, 9):  # 0.2 deg a frame: the last floor fits, but has moved
        pitch = 30 + 0.2 * step
        frame = tracker.update(_plane_points(4000, _up(pitch), 1.2))
    assert np.degrees(frame.pitch_rad) == pytest.approx(pitch, abs=0.05)


def test_a_still_cameras_noise_is_smoothed():
    tracker = FloorTracker()
    up = _up(30)
    tracker.update(_plane_points(4000, up, 1.0))
    before = tracker.floor.offset_m
    tracker.update(_plane_points(4000, up, 1.002))  # 2 mm: within the noise gate
    assert tracker.floor.offset_m == pytest.approx(0.7 * before + 0.3 * 1.002, abs=2e-4)


@pytest.mark.parametrize(("motion", "message"), [
    (np.eye(3), "must be a finite 4x4 transform, got shape \\(3, 3\\)"),
    (np.full((4, 4), np.nan), "must be a finite 4x4 transform"),
    (np.diag([2.0, 1.0, 1.0, 1.0]), "must be a rigid transform"),
    (np.diag([-1.0, 1.0, 1.0, 1.0]), "must be a rigid transform"),
], ids=["3x3", "nan", "scaled", "mirrored"])
def test_a_bad_camera_motion_is_refused_by_name(motion, message):
    tracker = FloorTracker()
    with pytest.raises(CoreError, match=f"previous_from_current {message}"):
        tracker.update(_plane_points(1000, _up(30), 1.0), motion)


@pytest.mark.parametrize("field", ["ransac_points", "max_points", "ransac_iterations",
                                   "max_planes"])
def test_a_floor_config_with_no_points_or_iterations_is_refused(field):
    with pytest.raises(CoreError, match=f"FloorConfig.{field} must be >= 1"):
        FloorConfig(**{field: 0})

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.core.errors import CoreError

K = [525.0, 0.0, 319.5, 0.0, 525.0, 239.5, 0.0, 0.0, 1.0]


def test_from_camera_info_reads_k_row_major():
    cam = CameraIntrinsics.from_camera_info(K, [0] * 5, 640, 480)
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (525.0, 525.0, 319.5, 239.5)
    assert not cam.is_distorted


def test_rays_of_undistorted_camera_are_pinhole():
    cam = CameraIntrinsics.from_camera_info(K, [], 640, 480)
    rays = cam.rays()
    assert rays.shape == (480, 640, 3)
    np.testing.assert_allclose(rays[239, 319], [-0.5 / 525, -0.5 / 525, 1.0], atol=1e-7)
    np.testing.assert_allclose(rays[0, 0], [-319.5 / 525, -239.5 / 525, 1.0], rtol=1e-6)


@pytest.mark.parametrize("model,d", [
    ("plumb_bob", [-0.28, 0.07, 0.001, -0.0005, 0.0]),
    ("rational_polynomial", [0.2, -0.1, 0.0005, 0.0002, 0.01, 0.25, -0.05, 0.02]),
])
def test_distorted_rays_reproject_to_their_pixel(model, d):
    cam = CameraIntrinsics.from_camera_info(K, d, 640, 480, distortion_model=model)
    rays = cam.rays()
    v, u = np.mgrid[0:480:37, 0:640:41]
    points = rays[v, u].reshape(-1, 3) * 2.5
    ok = np.isfinite(points).all(axis=1)
    assert ok.mean() > 0.95
    uv = cam.project(points[ok])
    np.testing.assert_allclose(uv, np.stack([u.ravel(), v.ravel()], 1)[ok], atol=0.05)


def test_unsupported_distortion_model_is_refused_with_advice():
    with pytest.raises(CoreError, match="equidistant.*not supported.*rectify"):
        CameraIntrinsics.from_camera_info(K, [0.1, 0.0, 0.0, 0.0], 640, 480,
                                          distortion_model="equidistant")


def test_zero_k_is_refused():
    with pytest.raises(CoreError, match="invalid focal lengths"):
        CameraIntrinsics.from_camera_info([0.0] * 9, [], 640, 480)


def test_bad_k_length_is_refused():
    with pytest.raises(CoreError, match="9 entries"):
        CameraIntrinsics.from_camera_info([1.0] * 4, [], 640, 480)


def test_rays_of_a_huge_camera_are_not_kept():
    """One 8K still must not pin its rays (12 bytes a pixel) for the rest of a run."""
    from spatial_vqa_ros.core import camera as camera_module
    from spatial_vqa_ros.core.objects import _grid_rays, _grid_rays_cached

    camera_module._rays_for.cache_clear()
    _grid_rays_cached.cache_clear()
    small = CameraIntrinsics(64, 48, 50.0, 50.0, 31.5, 23.5)
    huge = CameraIntrinsics(2600, 1600, 2000.0, 2000.0, 1299.5, 799.5)
    assert huge.width * huge.height > camera_module.RAYS_CACHE_MAX_PIXELS
    assert small.rays() is small.rays()  # cached
    big_rays = huge.rays()
    assert big_rays.shape == (1600, 2600, 3) and np.isfinite(big_rays).all()
    assert camera_module._rays_for.cache_info().currsize == 1  # only the small camera
    _grid_rays(huge, 8)
    _grid_rays(small, 1)
    assert _grid_rays_cached.cache_info().currsize == 1
    np.testing.assert_array_equal(big_rays[::8, ::8].reshape(-1, 3), _grid_rays(huge, 8)[0])

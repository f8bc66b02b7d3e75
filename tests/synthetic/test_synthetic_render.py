"""Ray-cast rendering and the depth noise model of spatial_vqa_ros.synthetic.

What a render shows; how long it takes is a figure of bench/bench_render.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.synthetic import (
    CameraPose,
    DepthNoise,
    Primitive,
    SyntheticError,
    SyntheticScene,
    apply_noise,
    random_scene,
    render,
)
from spatial_vqa_ros.synthetic.render import depth_edges

CAMERA = CameraIntrinsics(width=640, height=480, fx=600.0, fy=600.0, cx=319.5, cy=239.5)
LEVEL_POSE = CameraPose.from_angles([0.0, 0.0, 1.0], yaw_rad=0.0, pitch_rad=0.0)


def test_depth_of_a_box_face_is_the_analytic_z_depth() -> None:
    wall = Primitive(1, "cabinet", "box", [3.0, 0.0, 1.0], (0.5, 2.0, 2.0))
    frame = render(SyntheticScene((wall,), CAMERA, LEVEL_POSE))
    on_wall = frame.instance_ids == 1
    assert on_wall.sum() > 100_000
    np.testing.assert_allclose(frame.depth_m[on_wall], 2.75, atol=1e-4)
    assert frame.depth_m.dtype == np.float32
    assert frame.instance_ids.dtype == np.int32


def test_floor_depth_is_the_optical_z_not_the_ray_length() -> None:
    pose = CameraPose.from_angles([0.5, -0.3, 1.2], yaw_rad=0.4, pitch_rad=0.5, roll_rad=0.05)
    frame = render(SyntheticScene((), CAMERA, pose))
    floor = np.isfinite(frame.depth_m)
    assert floor.mean() > 0.5
    points_cam = frame.depth_m[floor, None].astype(np.float64) * CAMERA.rays()[floor]
    np.testing.assert_allclose(pose.cam_to_world(points_cam)[:, 2], 0.0, atol=1e-4)
    assert (frame.instance_ids == 0).all()


def test_every_instance_pixel_lies_on_the_surface_of_its_primitive() -> None:
    scene = random_scene(np.random.default_rng(11))
    frame = render(scene)
    assert frame.id_to_label == {o.id: o.label for o in scene.objects}
    assert set(np.unique(frame.instance_ids)) <= {0, *frame.id_to_label}
    rays = scene.camera.rays()
    for primitive in scene.objects:
        mask = frame.instance_ids == primitive.id
        points_cam = frame.depth_m[mask, None].astype(np.float64) * rays[mask]
        local = primitive.to_local(scene.pose.cam_to_world(points_cam))
        if primitive.kind == "box":
            inside = np.abs(local) <= np.array(primitive.dims) / 2 + 1e-3
            assert inside.all()
            assert (np.abs(np.abs(local) - np.array(primitive.dims) / 2) < 1e-3).any(axis=1).all()
        elif primitive.kind == "cylinder":
            radius, height = primitive.dims
            assert (np.hypot(local[:, 0], local[:, 1]) <= radius + 1e-3).all()
            assert (np.abs(local[:, 2]) <= height / 2 + 1e-3).all()
        else:
            np.testing.assert_allclose(np.linalg.norm(local, axis=1), primitive.dims[0],
                                       atol=2e-3)


def test_rays_honour_lens_distortion() -> None:
    distorted = CameraIntrinsics(640, 480, 600.0, 600.0, 319.5, 239.5, "plumb_bob",
                                 (-0.25, 0.08, 1e-3, -1e-3, 0.0))
    corners_cam = np.array([[-1.0, -0.7, 2.0], [1.0, -0.7, 2.0], [-1.0, 0.7, 2.0],
                            [1.0, 0.7, 2.0], [0.1, 0.05, 2.0]])
    spheres = tuple(Primitive(i + 1, "orange", "sphere", LEVEL_POSE.cam_to_world(p[None])[0],
                              (0.02,)) for i, p in enumerate(corners_cam))
    frame_distorted = render(SyntheticScene(spheres, distorted, LEVEL_POSE))
    frame_pinhole = render(SyntheticScene(spheres, CAMERA, LEVEL_POSE))
    pixels = np.round(distorted.project(corners_cam)).astype(int)
    pinhole_pixels = np.round(CAMERA.project(corners_cam)).astype(int)
    assert (np.linalg.norm(pixels - pinhole_pixels, axis=1)[:4] > 20).all()  # really distorted
    for sphere, (u, v) in zip(spheres, pixels):
        assert frame_distorted.instance_ids[v, u] == sphere.id
    for sphere, (u, v) in zip(spheres[:4], pixels[:4]):
        assert frame_pinhole.instance_ids[v, u] != sphere.id


def test_rgb_is_a_shaded_image_with_objects_distinct_from_the_floor() -> None:
    red = Primitive(1, "ball", "sphere", [2.0, 0.0, 0.3], (0.3,), color=(220, 30, 30))
    frame = render(SyntheticScene((red,), CAMERA, CameraPose.from_angles([0, 0, 1.0], 0, 0.3)))
    assert frame.rgb.shape == (480, 640, 3)
    assert frame.rgb.dtype == np.uint8
    ball = frame.rgb[frame.instance_ids == 1].astype(int)
    assert (ball[:, 0] > ball[:, 1] + 40).all()  # red everywhere, lit or not
    assert ball[:, 0].std() > 5  # shaded, not flat
    floor = frame.rgb[(frame.instance_ids == 0) & np.isfinite(frame.depth_m)].astype(int)
    assert np.abs(floor[:, 0] - floor[:, 1]).max() <= 1  # grey


def test_noise_sigma_is_the_coefficient_times_depth_squared_and_quantised() -> None:
    depth = np.full((300, 400), 2.0, np.float32)
    noisy = apply_noise(depth, DepthNoise(), np.random.default_rng(0))
    valid = np.isfinite(noisy)
    assert 0.99 < valid.mean() < 0.9999  # only the random dropouts
    assert np.std(noisy[valid]) == pytest.approx(0.0015 * 4, rel=0.2)
    assert np.mean(noisy[valid]) == pytest.approx(2.0, abs=1e-3)
    millimetres = noisy[valid].astype(np.float64) * 1000
    np.testing.assert_allclose(millimetres, np.round(millimetres), atol=1e-3)


def test_noise_drops_half_of_the_pixels_at_depth_edges() -> None:
    depth = np.full((200, 200), 1.0, np.float32)
    depth[:, 100:] = 1.5
    depth[:, 150:] = 1.52  # a 2 cm step is not an edge
    edges = depth_edges(depth, 0.05)
    assert edges.sum() == 2 * 200 and edges[:, [99, 100]].all()
    noisy = apply_noise(depth, DepthNoise(), np.random.default_rng(1))
    assert np.isnan(noisy[edges]).mean() == pytest.approx(0.5, abs=0.1)
    assert np.isnan(noisy[~edges]).mean() < 0.01


def test_noise_is_reproducible_and_needs_an_rng_in_render() -> None:
    scene = random_scene(np.random.default_rng(4))
    with pytest.raises(SyntheticError, match="needs rng"):
        render(scene, DepthNoise())
    a = render(scene, DepthNoise(), np.random.default_rng(9))
    b = render(scene, DepthNoise(), np.random.default_rng(9))
    np.testing.assert_array_equal(a.depth_m, b.depth_m)
    clean = render(scene)
    assert np.isnan(a.depth_m).sum() > np.isnan(clean.depth_m).sum()
    np.testing.assert_array_equal(a.instance_ids, clean.instance_ids)
    assert not np.any(a.depth_m > 10.0)

"""The numpy RANSAC is open3d's segment_plane, draw for draw: same planes, same order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from spatial_vqa_ros.core.errors import CoreError
from spatial_vqa_ros.core.plane_ransac import Mt19937Stream, segment_plane

o3d = pytest.importorskip("open3d")

_LOCK = threading.Lock()


@contextmanager
def _open3d_seeded(seed: int = 0) -> Iterator[None]:
    """open3d's RANSAC on one thread, its global engine seeded (what floor.py did)."""
    with _LOCK:
        previous = o3d.utility.get_max_threads()
        o3d.utility.set_max_threads(1)
        o3d.utility.random.seed(seed)
        try:
            yield
        finally:
            o3d.utility.set_max_threads(previous)


def _open3d_planes(point_sets: list[np.ndarray], threshold: float, iterations: int,
                   seed: int = 0) -> list[np.ndarray]:
    with _open3d_seeded(seed):
        return [np.asarray(o3d.geometry.PointCloud(o3d.utility.Vector3dVector(p))
                           .segment_plane(threshold, 3, iterations)[0]) for p in point_sets]


def _room(rng: np.random.Generator, n: int) -> np.ndarray:
    """A noisy floor, two walls and clutter: planes of several sizes, no dominant one."""
    floor = np.column_stack([rng.uniform(-2, 2, n), 1.2 + rng.normal(0, 0.004, n),
                             rng.uniform(1, 5, n)])
    back = np.column_stack([rng.uniform(-2, 2, n // 2), rng.uniform(-1, 1.2, n // 2),
                            np.full(n // 2, 5.0)])
    side = np.column_stack([np.full(n // 3, -2.0), rng.uniform(-1, 1.2, n // 3),
                            rng.uniform(1, 5, n // 3)])
    clutter = rng.uniform([-2, -1, 1], [2, 1.2, 5], (n // 4, 3))
    return np.vstack([floor, back, side, clutter])


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_three_planes_from_one_stream_are_open3ds_three_planes(seed):
    rng = np.random.default_rng(seed)
    points = _room(rng, 900)
    # a frame's calls share one engine: the second call continues the first's draws
    point_sets = [points, points[points[:, 1] < 1.15], points[::3]]
    want = _open3d_planes(point_sets, 0.02, 300, seed)
    stream = Mt19937Stream(seed)
    got = [segment_plane(p, 0.02, 300, stream) for p in point_sets]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-12)


def test_a_dominant_plane_stops_early_as_open3d_does():
    rng = np.random.default_rng(3)
    flat = np.column_stack([rng.uniform(-1, 1, 500), np.full(500, 0.8), rng.uniform(1, 3, 500)])
    points = np.vstack([flat, rng.uniform(-1, 1, (20, 3))])  # 96% inliers: a few iterations
    follow_up = rng.uniform(-1, 1, (50, 3))  # shows whether both drew as many numbers
    want = _open3d_planes([points, follow_up], 0.01, 1000)
    stream = Mt19937Stream(0)
    got = [segment_plane(points, 0.01, 1000, stream), segment_plane(follow_up, 0.01, 1000,
                                                                      stream)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [3, 8, 12])
def test_tiny_clouds_redraw_repeated_indices_as_open3d_does(n):
    # with so few points many triples repeat an index and are drawn again; the points
    # are noisy so that planes of equal support differ in their inlier RMS by more than
    # rounding (open3d's tie-break)
    rng = np.random.default_rng(n)
    points = np.column_stack([rng.uniform(-1, 1, n), rng.normal(0, 0.003, n),
                              rng.uniform(1, 2, n)])
    points[0, 1] = 0.5  # one point off the plane
    want = _open3d_planes([points, points], 0.05, 50)
    stream = Mt19937Stream(0)
    for w in want:
        np.testing.assert_allclose(segment_plane(points, 0.05, 50, stream), w, rtol=0,
                                   atol=1e-12)


def test_the_stream_is_the_standard_mt19937():
    # C++ [rand.predef]: the 10000th output of a default-constructed mt19937
    stream = Mt19937Stream(5489)
    assert int(stream.peek(10000)[-1]) == 4123659995
    stream.consume(9999)
    assert int(stream.peek(1)[0]) == 4123659995


def test_collinear_points_give_no_plane():
    line = np.column_stack([np.linspace(0, 1, 10), np.zeros(10), np.zeros(10)])
    assert np.isnan(segment_plane(line, 0.01, 20, Mt19937Stream(0))).all()


@pytest.mark.parametrize("points", [np.zeros((2, 3)), np.zeros((10, 2))], ids=["two", "2d"])
def test_too_few_or_not_3d_points_are_refused(points):
    with pytest.raises(CoreError, match=r"segment_plane needs \(N >= 3, 3\) points"):
        segment_plane(points, 0.02, 10, Mt19937Stream(0))

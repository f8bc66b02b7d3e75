"""Metric scale alignment: exact fits, robustness, refusals, and accuracy on rendered scenes.

Rendered depth is corrupted as a monocular metric model would get it wrong (a global
scale in [0.7, 1.4] times a smooth warp ``1 + amplitude * cos(pi (a x + b y) + phase)``
of normalised image coordinates), aligned, run through the geometry core and scored
against exact truth. The acceptance of the issue ("distance and size accuracy within
1 point of exact depth") holds for distances and widths at a +-3 % warp; heights and
vertical distances need a warp of at most +-1 %: the warp tilts the fitted floor, and
no global scale can undo that (the true scale does no better, asserted below).
``bench/bench_scale.py`` prints the figures.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.scale import ScaleFit, align_to_camera_height, align_to_sensor
from spatial_vqa_ros.synthetic.monocular import corrupt, sparse
from spatial_vqa_ros.synthetic.scoring import GeometryScores, render_case, run_pipeline, score_frame

N_SCENES = 20
SETTINGS = ("exact", "corrupted", "true_scale", "height", "sensor")


@pytest.fixture(scope="module")
def cases():
    return [render_case(seed)[1:] for seed in range(N_SCENES)]


def score(cases, amplitude: float) -> tuple[dict[str, dict[str, float]], list[float]]:
    """Summaries per setting over the cases, and |scale error| of every fit."""
    scores = {name: GeometryScores() for name in SETTINGS}
    scale_errors = []
    for k, (rendered, truth) in enumerate(cases):
        rng = np.random.default_rng(k + 2_000_000)
        model, factor = corrupt(rendered.depth_m, rng, amplitude)
        fits = {"height": align_to_camera_height(model, rendered.camera, truth.camera_height_m),
                "sensor": align_to_sensor(model, sparse(rendered.depth_m, rng))}
        depths = {"exact": rendered.depth_m, "corrupted": model, "true_scale": model / factor}
        z = float(np.nanmedian(rendered.depth_m))
        for name, fit in fits.items():
            depths[name] = fit.apply(model)
            scale_errors.append(abs((fit.scale * factor * z + fit.shift_m) / z - 1))
        for name, depth in depths.items():
            result = run_pipeline(dataclasses.replace(rendered, depth_m=depth))
            score_frame(scores[name], result, truth)
    return {name: s.summary() for name, s in scores.items()}, scale_errors


def gap_points(summaries, setting: str, measure: str, reference: str = "exact") -> float:
    """Success rate of ``reference`` minus that of ``setting``, in percentage points."""
    return 100 * (summaries[reference][f"{measure}.success"]
                  - summaries[setting][f"{measure}.success"])


# --- exact fits ---------------------------------------------------------------------------

def test_scale_and_shift_of_an_exact_case_are_recovered():
    rng = np.random.default_rng(0)
    model = rng.uniform(0.5, 8.0, (60, 80))
    fit = align_to_sensor(model, 1.25 * model - 0.1, fit_shift=True)
    assert fit.scale == pytest.approx(1.25, abs=1e-3)
    assert fit.shift_m == pytest.approx(-0.1, abs=1e-3)
    assert fit.method == "sensor" and fit.shift_fitted
    assert fit.residual_m < 1e-6 and fit.points_used == model.size


def test_a_scale_only_fit_recovers_the_scale_and_keeps_no_shift():
    rng = np.random.default_rng(1)
    model = rng.uniform(0.5, 8.0, (60, 80))
    fit = align_to_sensor(model, 0.8 * model, fit_shift=False)
    assert fit.scale == pytest.approx(0.8, abs=1e-3)
    assert fit.shift_m == 0.0 and not fit.shift_fitted


def test_the_camera_height_fixes_the_scale_of_a_rendered_scene(cases):
    rendered, truth = cases[0]
    fit = align_to_camera_height(1.3 * rendered.depth_m, rendered.camera,
                                 truth.camera_height_m)
    assert fit.scale == pytest.approx(1 / 1.3, rel=1e-3)
    assert fit.method == "camera_height" and fit.shift_m == 0.0 and not fit.shift_fitted
    assert np.isnan(fit.residual_m) and fit.points_used > 1000


# --- robustness -----------------------------------------------------------------------------

def test_ten_percent_garbage_does_not_move_the_fit():
    rng = np.random.default_rng(2)
    model = rng.uniform(0.5, 8.0, (100, 100))
    sensor = 1.2 * model + 0.05
    clean = align_to_sensor(model, sensor, fit_shift=True)
    garbage = rng.random(sensor.shape) < 0.1
    sensor[garbage] = rng.uniform(0.1, 20.0, int(garbage.sum()))
    dirty = align_to_sensor(model, sensor, fit_shift=True)
    assert dirty.scale == pytest.approx(clean.scale, abs=1e-3)
    assert dirty.shift_m == pytest.approx(clean.shift_m, abs=1e-3)
    assert dirty.points_used == pytest.approx(0.9 * model.size, rel=0.02)
    plain = np.polyfit(model.ravel(), sensor.ravel(), 1)  # what least squares alone does
    assert abs(plain[0] - 1.2) > 0.05


def test_flying_pixels_at_depth_edges_do_not_move_the_fit(cases):
    rendered, _ = cases[1]
    rng = np.random.default_rng(3)
    sensor = sparse(rendered.depth_m, rng)
    ids = rendered.instance_ids
    boundary = np.zeros(ids.shape, bool)  # pixels next to another instance (or the floor)
    boundary[:, 1:] |= ids[:, 1:] != ids[:, :-1]
    boundary[1:, :] |= ids[1:, :] != ids[:-1, :]
    edges = boundary & np.isfinite(rendered.depth_m) & (rng.random(ids.shape) < 0.5)
    # between the object and the background, as a stereo or ToF sensor sees them
    sensor[edges] = rendered.depth_m[edges] * rng.uniform(1.1, 2.0, int(edges.sum()))
    assert 0.1 < edges.sum() / np.isfinite(sensor).sum() < 0.5
    fit = align_to_sensor(0.9 * rendered.depth_m, sensor)
    assert fit.scale * 0.9 == pytest.approx(1.0, abs=1e-3)
    assert abs(fit.shift_m) < 1e-3


def test_the_shift_is_fitted_only_when_the_points_allow():
    rng = np.random.default_rng(4)
    wide = rng.uniform(0.5, 8.0, 2000)
    narrow = rng.uniform(2.0, 2.5, 2000)
    assert align_to_sensor(wide, wide).shift_fitted
    assert not align_to_sensor(narrow, narrow).shift_fitted  # scale and shift trade off
    assert not align_to_sensor(wide[:100], wide[:100]).shift_fitted  # too few points


# --- refusals -------------------------------------------------------------------------------

def test_too_few_valid_pairs_are_refused_with_the_counts():
    model = np.full((40, 40), 2.0)
    sensor = np.full((40, 40), np.nan)
    sensor[0, :12] = 2.5
    with pytest.raises(PerceptionError, match="at least 30 pixels .* got 12 valid pairs"):
        align_to_sensor(model, sensor)
    sensor[1, :12] = 2.5
    assert align_to_sensor(model, sensor, min_points=20).scale == pytest.approx(1.25)


def test_sensor_depth_of_another_size_is_refused():
    with pytest.raises(PerceptionError, match="differ in size: upsample the sensor depth"):
        align_to_sensor(np.ones((48, 64)), np.ones((24, 32)))


def test_no_floor_is_refused_with_what_to_do():
    camera = CameraIntrinsics(width=64, height=48, fx=60.0, fy=60.0, cx=32.0, cy=24.0)
    wall = np.full((48, 64), 2.0, np.float32)  # a wall facing the camera
    with pytest.raises(PerceptionError, match="no floor .* point the camera at the floor"):
        align_to_camera_height(wall, camera, 1.2)
    with pytest.raises(PerceptionError, match="camera_height_m must be positive"):
        align_to_camera_height(wall, camera, 0.0)


# --- ScaleFit -------------------------------------------------------------------------------

def test_apply_keeps_nan_and_drops_non_positive_depth():
    fit = ScaleFit(scale=2.0, shift_m=-1.0, method="sensor", residual_m=0.0, points_used=10,
                   shift_fitted=True)
    out = fit.apply(np.array([[np.nan, 0.25, 0.5, 1.0, np.inf]]))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[np.nan, np.nan, np.nan, 1.0, np.nan]])


def test_a_non_positive_scale_is_refused():
    with pytest.raises(PerceptionError, match="finite and positive"):
        ScaleFit(scale=-1.0, shift_m=0.0, method="sensor", residual_m=0.0, points_used=10)


# --- accuracy on rendered scenes ------------------------------------------------------------

def test_a_3_percent_warp_keeps_distances_and_widths_within_1_point_of_exact(cases):
    summaries, scale_errors = score(cases, 0.03)
    for setting in ("height", "sensor"):
        for measure in ("distance", "horizontal_distance", "width"):
            assert gap_points(summaries, setting, measure) <= 1.0, (setting, measure)
            assert gap_points(summaries, "corrupted", measure) > 20.0  # the test has teeth
        # heights and vertical distances are not within 1 point at this warp (5, 12 and
        # 19 points below on these scenes): the warp tilts the floor by up to a few
        # degrees. The true scale does no better: the warp is the limit, not the fit.
        for measure in ("height", "vertical_distance", "vertical_distance_over_5cm"):
            assert gap_points(summaries, setting, measure, reference="true_scale") <= 2.5, \
                (setting, measure)
    assert max(scale_errors) < 0.06


def test_a_1_percent_warp_keeps_distances_and_sizes_within_1_point_of_exact(cases):
    summaries, scale_errors = score(cases, 0.01)
    for setting in ("height", "sensor"):
        # vertical_distance over all pairs is not: truths of a few mm (two cans side by
        # side) turn a 0.1 degree floor tilt into a large relative error.
        for measure in ("distance", "horizontal_distance", "vertical_distance_over_5cm",
                        "width", "height"):
            assert gap_points(summaries, setting, measure) <= 1.0, (setting, measure)
    assert max(scale_errors) < 0.015

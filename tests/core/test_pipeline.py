"""The whole core on rendered frames: accuracy at robust thresholds, and bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.core.capture import Capture, Observations
from spatial_vqa_ros.core.errors import CoreError
from spatial_vqa_ros.core.pipeline import ScenePipeline, scene_frame_id_for
from spatial_vqa_ros.synthetic.render import DepthNoise
from spatial_vqa_ros.synthetic.scoring import GeometryScores, render_case, run_pipeline, score_frame


@pytest.mark.parametrize("noise", [None, DepthNoise()], ids=["exact", "noisy"])
def test_quantities_match_ground_truth_on_rendered_scenes(noise):
    scores = GeometryScores()
    for seed in range(12):
        _, rendered, truth = render_case(1000 + seed, noise)
        score_frame(scores, run_pipeline(rendered), truth)
    s = scores.summary()
    for name in ("distance", "horizontal_distance", "width", "height"):
        assert s[f"{name}.success"] >= 0.9, (name, s[f"{name}.success"])
    assert s["vertical_distance.success"] >= 0.85
    assert s["predicates.accuracy"] >= 0.97
    assert s["direction.within_1h"] >= 0.95
    assert s["floor.missed"] == 0
    assert s["floor.normal_error_deg.p95"] < 1.0
    assert s["floor.height_error_m.p95"] < 0.02
    assert s["coverage"] >= 0.7


def _flat_frame(depth: np.ndarray) -> tuple[Capture, CameraIntrinsics]:
    h, w = depth.shape
    camera = CameraIntrinsics(w, h, 100.0, 100.0, w / 2, h / 2)
    return Capture(np.zeros((h, w, 3), np.uint8), depth.astype(np.float32), camera), camera


def test_all_invalid_depth_gives_unlocalised_objects_and_a_warning():
    frame, _ = _flat_frame(np.full((60, 80), np.nan))
    seg = np.zeros((60, 80), np.int32)
    seg[20:40, 30:50] = 1
    obs = Observations(seg, ("box",), np.ones(1, np.float32), np.array([5]))
    result = ScenePipeline().process(frame, obs)
    (estimate,) = result.estimates
    assert not estimate.localised and "no valid depth" in estimate.reason
    assert np.isnan(estimate.center_scene).all()
    assert any("no valid pixel" in w for w in result.warnings)
    assert not result.scene.floor_found
    assert result.graph.objects == () and result.graph.unlocalised == (("box", estimate.reason),)


def test_no_floor_in_view_falls_back_to_camera_frame():
    # a wall straight ahead: no horizontal plane
    frame, _ = _flat_frame(np.full((60, 80), 2.0))
    seg = np.zeros((60, 80), np.int32)
    seg[20:40, 30:50] = 1
    depth = frame.depth_m.copy()
    depth[20:40, 30:50] = 1.5
    frame = Capture(frame.rgb, depth, frame.camera)
    obs = Observations(seg, ("poster",), np.ones(1, np.float32), np.array([1]))
    result = ScenePipeline().process(frame, obs)
    assert not result.scene.floor_found
    assert any("no floor found" in w for w in result.warnings)
    (obj,) = result.graph.objects
    # x = forward: the front face at 1.5 m; the unseen back is bounded (far_side)
    assert obj.center_scene[0] - obj.extent_scene[0] / 2 == pytest.approx(1.5, abs=0.01)
    assert "far_side" in obj.hidden_causes
    assert obj.box_width_m == pytest.approx(0.3, abs=0.03)  # 20 px at 1.5 m, f = 100


def test_one_pixel_and_empty_masks_are_unlocalised_not_guessed():
    frame, _ = _flat_frame(np.full((60, 80), 2.0))
    seg = np.zeros((60, 80), np.int32)
    seg[10, 10] = 1  # one pixel; label 2 has no pixel at all
    obs = Observations(seg, ("speck", "ghost"), np.ones(2, np.float32), np.array([1, 2]))
    estimates = ScenePipeline().process(frame, obs).estimates
    assert [e.localised for e in estimates] == [False, False]
    assert "valid depth points" in estimates[0].reason and "no pixels" in estimates[1].reason


def test_nan_inf_and_zero_depth_inside_a_mask_are_ignored():
    _, rendered, truth = render_case(3)
    depth = rendered.depth_m.copy()
    rng = np.random.default_rng(0)
    holes = rng.random(depth.shape) < 0.1
    depth[holes] = np.nan  # depth_to_metres turns 0 and inf into NaN the same way
    obs = Observations.from_instance_image(rendered.instance_ids, rendered.id_to_label)
    clean = ScenePipeline().process(Capture(rendered.rgb, rendered.depth_m, rendered.camera),
                                    obs).estimates
    holed = ScenePipeline().process(Capture(rendered.rgb, depth, rendered.camera),
                                    obs).estimates
    # every object the clean frame localises is still localised, at the same place
    assert len(clean) >= 4 and all(e.localised for e in clean)
    assert [(e.source_id, e.localised, e.partial) for e in holed] == \
        [(e.source_id, e.localised, e.partial) for e in clean]
    for e, c in zip(holed, clean):
        assert np.isfinite(e.center_scene).all() and np.isfinite(e.box_height_m)
        np.testing.assert_allclose(e.center_scene, c.center_scene, atol=0.02)
    whole = [e for e in holed if not e.partial]  # in full view: its height is all there
    assert len(whole) >= 2
    for e in whole:
        t = truth.object(e.source_id)
        assert abs(e.box_height_m - t.extent_scene[2]) < 0.25 * t.extent_scene[2]


def test_segmentation_of_another_size_is_refused():
    frame, _ = _flat_frame(np.full((60, 80), 2.0))
    obs = Observations.empty(30, 40)
    with pytest.raises(CoreError, match="segmentation"):
        ScenePipeline().process(frame, obs)


def test_scene_frame_id_follows_the_camera_name():
    assert scene_frame_id_for("camera_color_optical_frame") == "camera_floor"
    assert scene_frame_id_for("head_rgb_optical_frame") == "head_floor"
    assert scene_frame_id_for("") == "camera_floor"


def test_the_same_frame_always_gives_the_same_floor_and_boxes():
    _, rendered, _ = render_case(11)
    first = run_pipeline(rendered)
    second = run_pipeline(rendered)
    np.testing.assert_array_equal(first.scene.floor_plane_cam, second.scene.floor_plane_cam)
    for a, b in zip(first.estimates, second.estimates, strict=True):
        np.testing.assert_array_equal(a.center_scene, b.center_scene)


def _pose_matrix(pose) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = pose.rotation_world_from_cam, pose.position_world
    return matrix


def test_a_moving_camera_with_its_pose_keeps_an_exact_floor_and_runs_ransac_once(monkeypatch):
    import spatial_vqa_ros.core.floor as floor_module
    from spatial_vqa_ros.synthetic.render import render
    from spatial_vqa_ros.synthetic.scenes import random_sequence

    camera = CameraIntrinsics(320, 240, 280.0, 280.0, 159.5, 119.5)
    scenes = random_sequence(np.random.default_rng(4), 6, camera, max_shift_m=0.5,
                             max_turn_rad=0.3)
    calls = []
    detect = floor_module.detect_floor
    monkeypatch.setattr(floor_module, "detect_floor",
                        lambda *args, **kwargs: calls.append(1) or detect(*args, **kwargs))
    pipeline = ScenePipeline()
    for k, scene in enumerate(scenes):
        rendered = render(scene)
        result = pipeline.process(
            Capture(rendered.rgb, rendered.depth_m, camera, k * 66_000_000),
            Observations.from_instance_image(rendered.instance_ids, rendered.id_to_label),
            _pose_matrix(scene.pose))
        normal_true, height_true = scene.pose.floor_plane_cam()
        assert np.degrees(np.arccos(min(1.0, result.scene.floor_normal_cam @ normal_true))) \
            < 0.05
        assert result.scene.camera_height_m == pytest.approx(height_true, abs=0.002)
    assert len(calls) == 1  # the first frame; the pose carried the floor after it


def test_the_camera_motion_spans_only_consecutive_posed_frames():
    capture, _ = _flat_frame(np.full((60, 80), 2.0))
    obs = Observations(np.zeros((60, 80), np.int32), (), np.ones(0, np.float32),
                       np.zeros(0, np.int64))
    pipeline = ScenePipeline()
    motions = []
    update = pipeline.floor.update
    pipeline.floor.update = lambda points, motion=None: motions.append(motion) or update(
        points, motion)
    first, second = np.eye(4), np.eye(4)
    second[:3, 3] = [0.0, 0.0, 0.5]  # half a metre forward
    stamps = iter(range(1, 100))

    def process(pose):
        pipeline.process(Capture(capture.rgb, capture.depth_m, capture.camera, next(stamps)),
                         obs, pose)

    process(first)
    process(second)
    process(None)  # a frame without a pose breaks the chain
    process(second)
    pipeline.reset()
    process(second)
    assert motions[0] is None and motions[2] is None and motions[3] is None
    assert motions[4] is None
    np.testing.assert_allclose(motions[1], second)  # previous_from_current


@pytest.mark.parametrize(("pose", "message"), [
    (np.eye(3), "world_from_camera must be a finite 4x4 transform, got shape \\(3, 3\\)"),
    (np.diag([1.0, 1.0, 1.0, 0.0]), "world_from_camera must be a rigid transform"),
], ids=["3x3", "last-row"])
def test_a_bad_camera_pose_is_refused_by_name(pose, message):
    capture, _ = _flat_frame(np.full((60, 80), 2.0))
    obs = Observations(np.zeros((60, 80), np.int32), (), np.ones(0, np.float32),
                       np.zeros(0, np.int64))
    with pytest.raises(CoreError, match=message):
        ScenePipeline().process(capture, obs, pose)


def test_the_observations_mask_sources_and_ages_reach_the_estimates_and_the_graph():
    _, rendered, _ = render_case(11)
    obs = Observations.from_instance_image(rendered.instance_ids, rendered.id_to_label)
    n = len(obs)
    sources = tuple("tracked" if k % 2 else "detected" for k in range(n))
    ages = np.array([0.3 * (k % 2) for k in range(n)])
    obs = replace(obs, mask_sources=sources, detection_age_s=ages)
    result = ScenePipeline().process(Capture(rendered.rgb, rendered.depth_m, rendered.camera),
                                     obs)
    assert [(e.mask_source, e.detection_age_s) for e in result.estimates] == \
        [obs.origin(e.index) for e in result.estimates]
    assert {(o.mask_source, o.detection_age_s) for o in result.graph.objects} <= \
        set(zip(sources, ages.tolist()))
    assert any(o.mask_source == "tracked" for o in result.graph.objects)

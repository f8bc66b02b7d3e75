"""Object memory with a pose source: an object that leaves the view stays in the fixed
frame for ``memory_s`` (not 2 s), answers about it say how old its position is, and it
goes when the camera looks where it was and sees empty space (not when it is merely
out of view, occluded or undetected)."""

from __future__ import annotations

import numpy as np
import pytest
from builders import SCENE, est, ns

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.core.capture import Capture, Observations
from spatial_vqa_ros.core.pipeline import ScenePipeline, free_space_check
from spatial_vqa_ros.core.query import answer_question
from spatial_vqa_ros.core.scene_graph import SceneGraphTracker, TrackerConfig
from spatial_vqa_ros.synthetic import render
from spatial_vqa_ros.synthetic.bags import synthetic_scenes

WORLD = np.eye(4)


def turned(degrees: float) -> np.ndarray:
    """A world-from-scene pose: the camera turned about the vertical."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    pose = np.eye(4)
    pose[:2, :2] = [[c, -s], [s, c]]
    return pose


def seen_objects():
    return [est("mug", [2.0, 0.5, 0.05], (0.1, 0.1, 0.1)),
            est("box", [2.5, -0.4, 0.2], (0.4, 0.4, 0.4))]


def test_an_object_out_of_view_is_remembered_with_its_age():
    tracker = SceneGraphTracker()
    for k in range(3):
        tracker.update(seen_objects(), SCENE, ns(k * 0.5), "floor", world_from_scene=WORLD)
    for second in range(2, 32):  # the camera turns away for 30 s: nothing in view
        graph = tracker.update([], SCENE, ns(second), "floor", world_from_scene=turned(90))
    assert sorted(o.label for o in graph.objects) == ["box", "mug"]
    assert not any(o.visible for o in graph.objects)
    answer = answer_question(graph, "How far is the mug from the box?")
    assert answer.success, answer.error
    assert "the mug was last seen 30 s ago" in answer.text
    assert "the box was last seen 30 s ago" in answer.text
    fresh = SceneGraphTracker()
    fresh.update(seen_objects(), SCENE, 0, "floor", world_from_scene=WORLD)
    live = answer_question(fresh.snapshot, "How far is the mug from the box?")
    assert live.success and "last seen" not in live.text
    assert live.value == pytest.approx(answer.value)  # the remembered geometry is the same


def test_without_a_pose_source_objects_go_after_two_seconds():
    tracker = SceneGraphTracker()
    tracker.update(seen_objects(), SCENE, 0, "floor")
    assert len(tracker.update([], SCENE, ns(1.5), "floor").objects) == 2
    assert tracker.update([], SCENE, ns(2.5), "floor").objects == ()


def test_memory_ends_after_memory_s():
    tracker = SceneGraphTracker(TrackerConfig(memory_s=10.0))
    tracker.update(seen_objects(), SCENE, 0, "floor", world_from_scene=WORLD)
    assert len(tracker.update([], SCENE, ns(9.5), "floor", world_from_scene=WORLD).objects) == 2
    assert tracker.update([], SCENE, ns(10.5), "floor", world_from_scene=WORLD).objects == ()


def test_seen_empty_evidence_removes_only_what_it_covers():
    tracker = SceneGraphTracker()
    tracker.update(seen_objects(), SCENE, 0, "floor", world_from_scene=WORLD)
    asked = []

    def empty_where_the_mug_was(points, radii):
        asked.append((points.copy(), radii.copy()))
        return points[:, 1] > 0.2  # the mug (y = 0.5) is seen empty, the box is not

    graph = tracker.update([], SCENE, ns(1), "floor", world_from_scene=WORLD,
                           seen_empty=empty_where_the_mug_was)
    assert [o.label for o in graph.objects] == ["box"]
    points, radii = asked[0]
    assert points.shape == (2, 3) and radii == pytest.approx([0.05, 0.2])
    # a matched (seen) object is never asked about
    tracker.update([seen_objects()[1]], SCENE, ns(2), "floor", world_from_scene=WORLD,
                   seen_empty=lambda points, radii: np.ones(len(points), bool))
    assert [o.label for o in tracker.snapshot.objects] == ["box"]


CAMERA = CameraIntrinsics(64, 48, 50.0, 50.0, 31.5, 23.5, frame_id="cam")


def wall_capture(depth_m: float) -> Capture:
    return Capture(np.zeros((48, 64, 3), np.uint8), np.full((48, 64), depth_m, np.float32),
                   CAMERA, 0)


@pytest.mark.parametrize(("wall_m", "point_cam", "radius", "empty"), [
    (5.0, (0.0, 0.0, 2.0), 0.1, True),       # the view reaches past the place: empty
    (2.05, (0.0, 0.0, 2.0), 0.1, False),     # the object's own surface: still there
    (1.0, (0.0, 0.0, 2.0), 0.1, False),      # something in front hides it: unknown
    (float("nan"), (0.0, 0.0, 2.0), 0.1, False),  # no depth: unknown
    (5.0, (0.0, 0.0, -2.0), 0.1, False),     # behind the camera: not in view
    (5.0, (10.0, 0.0, 2.0), 0.1, False),     # outside the image: not in view
    (2.3, (0.0, 0.0, 2.0), 0.3, False),      # within its size + margin: not enough
])
def test_free_space_is_evidence_only_when_the_view_passes_through(wall_m, point_cam, radius,
                                                                  empty):
    from spatial_vqa_ros.core.scene_frame import camera_aligned_frame

    scene = camera_aligned_frame()
    point_scene = scene.to_scene(np.array([point_cam], np.float32))
    check = free_space_check(wall_capture(wall_m), scene)
    assert bool(check(point_scene, np.array([radius]))[0]) == empty


def test_a_rendered_object_that_was_taken_away_is_forgotten_and_a_missed_one_is_not():
    scene = synthetic_scenes("scene", 1, 6, width=320, height=240)[0]
    rendered = render(scene)
    labels = rendered.id_to_label
    pipeline = ScenePipeline()
    first = pipeline.process(Capture(rendered.rgb, rendered.depth_m, rendered.camera, ns(0)),
                             Observations.from_instance_image(rendered.instance_ids, labels),
                             np.eye(4))
    suitcase = next(o for o in first.graph.objects if o.label == "suitcase")
    globe_id = next(i for i, label in labels.items() if label == "globe")
    suitcase_id = next(i for i, label in labels.items() if label == "suitcase")
    # the globe is still there but the detector misses it; the suitcase is taken away
    without = type(scene)(tuple(o for o in scene.objects if o.label != "suitcase"),
                          scene.camera, scene.pose)
    later = render(without)
    ids = np.where(np.isin(later.instance_ids, [globe_id, suitcase_id]), 0,
                   later.instance_ids)
    second = pipeline.process(Capture(later.rgb, later.depth_m, later.camera, ns(1)),
                              Observations.from_instance_image(ids, labels), np.eye(4))
    kept = {o.label: o for o in second.graph.objects}
    assert "suitcase" not in kept, "seen empty: the camera looks through where it stood"
    assert "globe" in kept and not kept["globe"].visible  # undetected, but depth shows it
    assert suitcase.id not in {o.id for o in second.graph.objects}


def world_from_camera(pose) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = pose.rotation_world_from_cam, pose.position_world
    return matrix


def test_the_camera_turns_away_and_back_to_an_empty_place():
    """Rendered end to end: objects seen, the camera turns away (30 s, nothing in view),
    a query answers from memory with the age, the camera turns back to find the
    suitcase gone: it is forgotten, the objects still there are seen again."""
    from spatial_vqa_ros.synthetic.scenes.primitives import CameraPose

    scene = synthetic_scenes("scene", 1, 6, width=320, height=240)[0]
    labels = render(scene).id_to_label
    pipeline = ScenePipeline()

    def process(a_scene, seconds):
        frame = render(a_scene)
        return pipeline.process(
            Capture(frame.rgb, frame.depth_m, frame.camera, ns(seconds)),
            Observations.from_instance_image(frame.instance_ids, labels),
            world_from_camera(a_scene.pose)).graph

    before = process(scene, 0)
    assert "suitcase" in {o.label for o in before.objects}
    eye = scene.pose.position_world
    forward = scene.pose.rotation_world_from_cam[:, 2] * [1.0, 1.0, 0.0]  # on the floor
    away = CameraPose.looking_at(eye, eye - 3.0 * forward)  # turned round: nothing in view
    turned_scene = type(scene)(scene.objects, scene.camera, away)
    for second in range(1, 31):
        during = process(turned_scene, second)
    assert {o.label for o in during.objects} == {o.label for o in before.objects}
    assert not any(o.visible for o in during.objects)
    answer = answer_question(during, "How far is the suitcase from the globe?")
    assert answer.success and "the suitcase was last seen 30 s ago" in answer.text
    gone = type(scene)(tuple(o for o in scene.objects if o.label != "suitcase"),
                       scene.camera, scene.pose)
    after = process(gone, 31)
    labels_after = {o.label: o for o in after.objects}
    assert "suitcase" not in labels_after
    assert labels_after["globe"].visible

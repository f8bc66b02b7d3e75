from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from builders import SCENE, est, ns

from spatial_vqa_ros.core.errors import UnknownObjectError
from spatial_vqa_ros.core.scene_graph import SceneGraphTracker, TrackerConfig


def test_ids_are_stable_across_frames_and_noise_averages_out():
    tracker = SceneGraphTracker()
    rng = np.random.default_rng(0)
    ids = set()
    for k in range(20):
        noise = rng.normal(0, 0.004, 3)
        graph = tracker.update([est("mug", [2.0, 0.3, 0.1] + noise),
                                est("box", [3.0, -0.5, 0.2])], SCENE, ns(k * 0.1), "camera_floor")
        ids.add(tuple(o.id for o in graph.objects))
    assert ids == {(1, 2)}
    mug = graph.find("mug")
    assert mug.observation_count == 20
    assert np.linalg.norm(mug.center_scene - [2.0, 0.3, 0.1]) < 0.004


def test_moving_object_is_followed_not_averaged():
    tracker = SceneGraphTracker()
    for k in range(10):
        graph = tracker.update([est("gripper", [1.0 + 0.05 * k, 0, 0.3])], SCENE, ns(k * 0.1), "f")
    assert graph.find("gripper").center_scene[0] == pytest.approx(1.45)
    assert graph.find("gripper").id == 1


def test_objects_not_seen_are_removed_after_the_timeout():
    tracker = SceneGraphTracker(TrackerConfig(remove_after_s=1.0))
    tracker.update([est("mug", [2, 0, 0])], SCENE, ns(0.0), "f")
    graph = tracker.update([], SCENE, ns(0.5), "f")
    assert len(graph.objects) == 1 and not graph.objects[0].visible
    graph = tracker.update([], SCENE, ns(1.6), "f")
    assert graph.objects == ()


def test_a_partial_view_does_not_overwrite_a_complete_one():
    tracker = SceneGraphTracker()
    tracker.update([est("box", [2, 0, 0.2], (0.4, 0.4, 0.4))], SCENE, ns(0.0), "f")
    graph = tracker.update([est("box", [2, 0.05, 0.2], (0.4, 0.2, 0.4), partial=True)],
                           SCENE, ns(0.1), "f")
    box = graph.find("box")
    assert not box.partial and box.box_width_m == pytest.approx(0.4)


def test_repeated_labels_get_unique_left_right_names():
    tracker = SceneGraphTracker()
    graph = tracker.update([est("chair", [2, 1.0, 0]), est("chair", [2, -1.0, 0]),
                            est("chair", [2, 0.0, 0]), est("mug", [1, 0, 0])], SCENE, ns(0), "f")
    names = {o.description for o in graph.objects}
    assert names == {"the leftmost chair", "the second chair from the left",
                     "the rightmost chair", "the mug"}
    assert graph.find("the leftmost chair").center_scene[1] == 1.0
    assert graph.find("#4").label == "mug"


def test_same_side_repeats_are_named_by_range():
    tracker = SceneGraphTracker()
    graph = tracker.update([est("cup", [1.0, 0.0, 0]), est("cup", [3.0, 0.01, 0])],
                           SCENE, ns(0), "f")
    assert graph.find("the cup nearer the camera").center_scene[0] == 1.0
    assert graph.find("the cup farther from the camera").center_scene[0] == 3.0


def test_unknown_and_ambiguous_names_list_the_known_objects():
    tracker = SceneGraphTracker()
    graph = tracker.update([est("chair", [2, 1.0, 0]), est("chair", [2, -1.0, 0]),
                            est("mug", [1, 0, 0])], SCENE, ns(0), "f")
    with pytest.raises(UnknownObjectError, match="no object called 'sofa'.*the left chair"):
        graph.find("sofa")
    with pytest.raises(UnknownObjectError, match="ambiguous.*the left chair.*the right chair"):
        graph.find("chair")
    assert graph.find("The MUG").label == "mug"


def test_snapshots_are_immutable_values():
    tracker = SceneGraphTracker()
    first = tracker.update([est("mug", [2, 0, 0])], SCENE, ns(0), "f")
    tracker.update([est("mug", [2.5, 0, 0])], SCENE, ns(0.1), "f")
    assert first.find("mug").center_scene[0] == 2.0
    with pytest.raises(AttributeError):
        first.objects = ()


def test_each_object_carries_its_latest_mask_source_and_detection_age():
    tracker = SceneGraphTracker(TrackerConfig(remove_after_s=5.0))
    tracker.update([est("mug", [2, 0, 0]), est("box", [3, -0.5, 0.2])], SCENE, ns(0.0), "f")
    graph = tracker.update([replace(est("mug", [2, 0, 0]), mask_source="tracked",
                                    detection_age_s=0.2)], SCENE, ns(0.2), "f")
    mug, box = graph.find("mug"), graph.find("box")
    assert (mug.mask_source, mug.detection_age_s, mug.visible) == ("tracked", 0.2, True)
    # not seen on this frame: no mask of it here, its age as at its latest view
    assert (box.mask_source, box.detection_age_s, box.visible) == ("", 0.0, False)
    graph = tracker.update([est("mug", [2, 0, 0])], SCENE, ns(0.4), "f")  # a keyframe
    assert (graph.find("mug").mask_source, graph.find("mug").detection_age_s) == ("detected",
                                                                                   0.0)

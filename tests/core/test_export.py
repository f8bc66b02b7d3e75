"""Scene records (the scene JSON): what each object says about its mask, and old
versions read as this one spells them."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from builders import SCENE, est, ns

from spatial_vqa_ros.core.errors import CoreError
from spatial_vqa_ros.core.export import SCHEMA_VERSION, frame_record, read_scene_record
from spatial_vqa_ros.core.pipeline import FrameResult
from spatial_vqa_ros.core.scene_graph import SceneGraphTracker


def _record() -> dict:
    tracker = SceneGraphTracker()
    tracker.update([est("mug", [2, 0, 0]), est("box", [3, -0.5, 0.2])], SCENE, ns(0.0), "f")
    graph = tracker.update([replace(est("mug", [2, 0, 0]), mask_source="tracked",
                                    detection_age_s=0.25)], SCENE, ns(0.25), "f")
    return json.loads(json.dumps(frame_record(FrameResult(SCENE, (), graph), ns(0.25))))


def test_each_object_says_whether_its_mask_was_tracked_and_how_old_its_detection_is():
    record = _record()
    assert record["schema"] == SCHEMA_VERSION == 4
    (mug,) = record["objects"]  # the box is out of view: not in the record
    assert (mug["label"], mug["mask_source"], mug["detection_age_s"]) == ("mug", "tracked",
                                                                         0.25)
    assert read_scene_record(record) == record  # this version round-trips unchanged


def test_a_version_2_record_reads_as_detected_on_its_frame():
    old = _record()
    old["schema"] = 2
    for o in old["objects"]:
        del o["mask_source"], o["detection_age_s"]
    read = read_scene_record(old)
    assert read["schema"] == 4
    assert [(o["mask_source"], o["detection_age_s"]) for o in read["objects"]] == [
        ("detected", 0.0)]
    assert "mask_source" not in old["objects"][0]  # the caller's record is left alone


@pytest.mark.parametrize("schema", [1, 5, None, "3"])
def test_a_record_of_another_version_is_refused_by_version(schema):
    record = {**_record(), "schema": schema}
    with pytest.raises(CoreError, match=f"scene record schema {schema!r} is not one"):
        read_scene_record(record)


def test_each_object_records_what_the_camera_cannot_see_of_it():
    """Schema 4: hidden parts (direction, reach interval, cause) go into the record, so a
    reader of the scene JSON sees the bounds the gate applies."""
    shelf = replace(est("shelf", [3, 0, 0.5], (0.4, 0.8, 1.0)),
                    hidden_directions=np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
                    hidden_reach_m=np.array([[0.0, 1.5], [-0.2, 0.2]]),
                    hidden_causes=("occluded", "far_side"))
    tracker = SceneGraphTracker()
    graph = tracker.update([shelf, est("mug", [2, 0, 0])], SCENE, ns(0.0), "f")
    record = json.loads(json.dumps(frame_record(FrameResult(SCENE, (), graph), ns(0.0))))
    by_label = {o["label"]: o for o in record["objects"]}
    assert by_label["shelf"]["hidden"] == [
        {"direction": [0.0, 0.0, 1.0], "reach_m": [0.0, 1.5], "cause": "occluded"},
        {"direction": [1.0, 0.0, 0.0], "reach_m": [-0.2, 0.2], "cause": "far_side"}]
    assert by_label["mug"]["hidden"] == []


def test_a_version_3_record_reads_with_nothing_recorded_as_hidden():
    old = _record()
    old["schema"] = 3
    for o in old["objects"]:
        del o["hidden"]
    read = read_scene_record(old)
    assert read["schema"] == 4
    assert [o["hidden"] for o in read["objects"]] == [[]]

"""Core scene objects to messages and back: what each object says about its mask."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

pytest.importorskip("spatial_vqa_ros.msg", reason="interfaces not built (colcon build)")

from builders import SCENE, est, ns

from spatial_vqa_ros.core.scene_graph import SceneGraphTracker
from spatial_vqa_ros.nodes.conversions import scene_object_to_msg
from spatial_vqa_ros.nodes.msg_to_core import scene_object_from_msg

pytestmark = pytest.mark.ros


def _graph():
    tracker = SceneGraphTracker()
    tracker.update([est("mug", [2, 0, 0]), est("box", [3, -0.5, 0.2])], SCENE, ns(0.0), "f")
    return tracker.update([replace(est("mug", [2, 0, 0]), mask_source="tracked",
                                   detection_age_s=0.75)], SCENE, ns(0.5), "f")


def test_the_mask_source_and_detection_age_go_into_the_message_and_back():
    graph = _graph()
    mug, box = (scene_object_to_msg(graph.find(n)) for n in ("mug", "box"))
    assert (mug.mask_source, mug.detection_age_s, mug.visible) == ("tracked", 0.75, True)
    assert (box.mask_source, box.detection_age_s, box.visible) == ("", 0.0, False)
    back = scene_object_from_msg(mug)
    assert (back.mask_source, back.detection_age_s) == ("tracked", 0.75)


def test_an_object_recorded_before_the_fields_existed_reads_as_detected():
    recorded = scene_object_to_msg(_graph().find("mug"))
    fields = {name: getattr(recorded, name) for name in recorded.get_fields_and_field_types()}
    del fields["mask_source"], fields["detection_age_s"]
    old = scene_object_from_msg(SimpleNamespace(**fields))
    assert (old.mask_source, old.detection_age_s) == ("detected", 0.0)

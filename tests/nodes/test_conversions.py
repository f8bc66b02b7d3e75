"""Core scene objects to messages and back: what each object says about its mask."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("spatial_vqa_ros.msg", reason="interfaces not built (colcon build)")

from builders import SCENE, est, ns

from spatial_vqa_ros.core.errors import CoreError
from spatial_vqa_ros.core.gate import judge_in_graph
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


def _hidden_graph():
    """A cabinet whose far side is bounded to +-0.3 m and a box that may continue 0.5 m
    left behind an occluder (issue 22), and a mug between them."""
    cabinet = replace(est("cabinet", [3.0, -0.9, 0.9], (0.6, 0.8, 1.8)),
                      hidden_directions=np.array([[1.0, 0.0, 0.0]]),
                      hidden_reach_m=np.array([[-0.3, 0.3]]), hidden_causes=("far_side",))
    box = replace(est("box", [2.0, 0.3, 0.2], (0.3, 0.3, 0.4)),
                  hidden_directions=np.array([[0.0, 1.0, 0.0]]),
                  hidden_reach_m=np.array([[0.0, 0.5]]), hidden_causes=("occluded",))
    return SceneGraphTracker().update([cabinet, box, est("mug", [2.75, -0.9, 0.05])], SCENE,
                                      ns(0.0), "f")


def test_hidden_parts_go_into_the_message_and_back_and_the_gate_refuses_the_same():
    graph = _hidden_graph()
    msgs = {o.label: scene_object_to_msg(o) for o in graph.objects}
    cabinet = msgs["cabinet"]
    assert [(d.x, d.y, d.z) for d in cabinet.hidden_directions] == [(1.0, 0.0, 0.0)]
    assert (list(cabinet.hidden_reach_min_m), list(cabinet.hidden_reach_max_m),
            list(cabinet.hidden_causes)) == ([-0.3], [0.3], ["far_side"])
    assert list(msgs["mug"].hidden_causes) == []
    back = {label: scene_object_from_msg(m) for label, m in msgs.items()}
    for relation, a, b in (("horizontal_distance", "cabinet", "mug"), ("width", "box", None),
                           ("distance", "box", "mug"), ("behind", "cabinet", "mug")):
        live = judge_in_graph(graph, relation, graph.find(a), b and graph.find(b))
        read = judge_in_graph(graph, relation, back[a], b and back[b])
        assert (read.reason, read.message, read.truth) == (live.reason, live.message,
                                                           live.truth), relation
    assert judge_in_graph(graph, "horizontal_distance", back["cabinet"],
                          back["mug"]).reason == "far_side"
    assert judge_in_graph(graph, "width", back["box"]).reason == "occluded"


def test_an_object_recorded_before_hidden_parts_existed_reads_as_seen_whole():
    recorded = scene_object_to_msg(_hidden_graph().find("cabinet"))
    fields = {name: getattr(recorded, name) for name in recorded.get_fields_and_field_types()}
    for name in ("hidden_directions", "hidden_reach_min_m", "hidden_reach_max_m",
                 "hidden_causes"):
        del fields[name]
    old = scene_object_from_msg(SimpleNamespace(**fields))
    assert old.hidden_directions.shape == (0, 3) and old.hidden_causes == ()


def test_hidden_arrays_of_different_lengths_are_refused():
    recorded = scene_object_to_msg(_hidden_graph().find("cabinet"))
    fields = {name: getattr(recorded, name) for name in recorded.get_fields_and_field_types()}
    fields["hidden_causes"] = []
    with pytest.raises(CoreError, match="must have one entry per direction"):
        scene_object_from_msg(SimpleNamespace(**fields))

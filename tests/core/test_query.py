from __future__ import annotations

import math

import numpy as np
import pytest
from builders import SCENE, est, ns

from spatial_vqa_ros.core.errors import CoreError
from spatial_vqa_ros.core.query import answer_question, answer_structured, parse_question
from spatial_vqa_ros.core.scene_frame import camera_aligned_frame
from spatial_vqa_ros.core.scene_graph import SceneGraphTracker


@pytest.fixture
def graph():
    tracker = SceneGraphTracker()
    return tracker.update([
        est("mug", [2.0, 0.5, 0.05], (0.08, 0.08, 0.1)),
        est("chair", [3.0, -1.0, 0.45], (0.5, 0.5, 0.9)),
        est("box", [2.5, 0.0, 0.2], (0.4, 0.4, 0.4), partial=True),
    ], SCENE, ns(12.5), "camera_floor")


@pytest.mark.parametrize("question,relation,a,b", [
    ("How far is the mug from the chair?", "distance", "the mug", "the chair"),
    ("what is the distance between the mug and the chair", "distance", "the mug", "the chair"),
    ("how far apart are the mug and the chair?", "distance", "the mug", "the chair"),
    ("What is the horizontal distance between the mug and the chair?", "horizontal_distance",
     "the mug", "the chair"),
    ("what is the vertical distance between the mug and the chair?", "vertical_distance",
     "the mug", "the chair"),
    ("How tall is the chair?", "height", "the chair", ""),
    ("how wide is the chair", "width", "the chair", ""),
    ("Is the mug to the left of the chair?", "left_of", "the mug", "the chair"),
    ("is the mug left of the chair", "left_of", "the mug", "the chair"),
    ("Is the chair behind the mug?", "behind", "the chair", "the mug"),
    ("is the mug in front of the chair?", "in_front_of", "the mug", "the chair"),
    ("is the chair taller than the mug?", "taller", "the chair", "the mug"),
    ("Which is closer to the camera, the mug or the chair?", "closer_to_camera", "the mug",
     "the chair"),
    ("Where is the chair relative to the mug?", "direction", "the mug", "the chair"),
    ("which is taller, the mug or the chair?", "taller", "the mug", "the chair"),
])
def test_phrasings_parse(question, relation, a, b):
    parsed = parse_question(question)
    assert (parsed.relation, parsed.subject, parsed.object) == (relation, a, b)


def test_distance_answer_is_metric_and_rounded(graph):
    answer = answer_question(graph, "how far is the mug from the chair?")
    expected = math.dist([2.0, 0.5, 0.05], [3.0, -1.0, 0.45])
    assert answer.success and answer.unit == "m"
    assert answer.value == pytest.approx(expected)  # exact; the text shows it rounded
    assert f"{expected:.2f} meters" in answer.text
    assert "the mug is" in answer.text.lower()


def test_imperial_units_on_request(graph):
    answer = answer_question(graph, "how tall is the chair?", units="imperial")
    assert answer.unit == "in" and answer.value == pytest.approx(0.9 / 0.0254)
    assert "35 inches" in answer.text


@pytest.mark.parametrize("question,units,unit,value_m", [
    ("how tall is the chair?", "imperial", "in", 0.9),
    ("how wide is the mug?", "metric", "cm", 0.08),
    ("how far is the mug from the chair?", "metric", "m",
     math.dist([2.0, 0.5, 0.05], [3.0, -1.0, 0.45])),
])
def test_value_si_is_metres_whatever_unit_the_text_uses(graph, question, units, unit,
                                                         value_m):
    answer = answer_question(graph, question, units=units)
    assert answer.unit == unit and answer.unit_si == "m"
    assert answer.value_si == pytest.approx(value_m)
    assert answer.value == pytest.approx(value_m / {"in": 0.0254, "cm": 0.01, "m": 1.0}[unit])


def test_direction_value_si_is_the_unrounded_bearing_in_radians(graph):
    answer = answer_question(graph, "where is the chair relative to the mug?")
    # chair - mug = (1.0, -1.5): ahead and to the right, clockwise of ahead = negative
    assert answer.unit_si == "rad" and answer.value_si == pytest.approx(math.atan2(-1.5, 1.0))
    assert answer.value == 2.0  # the clock hour, rounded, as before


def test_predicate_answers_carry_truth(graph):
    yes = answer_question(graph, "is the mug to the left of the chair?")
    assert yes.truth == "true" and yes.text.startswith("Yes")
    no = answer_question(graph, "is the chair left of the mug?")
    assert no.truth == "false" and no.text.startswith("No")
    choice = answer_question(graph, "which is closer to the camera, the chair or the mug?")
    assert choice.truth == "false" and choice.text.startswith("The mug is closer")


def test_direction_answer_uses_clock(graph):
    answer = answer_question(graph, "where is the chair relative to the mug?")
    assert answer.unit == "o'clock" and answer.value == 2.0  # ahead and to the right


def test_size_of_partial_object_is_not_stated(graph):
    answer = answer_question(graph, "how wide is the box?")
    assert not answer.success and "only partly visible" in answer.error
    assert answer_question(graph, "how far is the box from the mug?").success


def test_unknown_object_lists_known_objects(graph):
    answer = answer_question(graph, "how far is the sofa from the mug?")
    assert not answer.success
    assert "no object called 'the sofa'" in answer.error
    assert "the mug" in answer.error and "the chair" in answer.error


def test_relations_that_need_up_fail_without_floor(graph):
    from dataclasses import replace

    no_floor = replace(graph, scene=camera_aligned_frame())
    answer = answer_structured(no_floor, "height", "chair")
    assert not answer.success and "no floor" in answer.error
    assert answer_structured(no_floor, "left_of", "mug", "chair").truth == "true"


def test_same_object_twice_is_refused(graph):
    answer = answer_structured(graph, "distance", "mug", "the mug")
    assert not answer.success and "same object" in answer.error


def test_unparseable_question_explains_what_works():
    with pytest.raises(CoreError, match="could not understand.*how far is"):
        parse_question("what's up?")


def test_answer_value_is_nan_for_predicates(graph):
    answer = answer_question(graph, "is the mug above the chair?")
    assert np.isnan(answer.value) and np.isnan(answer.value_si) and answer.unit_si == ""


def test_direction_between_objects_at_the_same_place_is_unclear():
    tracker = SceneGraphTracker()
    graph = tracker.update([est("box", [2.0, 0.0, 0.2], (0.3, 0.3, 0.4)),
                            est("mug", [2.006, 0.0, 0.45], (0.08, 0.08, 0.1))], SCENE, ns(0), "f")
    answer = answer_question(graph, "where is the mug relative to the box?")
    assert answer.truth == "unclear" and np.isnan(answer.value) and np.isnan(answer.value_si)
    assert (answer.unit, answer.unit_si) == ("o'clock", "rad")


def test_negated_questions_are_refused_not_answered_backwards(graph):
    answer = answer_question(graph, "is the mug not above the chair?")
    assert not answer.success and "negated" in answer.error


def test_difference_in_height_is_vertical(graph):
    answer = answer_question(graph, "what is the difference in height between the mug and "
                                    "the chair?")
    assert answer.relation == "vertical_distance"


def test_objects_out_of_view_are_refused_without_a_camera_pose(graph):
    tracker = SceneGraphTracker()
    tracker.update([est("mug", [2.0, 0.5, 0.05]), est("chair", [3.0, -1.0, 0.45])],
                   SCENE, ns(0.0), "f")
    later = tracker.update([est("chair", [3.0, -1.0, 0.45])], SCENE, ns(0.5), "f")
    answer = answer_question(later, "how far is the mug from the chair?")
    assert not answer.success and "not in view" in answer.error
    fixed = SceneGraphTracker()
    fixed.update([est("mug", [2.0, 0.5, 0.05]), est("chair", [3.0, -1.0, 0.45])], SCENE, ns(0.0),
                 "f", world_from_scene=np.eye(4))
    later = fixed.update([est("chair", [3.0, -1.0, 0.45])], SCENE, ns(0.5), "f",
                         world_from_scene=np.eye(4))
    assert answer_question(later, "how far is the mug from the chair?").success


# --- messages that say what to do (issue 11, item 8) -----------------------------------

def test_a_missing_object_field_is_named(graph):
    answer = answer_structured(graph, "left_of", "mug", "")
    assert not answer.success
    assert answer.error == ("relation left_of needs object: the name of the object (a label, "
                            "a description or #id)")
    both = answer_structured(graph, "distance", " ", "")
    assert "needs subject and object: the name of each object" in both.error
    assert "needs subject" in answer_structured(graph, "height", "", "").error


@pytest.mark.parametrize("spelling", ["Left_Of", " left_of ", "left of", "LEFT-OF"])
def test_relation_names_are_read_case_and_space_insensitively(graph, spelling):
    expected = answer_structured(graph, "left_of", "mug", "box")
    got = answer_structured(graph, spelling, "mug", "box")
    assert got.success and (got.text, got.truth) == (expected.text, expected.truth)


def test_a_huge_name_is_not_echoed_in_full(graph):
    name = "x" * 100_000
    for answer in (answer_structured(graph, "height", name),
                   answer_structured(graph, name, "mug"),
                   answer_question(graph, f"how tall is the {name}?")):
        assert not answer.success
        assert len(answer.error) < 1000 and "(100" in answer.error

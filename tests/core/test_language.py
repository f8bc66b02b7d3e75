from __future__ import annotations

import pytest

from spatial_vqa_ros.core.errors import CoreError
from spatial_vqa_ros.core.language import parse_question

NAMES = ["the left chair", "the right chair", "the mug", "mug", "chair", "the higher shelf"]


@pytest.mark.parametrize("question,expected", [
    # descriptions containing relation words are names, not relations
    ("Is the left chair to the right of the mug?", ("right_of", "the left chair", "the mug")),
    ("how tall is the higher shelf?", ("height", "the higher shelf", "")),
    # framing is ignored
    ("Would you say that the mug is below the right chair?",
     ("below", "the mug", "the right chair")),
    ("True or false: the mug is in front of the left chair.",
     ("in_front_of", "the mug", "the left chair")),
    # direction: the reference is what you stand at / measure from
    ("Where is the left chair relative to the mug?", ("direction", "the mug", "the left chair")),
    ("If you stand at the mug facing the camera's direction, how many degrees to the left or "
     "right is the right chair?", ("direction", "the mug", "the right chair")),
    # measures by keyword, vertical before horizontal
    ("Ignoring any horizontal offset, how far apart are the mug and the left chair?",
     ("vertical_distance", "the mug", "the left chair")),
    ("Measured along the floor, how far apart are the mug and the left chair?",
     ("horizontal_distance", "the mug", "the left chair")),
    ("How far is the mug from the left chair?", ("distance", "the mug", "the left chair")),
    ("What is the mug's width?", ("width", "the mug", "")),
    # labels without "the"
    ("is mug left of the right chair", ("left_of", "the mug", "the right chair")),
])
def test_named_questions(question, expected):
    parsed = parse_question(question, NAMES)
    assert (parsed.relation, parsed.subject, parsed.object) == expected


def test_choice_questions_are_flagged():
    parsed = parse_question("Which of the two, the mug or the left chair, is taller?", NAMES)
    assert parsed.choice and parsed.relation == "taller"


def test_unknown_object_falls_back_to_patterns_so_the_caller_can_list_known_objects():
    parsed = parse_question("how far is the sofa from the mug?", NAMES)
    assert (parsed.subject, parsed.object) == ("the sofa", "the mug")


def test_one_object_for_a_binary_relation_is_refused():
    with pytest.raises(CoreError, match="names one known object"):
        parse_question("is the mug to the left?", NAMES)


def test_gibberish_is_refused_with_examples():
    with pytest.raises(CoreError, match="try e.g."):
        parse_question("sing a song about the mug", NAMES)

"""Hand-written free-text answers a VLM might give, each with what it states; every one
must score 1 against a truth it states and 0 against a truth it contradicts."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.core.vqa.verify import score_answer

A, B = "the red mug", "the lamp"
FT, IN = 0.3048, 0.0254

LENGTHS = [  # (answer, metres it states)
    ("1.2 meters", 1.2), ("1.2 m", 1.2), ("1.2m", 1.2), ("About 1.2 meters.", 1.2),
    ("approximately 1.2 metres", 1.2), ("Roughly 120 cm.", 1.2), ("120cm", 1.2),
    ("120 centimeters apart", 1.2), ("It's about 1,200 mm.", 1.2), ("1200 millimetres", 1.2),
    ("around 4 feet", 4 * FT), ("4 ft", 4 * FT), ("about four feet", 4 * FT),
    ("3 feet 2 inches", 38 * IN), ("3 ft 2 in", 38 * IN), ("3'2\"", 38 * IN),
    ("5' 11\"", 71 * IN), ("6 feet", 6 * FT), ("six feet apart", 6 * FT),
    ("14 inches", 14 * IN), ("14 in.", 14 * IN), ("about 14 inches tall", 14 * IN),
    ("fourteen inches", 14 * IN), ("2 yards", 2 * 0.9144), ("a yard", 0.9144),
    ("one meter", 1.0), ("a meter", 1.0), ("about a metre", 1.0), ("half a meter", 0.5),
    ("two and a half meters", 2.5), ("2 and a half meters", 2.5), ("1 1/2 m", 1.5),
    ("3/4 of a meter", 0.75), ("zero point five meters", 0.5), ("one point two m", 1.2),
    ("half a foot", 0.5 * FT), ("2 1/2 feet", 2.5 * FT),
    ("The distance is 0.85 m.", 0.85), ("They are 85 cm apart.", 0.85),
    ("It is 85 centimetres from the lamp.", 0.85), ("eighty-five centimeters", 0.85),
    ("eighty five centimeters", 0.85), ("ninety centimeters", 0.9),
    ("twenty-five centimetres", 0.25), ("twenty centimeters", 0.2), ("a hundred cm", 1.0),
    ("one hundred centimeters", 1.0), ("1 m and 20 cm", 1.2), ("1 m 20 cm", 1.2),
    ("1,5 m", 1.5), ("1.50 meters", 1.5), ("between 1 and 2 meters", 1.5),
    ("1-2 m", 1.5), ("1 to 2 meters", 1.5), ("1–2 m", 1.5), ("2 or 3 feet", 2.5 * FT),
    ("somewhere between 40 and 60 cm", 0.5), ("about 40-60 cm", 0.5),
    ("120 cm, which is about 1.2 m", 1.2), ("1.2 m (about 4 feet)", 4 * FT),
    ("Measuring the centers, the distance comes to 2.31 meters.", 2.31),
    ("I estimate 3 m.", 3.0), ("~3m", 3.0), ("3 meters away from the lamp", 3.0),
    ("The mug is 0.5 m from the lamp", 0.5), ("50 cm", 0.5), ("0.5", 0.5), ("2", 2.0),
    ("Answer: 1.75", 1.75), ("height: 30cm", 0.3), ("30 cm tall", 0.3),
    ("It stands 30 centimeters high.", 0.3), ("The mug is 9.5 cm tall.", 0.095),
    ("9.5cm", 0.095), ("95 mm", 0.095), ("3.7 inches", 3.7 * IN), ("3.7\"", 3.7 * IN),
    ("about 10 cm wide", 0.1), ("ten centimetres", 0.1), ("10 cms", 0.1),
    ("It is 1.8 m wide.", 1.8), ("1.8 meters across", 1.8), ("0.04 m", 0.04),
    ("4 cm", 0.04), ("40 mm", 0.04), ("1.57 inches", 1.57 * IN),
    ("roughly 7 ft", 7 * FT), ("seven feet", 7 * FT), ("2.1 m", 2.1), ("210 cm", 2.1),
    ("The horizontal distance is 3.3 meters.", 3.3), ("3.3 metres horizontally", 3.3),
    ("0.9 meters vertically", 0.9), ("90 cm higher", 0.9), ("a foot", FT),
    ("one foot", FT), ("12 inches", FT), ("twelve inches", FT), ("a kilometer", 1000.0),
    ("1.2 km", 1200.0),
]

YES_NO = [  # (answer to "Is the red mug to the left of the lamp?", it says yes)
    ("Yes", True), ("yes.", True), ("Yes!", True), ("YES", True), ("Yeah.", True),
    ("Yep, it is.", True), ("Yup", True), ("Correct.", True), ("That's correct.", True),
    ("True", True), ("True.", True), ("Indeed it is.", True), ("Definitely.", True),
    ("Absolutely, yes.", True), ("Certainly.", True), ("Affirmative.", True),
    (f"Yes, {A} is to the left of {B}.", True), (f"{A} is to the left of {B}.", True),
    (f"The red mug is on the left side of {B}.", True),
    (f"{B} is to the right of {A}.", True), (f"{B} is to the right of the mug.", True),
    (f"Looking at the image, {A} is to the left of {B}, so yes.", True),
    ("Yes, it is on the left.", True), ("Yes - it's to the left.", True),
    ("I think yes.", True), ("My answer is yes.", True), ("Answer: yes", True),
    ("No, wait, yes.", True), ("It is not to the right of the lamp; yes.", True),
    ("Yes, the mug is left of the lamp.", True), ("yes, to the left", True),
    ("Yes. The mug appears to the left.", True), ("Yes, it's further left.", True),
    ("Definitely yes, it's on the left side of the lamp.", True),
    ("Correct: the mug is to the left of the lamp.", True),
    ("That is true.", True), ("Yes, indeed.", True), ("Right you are.", True),
    ("It is to the left of it, yes.", True), ("Yes, clearly.", True),
    ("No", False), ("no.", False), ("No!", False), ("NO", False), ("Nope.", False),
    ("Nah.", False), ("Incorrect.", False), ("That's incorrect.", False), ("False", False),
    ("False.", False), ("Not so.", False), ("Negative.", False), ("That is wrong.", False),
    (f"No, {A} is not to the left of {B}.", False), (f"{A} is not to the left of {B}.", False),
    (f"{A} is to the right of {B}.", False), (f"The mug is to the right of {B}.", False),
    (f"{B} is to the left of {A}.", False), (f"{A} isn't to the left of {B}.", False),
    (f"No, {A} is to the right of {B}.", False),
    (f"Comparing their positions, {A} is to the right of {B}. So the answer is no.", False),
    ("No, it's on the right.", False), ("No - it is to the right.", False),
    ("I don't think so; no.", False), ("My answer is no.", False), ("Answer: no", False),
    ("Yes... actually no.", False), ("No, the mug is right of the lamp.", False),
    ("no, to the right", False), ("No. The mug appears to the right.", False),
    ("It is not to the left of the lamp.", False), ("That's false.", False),
    ("No, it isn't.", False), ("No, it is not.", False), ("Not at all; no.", False),
    ("Incorrect: the mug is to the right of the lamp.", False),
    (f"{A} does not appear to the left of {B}.", False),
]

CHOICES = [  # (answer to "Which is taller, the red mug or the lamp?", it names the mug)
    (f"{A}", True), (f"{A}.", True), ("The red mug.", True), ("the red mug", True),
    ("Red mug.", True), ("red mug", True), (f"{A} is taller.", True),
    (f"{A} is taller than {B}.", True), (f"It is {A}.", True), (f"The answer is {A}.", True),
    (f"Answer: {A}", True), (f"{B} is shorter than {A}, so the answer is {A}.", True),
    (f"Comparing heights, {A} is taller than {B}. So the answer is {A}.", True),
    (f"I'd say {A}.", True), (f"{A} is the taller one.", True), ("The mug is taller.", True),
    ("The red mug is the taller of the two.", True), ("Definitely the red mug.", True),
    (f"{A}, clearly.", True), (f"Taller: {A}", True), (f"Of the two, {A}.", True),
    (f"{A} - it is taller than {B}.", True), ("The red mug is taller than the lamp.", True),
    (f"{B} is not taller; the answer is {A}.", True),
    (f"{B}", False), (f"{B}.", False), ("The lamp.", False), ("the lamp", False),
    ("Lamp.", False), ("lamp", False), (f"{B} is taller.", False),
    (f"{B} is taller than {A}.", False), (f"It is {B}.", False),
    (f"The answer is {B}.", False), (f"Answer: {B}", False),
    (f"{A} is shorter than {B}, so the answer is {B}.", False),
    (f"Comparing heights, {B} is taller than {A}. So the answer is {B}.", False),
    (f"I'd say {B}.", False), (f"{B} is the taller one.", False),
    ("The lamp is taller.", False), ("The lamp is the taller of the two.", False),
    ("Definitely the lamp.", False), (f"{B}, clearly.", False), (f"Taller: {B}", False),
    (f"Of the two, {B}.", False), (f"{B} - it is taller than {A}.", False),
    ("The lamp is taller than the red mug.", False),
    (f"{A} is not taller; the answer is {B}.", False),
]

CLOCKS = [  # (answer, hour)
    ("2 o'clock", 2), ("At 2 o'clock.", 2), ("two o'clock", 2), ("Two o'clock.", 2),
    ("around 2 o’clock", 2), ("2 oclock", 2), ("2 o clock", 2), ("at 2:00", 2),
    ("It is at the 2 o'clock position.", 2), ("the 2 o'clock direction", 2),
    ("12 o'clock", 12), ("twelve o'clock", 12), ("straight ahead at 12 o'clock", 12),
    ("11 o'clock", 11), ("eleven o'clock", 11), ("At about 11 o'clock.", 11),
    ("9 o'clock", 9), ("nine o'clock, to the left", 9), ("3 o'clock", 3),
    ("three o'clock on the right", 3), ("6 o'clock", 6), ("six o'clock, behind", 6),
    ("It's roughly at 10 o'clock.", 10), ("ten o'clock", 10), ("1 o'clock", 1),
    ("one o'clock", 1), ("5 o'clock", 5), ("five o'clock", 5), ("7 o'clock", 7),
    ("8 o'clock", 8), ("4 o'clock", 4), ("Not 3 but 4 o'clock.", 4),
    ("From the mug, the lamp is at 2 o'clock.", 2),
    ("Facing the camera's direction, the lamp lies at 10 o'clock.", 10),
]

DEGREES = [  # (answer, bearing in degrees, + = left)
    ("35 degrees to the left", 35.0), ("35° left", 35.0), ("about 35 degrees left", 35.0),
    ("35 deg to the left", 35.0), ("+35 degrees", 35.0), ("35 degrees", 35.0),
    ("35 degrees to the right", -35.0), ("35° right", -35.0), ("-35 degrees", -35.0),
    ("−35°", -35.0), ("turn right about 35 degrees", -35.0),
    ("roughly 35 degrees to the right", -35.0), ("straight ahead", 0.0),
    ("directly ahead", 0.0), ("It is dead ahead.", 0.0), ("directly behind", 180.0),
    ("right behind", 180.0), ("90 degrees to the left", 90.0), ("90° to the right", -90.0),
    ("120 degrees to the right", -120.0), ("about 120° left", 120.0),
    ("10 degrees to the left", 10.0), ("The bearing is 60 degrees to the left.", 60.0),
    ("Seen from the mug, the lamp is 60 degrees to the right.", -60.0),
    ("15.5 degrees to the left", 15.5), ("45 degrees right of straight ahead", -45.0),
    ("at an angle of 45 degrees to the left", 45.0), ("150 degrees to the left", 150.0),
    ("150 degrees to the right", -150.0), ("5 degrees to the right", -5.0),
]

LETTERS = [  # (answer, option index)
    ("(A)", 0), ("A", 0), ("A.", 0), ("(A) the red mug", 0), ("The answer is A.", 0),
    ("Answer: A", 0), ("Option A", 0), ("(B)", 1), ("B", 1), ("B.", 1), ("B)", 1),
    ("The answer is (B).", 1), ("Answer: B", 1), ("option B", 1), ("(C)", 2), ("C", 2),
    ("The answer is C: the chair.", 2), ("(D)", 3), ("D.", 3), ("I choose D.", 3),
]


def test_there_are_over_300_variants():
    total = sum(len(t) for t in (LENGTHS, YES_NO, CHOICES, CLOCKS, DEGREES, LETTERS))
    assert total >= 300


@pytest.mark.parametrize(("text", "metres"), LENGTHS)
def test_lengths(text, metres):
    truth = {"category": "distance"}
    assert score_answer({**truth, "value": metres}, text).reward == 1.0, text
    assert score_answer({**truth, "value": metres * 1.6}, text).reward == 0.0, text
    assert score_answer({**truth, "value": metres / 1.6}, text).reward == 0.0, text


@pytest.mark.parametrize(("text", "says_yes"), YES_NO)
def test_yes_no(text, says_yes):
    truth = {"category": "left_predicate", "subject_text": A, "object_text": B}
    assert score_answer({**truth, "truth": "true" if says_yes else "false"}, text).reward == 1
    assert score_answer({**truth, "truth": "false" if says_yes else "true"}, text).reward == 0


@pytest.mark.parametrize(("text", "names_subject"), CHOICES)
def test_choices(text, names_subject):
    truth = {"category": "tall_choice", "subject_text": A, "object_text": B,
             "subject_label": "mug", "object_label": "lamp"}
    right = "true" if names_subject else "false"
    wrong = "false" if names_subject else "true"
    assert score_answer({**truth, "truth": right}, text).reward == 1, text
    assert score_answer({**truth, "truth": wrong}, text).reward == 0, text


@pytest.mark.parametrize(("text", "hour"), CLOCKS)
def test_clock_positions(text, hour):
    truth = {"category": "direction_clock"}
    assert score_answer({**truth, "value": float(hour)}, text).reward == 1, text
    assert score_answer({**truth, "value": float(hour % 12 + 3)}, text).reward == 0, text


@pytest.mark.parametrize(("text", "bearing"), DEGREES)
def test_bearings(text, bearing):
    truth = {"category": "direction_degrees"}
    assert score_answer({**truth, "value": bearing + 3.0}, text).reward == 1, text
    assert score_answer({**truth, "value": bearing + 60.0}, text).reward == 0, text


@pytest.mark.parametrize(("text", "index"), LETTERS)
def test_letters(text, index):
    options = ["the red mug", "the lamp", "the chair", "the table"]
    truth = {"category": "closer_choice", "options": options}
    assert score_answer({**truth, "correct": index}, text).reward == 1, text
    assert score_answer({**truth, "correct": (index + 1) % 4}, text).reward == 0, text

"""The spatial VQA template catalogue: one table row per category, no code per category.

A category is one relation of :data:`spatial_vqa_ros.core.relations.RELATIONS` asked
in one form, so every number and every yes/no comes from the core, never from here:

- ``predicate``: "Is [A] left of [B]?" with separate answers for true and false;
- ``choice``: "Which is more to the left, [A] or [B]?", answered by naming one;
- ``measure``: a length in metres, rendered colloquially ("42 centimeters");
- ``clock`` / ``degrees``: the bearing of [B] seen from [A], facing the camera's heading.

Placeholders: ``[A]`` and ``[B]`` are the subject's and object's referring expressions
(unique in the scene), ``[X]`` is the value text (a length, a clock position, an angle)
or, in choice answers, the object chosen, and ``[Y]`` (choice answers only) the other.

Every category also has *reasoning* answers for GRPO-style training: the comparison in
words, no intermediate numbers, and the final answer last ("..., so yes.", "... so the
answer is [X].", "... comes to [X].").

The comparison categories are built from two tables: a phrase row per comparison
(``_COMPARISONS``) and sentence frames shared by all of them (``_PREDICATE_*``,
``_CHOICE_*``). The measures and directions are written out in ``_MEASURES``.

The anchors (SpatialRGPT ``dataset_pipeline/osdsynth/processor/prompt_template.py``,
VQASynth ``vqasynth/prompt_templates.py``) are matched or exceeded in template count
per category; their texts are not reused beyond short generic phrasings, and neither
are their definition bugs (height answered with the width, "behind" read off the
vertical axis, the radius of an object asked as its width).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

Form = Literal["predicate", "choice", "measure", "clock", "degrees"]

#: Every placeholder a template may use.
PLACEHOLDERS = ("[A]", "[B]", "[X]", "[Y]")


@dataclass(frozen=True)
class Category:
    """One row of the catalogue.

    ``answers`` are the answers for a true predicate, the choice answers, or the
    measure/direction answers; ``false_answers`` exist for predicates only. The
    ``reasoning`` tuples are the qualitative (chain-of-thought) variants of the same.
    """

    name: str
    relation: str
    form: Form
    questions: tuple[str, ...]
    answers: tuple[str, ...]
    false_answers: tuple[str, ...] = ()
    reasoning: tuple[str, ...] = ()
    false_reasoning: tuple[str, ...] = ()


class _Comparison(NamedTuple):
    relation: str
    #: "[A] is {phrase} [B]" and an alternative wording of it.
    phrase: str
    alternative: str
    #: What [A] is when the predicate is false (the margin guarantees the opposite).
    opposite: str
    #: "Which is {choice}?" / "[X] is {choice}." and an alternative; None = no choice form.
    choice: str | None
    choice_alternative: str
    #: "[X] is {comparative} than [Y]."
    comparative: str
    #: What is compared, as a noun phrase: "Comparing {aspect}, ...".
    aspect: str


_SIDEWAYS = "their left-right positions as seen from the camera"
_ELEVATION = "the heights of their centers above the floor"
_DEPTH = "their positions along the camera's viewing direction"
_HEIGHTS = "their heights from bottom to top"
_WIDTHS = "their widths from side to side"
_VOLUMES = "the volumes of their bounding boxes"

_COMPARISONS: dict[str, _Comparison] = {
    "left": _Comparison("left_of", "to the left of", "on the left side of", "to the right of",
                        "more to the left", "further left", "further left", _SIDEWAYS),
    "right": _Comparison("right_of", "to the right of", "on the right side of", "to the left of",
                         "more to the right", "further right", "further right", _SIDEWAYS),
    "above": _Comparison("above", "above", "higher up than", "below",
                         "higher", "higher up", "higher up", _ELEVATION),
    "below": _Comparison("below", "below", "lower down than", "above",
                         "lower", "lower down", "lower down", _ELEVATION),
    "higher": _Comparison("above", "higher than", "at a greater elevation than", "lower than",
                          None, "", "", _ELEVATION),
    "behind": _Comparison("behind", "behind", "further back than", "in front of",
                          "behind", "further back", "further back", _DEPTH),
    "front": _Comparison("in_front_of", "in front of", "further forward than", "behind",
                         "in front", "further forward", "further forward", _DEPTH),
    "closer": _Comparison("closer_to_camera", "closer to the camera than",
                          "nearer to the camera than", "farther from the camera than",
                          "closer to the camera", "nearer to the camera", "closer to the camera",
                          "their straight-line distances from the camera"),
    "tall": _Comparison("taller", "taller than", "greater in height than", "shorter than",
                        "taller", "greater in height", "taller", _HEIGHTS),
    "short": _Comparison("shorter", "shorter than", "less tall than", "taller than",
                         "shorter", "less tall", "shorter", _HEIGHTS),
    "wide": _Comparison("wider", "wider than", "broader than", "narrower than",
                        "wider", "broader", "wider", _WIDTHS),
    "thin": _Comparison("thinner", "thinner than", "narrower than", "wider than",
                        "thinner", "narrower", "narrower", _WIDTHS),
    "big": _Comparison("bigger", "bigger than", "larger than", "smaller than",
                       "bigger", "larger", "bigger", _VOLUMES),
    "small": _Comparison("smaller", "smaller than", "smaller in volume than", "bigger than",
                         "smaller", "smaller in volume", "smaller", _VOLUMES),
}

# Frames: {p} phrase, {q} alternative, {o} opposite, {c} choice, {c2} choice alternative,
# {k} comparative, {s} aspect.
_PREDICATE_QUESTIONS = (
    "Is [A] {p} [B]?",
    "Is [A] {q} [B]?",
    "Would you say that [A] is {p} [B]?",
    "Can you confirm whether [A] is {q} [B]?",
    "In this image, is [A] {p} [B]?",
    "True or false: [A] is {p} [B].",
    "Tell me if [A] is {q} [B].",
    "Judging from the picture, is [A] {q} [B]?",
    "Is it the case that [A] is {p} [B]?",
    "Does [A] appear {p} [B]?",
)
_PREDICATE_TRUE = (
    "Yes, [A] is {p} [B].",
    "Yes, [A] is {q} [B].",
    "Yes.",
    "Correct: [A] is {p} [B].",
    "Indeed, [A] is {q} [B].",
    "Yes, it is; [B] is {o} [A].",
    "That's true: [A] is {p} [B].",
)
_PREDICATE_FALSE = (
    "No, [A] is not {p} [B].",
    "No, [A] is {o} [B].",
    "No.",
    "Incorrect: [A] is {o} [B].",
    "No; it is [B] that is {p} [A].",
    "Not so: [A] is not {q} [B]; it is {o} it.",
    "That's false: [A] is {o} [B].",
)
_PREDICATE_TRUE_REASONING = (
    "Comparing {s}, [A] is {p} [B]. So the answer is yes.",
    "To answer this, compare {s}: [A] is clearly {q} [B], so yes.",
    "Looking at {s}, [A] is {p} [B] by more than the measurement noise, so yes.",
)
_PREDICATE_FALSE_REASONING = (
    "Comparing {s}, [A] is {o} [B], not {p} it. So the answer is no.",
    "To answer this, compare {s}: it is [B] that is {q} [A], so no.",
    "Looking at {s}, [A] is {o} [B] by more than the measurement noise, so no.",
)
_CHOICE_QUESTIONS = (
    "Which is {c}, [A] or [B]?",
    "Which one is {c2}, [A] or [B]?",
    "Between [A] and [B], which one is {c}?",
    "Of [A] and [B], which is {c2}?",
    "Which of the two, [A] or [B], is {c}?",
    "Looking at [A] and [B], which is {k}?",
)
_CHOICE_ANSWERS = (
    "[X] is {c}.",
    "[X].",
    "[X] is {k} than [Y].",
    "It is [X].",
    "The answer is [X]: it is {k} than [Y].",
    "[X] is the one that is {c}.",
)
_CHOICE_REASONING = (
    "Comparing {s}, [X] is {k} than [Y]. So the answer is [X].",
    "To decide, compare {s}: [X] comes out {k} than [Y] by more than the measurement "
    "noise, so the answer is [X].",
    "[X] and [Y] differ clearly in {s}, and [X] is {k}. The answer is [X].",
)

# Measures and directions: (relation, form, questions, answers, reasoning).
_MEASURES: dict[str, tuple[str, Form, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "distance": ("distance", "measure", (
        "How far is [A] from [B]?",
        "What is the distance between [A] and [B]?",
        "How far apart are [A] and [B]?",
        "What is the distance from [A] to [B]?",
        "How far is it from [A] to [B]?",
        "Could you estimate the distance between [A] and [B]?",
        "How much space separates [A] and [B]?",
        "Measure the distance from [A] to [B], center to center.",
        "What is the straight-line distance between [A] and [B]?",
        "Give the distance between [A] and [B].",
        "Roughly how far is [A] from [B]?",
        "Tell me how far [A] is from [B].",
        "Estimate how far apart [A] and [B] are.",
        "What separation is there between [A] and [B]?",
        "Can you tell how far [A] is from [B]?",
        "What is the direct distance between [A] and [B]?",
        "How distant is [A] from [B]?",
        "If you measured from [A] to [B], what distance would you get?",
    ), (
        "[X].",
        "[A] is [X] from [B].",
        "[A] and [B] are [X] apart.",
        "The distance between [A] and [B] is [X].",
        "About [X].",
        "They are roughly [X] apart.",
        "[A] is about [X] away from [B].",
        "Center to center, [A] and [B] are [X] apart.",
        "It is [X] from [A] to [B].",
        "The two are separated by [X].",
    ), (
        "Taking the center of each object and measuring the straight line between them "
        "gives [X].",
        "The distance runs between the centers of [A] and [B], in three dimensions. "
        "It comes to [X].",
        "Locating both objects in space and joining their centers with a straight line gives "
        "a length of [X].",
    )),
    "closeness": ("distance", "measure", (
        "How close is [A] to [B]?",
        "How near is [A] to [B]?",
        "How close together are [A] and [B]?",
        "How close does [A] sit to [B]?",
        "Just how close are [A] and [B] to each other?",
        "How near to each other are [A] and [B]?",
    ), (
        "[A] is [X] from [B].",
        "They are [X] apart.",
        "[A] sits about [X] from [B].",
        "The centers of [A] and [B] are [X] apart.",
        "About [X].",
        "[A] and [B] are roughly [X] from each other.",
    ), (
        "Closeness here is the straight-line distance between the centers of [A] and [B], "
        "which is [X].",
        "Measuring from the middle of [A] to the middle of [B] gives [X].",
        "Placing both objects in space, the distance between their centers comes to [X].",
    )),
    "horizontal_distance": ("horizontal_distance", "measure", (
        "What is the horizontal distance between [A] and [B]?",
        "How far apart are [A] and [B] horizontally?",
        "How far is [A] from [B] horizontally?",
        "What is the horizontal distance from [A] to [B]?",
        "Ignoring height, how far is [A] from [B]?",
        "Measured along the floor, how far apart are [A] and [B]?",
        "How far apart are [A] and [B] when viewed from above?",
        "What is the distance between [A] and [B] along the floor?",
        "Could you estimate the horizontal distance between [A] and [B]?",
        "How much horizontal space separates [A] and [B]?",
        "Tell me the horizontal distance between [A] and [B].",
        "Projected onto the floor, how far is [A] from [B]?",
        "Leaving out any difference in height, what is the distance between [A] and [B]?",
        "Give the horizontal separation of [A] and [B].",
        "How far apart are [A] and [B] on a floor plan?",
        "What is the floor-plane distance between [A] and [B]?",
    ), (
        "[X].",
        "[A] and [B] are [X] apart horizontally.",
        "Horizontally, [A] is [X] from [B].",
        "The horizontal distance between [A] and [B] is [X].",
        "Along the floor, they are [X] apart.",
        "Ignoring height, [A] is [X] away from [B].",
        "About [X] horizontally.",
        "Seen from above, [A] and [B] are [X] apart.",
        "The horizontal separation is [X].",
        "Measured along the floor, the distance from [A] to [B] is [X].",
        "On a floor plan, [A] and [B] would be [X] apart.",
    ), (
        "Projecting both centers onto the floor and measuring between the projections "
        "gives [X].",
        "Ignoring the height difference, only the separation along the floor counts: "
        "[A] and [B] are separated by [X].",
        "Looking down on the scene from above, the centers of [A] and [B] are separated "
        "by [X].",
    )),
    "vertical_distance": ("vertical_distance", "measure", (
        "What is the vertical distance between [A] and [B]?",
        "How far apart are [A] and [B] vertically?",
        "How far is [A] from [B] vertically?",
        "What is the vertical distance from [A] to [B]?",
        "How big is the height difference between the centers of [A] and [B]?",
        "How much higher or lower is [A] than [B]?",
        "Could you estimate the vertical distance between [A] and [B]?",
        "Measured straight up and down, how far apart are [A] and [B]?",
        "Tell me the vertical distance between [A] and [B].",
        "What is the vertical separation between [A] and [B]?",
        "How far apart in elevation are [A] and [B]?",
        "Ignoring any horizontal offset, how far apart are [A] and [B]?",
        "Give the vertical separation of [A] and [B].",
        "By how much do [A] and [B] differ in elevation?",
        "Along the up-down direction, how far is [A] from [B]?",
    ), (
        "[X].",
        "[A] and [B] are [X] apart vertically.",
        "Vertically, [A] is [X] from [B].",
        "The vertical distance between [A] and [B] is [X].",
        "Their centers differ in height by [X].",
        "About [X] vertically.",
        "In elevation, [A] and [B] are [X] apart.",
        "The vertical separation is [X].",
        "Measured straight up and down, [A] and [B] are [X] apart.",
        "[A] and [B] differ in elevation by [X].",
        "The elevation difference between [A] and [B] is [X].",
    ), (
        "Comparing how high the center of each object sits above the floor, the difference "
        "between [A] and [B] is [X].",
        "Only the up-down direction counts here: the centers of [A] and [B] differ in "
        "elevation by [X].",
        "Taking the elevation of each center above the floor and subtracting gives [X].",
    )),
    "width": ("width", "measure", (
        "How wide is [A]?",
        "What is the width of [A]?",
        "What is the approximate width of [A]?",
        "How wide is [A] from side to side?",
        "Measure the width of [A].",
        "Could you estimate how wide [A] is?",
        "How broad is [A]?",
        "What is [A]'s width?",
        "How much room does [A] take up from left to right?",
        "Tell me the width of [A].",
        "From side to side, how big is [A]?",
        "How wide does [A] measure?",
        "What is the side-to-side size of [A]?",
        "Estimate the width of [A].",
    ), (
        "[X].",
        "[A] is [X] wide.",
        "The width of [A] is [X].",
        "[A] measures [X] from side to side.",
        "About [X] wide.",
        "It is roughly [X] across.",
    ), (
        "Measuring [A] from its left edge to its right edge as seen from the camera "
        "gives [X].",
        "The width is how far [A] extends from side to side, which comes to [X].",
        "Taking the leftmost and rightmost parts of [A], it spans [X].",
    )),
    "height": ("height", "measure", (
        "How tall is [A]?",
        "What is the height of [A]?",
        "What is the approximate height of [A]?",
        "How tall is [A] from bottom to top?",
        "Measure the height of [A].",
        "Could you estimate how tall [A] is?",
        "What is [A]'s height?",
        "How much vertical room does [A] take up?",
        "Tell me the height of [A].",
        "From bottom to top, how big is [A]?",
        "How tall does [A] measure?",
        "What is the vertical size of [A]?",
        "Estimate the height of [A].",
    ), (
        "[X].",
        "[A] is [X] tall.",
        "The height of [A] is [X].",
        "[A] measures [X] from bottom to top.",
        "About [X] tall.",
        "It stands roughly [X] high.",
    ), (
        "Measuring [A] from its lowest to its highest point gives [X].",
        "The height is the vertical extent of [A], bottom to top, which is [X].",
        "From where [A] starts at the bottom to where it ends at the top is [X].",
    )),
    "direction_clock": ("direction", "clock", (
        "If you are at [A], where is [B]?",
        "If you are at [A] facing the same way as the camera, where is [B]?",
        "Standing at [A] and facing the camera's viewing direction, at what clock position "
        "is [B]?",
        "At what o'clock direction is [B] from [A], taking the camera's heading as "
        "12 o'clock?",
        "Imagine you stand at [A], looking the same way as the camera. In which clock "
        "direction would you find [B]?",
        "From [A], with 12 o'clock straight ahead along the camera's view, where is [B]?",
    ), (
        "[B] is at [X] from [A].",
        "Around [X].",
        "From [A], [B] is at about [X].",
        "You would find [B] at [X].",
        "[X].",
    ), (
        "Facing the way the camera faces while standing at [A], straight ahead is "
        "12 o'clock, and [B] lies at [X].",
        "Imagine standing at [A] and looking along the camera's direction; turning toward "
        "[B] means facing [X].",
        "With 12 o'clock along the camera's heading and 9 o'clock to the left, [B] seen "
        "from [A] is at [X].",
    )),
    "direction_degrees": ("direction", "degrees", (
        "If you stand at [A] facing the camera's direction, how many degrees to the left "
        "or right is [B]?",
        "In which direction is [B] from [A], in degrees from straight ahead?",
        "Standing at [A] and looking the same way as the camera, at what angle do you "
        "see [B]?",
        "What is the bearing of [B] from [A], measured from the camera's heading?",
        "Standing at [A] and facing the camera's direction, how far would you turn to "
        "face [B]?",
    ), (
        "Seen from [A], [B] is [X].",
        "[X].",
        "From [A], you would find [B] [X].",
        "Facing the camera's direction at [A], [B] lies [X].",
        "The bearing is [X].",
    ), (
        "Standing at [A] and facing the way the camera faces, [B] lies [X].",
        "Take the camera's heading as straight ahead from [A]; the line to [B] then "
        "points [X].",
        "Picture yourself at [A] looking along the camera's view: [B] is [X].",
    )),
}


def _fill(frames: tuple[str, ...], row: _Comparison) -> tuple[str, ...]:
    words = {"p": row.phrase, "q": row.alternative, "o": row.opposite, "c": row.choice,
             "c2": row.choice_alternative, "k": row.comparative, "s": row.aspect}
    return tuple(frame.format(**words) for frame in frames)


def _build() -> dict[str, Category]:
    categories: dict[str, Category] = {}
    for base, row in _COMPARISONS.items():
        name = f"{base}_predicate"
        categories[name] = Category(
            name, row.relation, "predicate", _fill(_PREDICATE_QUESTIONS, row),
            _fill(_PREDICATE_TRUE, row), _fill(_PREDICATE_FALSE, row),
            _fill(_PREDICATE_TRUE_REASONING, row), _fill(_PREDICATE_FALSE_REASONING, row))
    for base, row in _COMPARISONS.items():
        if row.choice is not None:
            name = f"{base}_choice"
            categories[name] = Category(
                name, row.relation, "choice", _fill(_CHOICE_QUESTIONS, row),
                _fill(_CHOICE_ANSWERS, row), (), _fill(_CHOICE_REASONING, row))
    for name, (relation, form, questions, answers, reasoning) in _MEASURES.items():
        categories[name] = Category(name, relation, form, questions, answers, (), reasoning)
    return categories


#: The catalogue, keyed by category name.
CATEGORIES: dict[str, Category] = _build()


def relation_phrases(category: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the phrases that state a comparison category's relation, those that state its
    opposite): "to the left of", "on the left side of" / "to the right of". Empty for
    measures and directions. What an answer verifier reads when a reply says no yes/no."""
    base = category.rsplit("_", 1)[0]
    row = _COMPARISONS.get(base)
    if row is None or category not in CATEGORIES:
        return (), ()
    return (row.phrase, row.alternative), (row.opposite,)

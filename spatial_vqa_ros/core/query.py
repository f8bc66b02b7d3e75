"""Answer spatial questions from a scene-graph snapshot.

Two entry points share one evaluator: :func:`answer_structured` (relation +
subject + object, what planners call) and :func:`answer_question` (natural
language; the phrasings of the VQA templates and everyday variants, parsed by a
table of patterns). Answers never invent a number: unknown objects, missing
floor, partial objects' sizes and ambiguous relations all get an explicit answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import CoreError, UnknownObjectError
from .language import ParsedQuestion, parse_question
from .relations import (
    MEASURES,
    PREDICATES,
    RELATIONS,
    Margins,
    direction,
    evaluate_measure,
    evaluate_predicate,
)
from .scene_graph import SceneGraph, SceneObject
from .units import colloquial_length, to_metres


@dataclass(frozen=True)
class Answer:
    """Reply to a spatial query; mirrors QuerySpatial.srv's response."""

    success: bool
    text: str
    value: float = float("nan")
    unit: str = ""
    truth: str = ""
    confidence: float = 0.0
    error: str = ""
    relation: str = ""
    subject: str = ""
    object: str = ""


def _failure(message: str, relation: str = "", subject: str = "", obj: str = "") -> Answer:
    return Answer(False, message, error=message, relation=relation, subject=subject, object=obj)


# --- evaluation --------------------------------------------------------------
def _confidence(objs: list[SceneObject]) -> float:
    return float(min(o.confidence for o in objs)) if objs else 0.0


def _length_answer(relation: str, value_m: float, subject: SceneObject,
                   other: SceneObject | None, units: str) -> Answer:
    q = colloquial_length(value_m, "imperial" if units == "imperial" else "metric")
    phrases = {
        "distance": (f"{subject.description} is {q.text()} from "
                     f"{other.description if other else ''}"),
        "horizontal_distance": (f"{subject.description} is {q.text()} from "
                                f"{other.description if other else ''} horizontally"),
        "vertical_distance": (f"{subject.description} and {other.description if other else ''}"
                              f" are {q.text()} apart vertically"),
        "width": f"{subject.description} is {q.text()} wide",
        "height": f"{subject.description} is {q.text()} tall",
    }
    text = phrases[relation]
    # the value is exact in the unit of the text (the text shows it rounded)
    return Answer(True, text[0].upper() + text[1:] + ".", value_m / to_metres(1.0, q.unit),
                  q.unit, "",
                  _confidence([subject] + ([other] if other else [])), relation=relation,
                  subject=subject.description, object=other.description if other else "")


_PREDICATE_TEXT = {
    "left_of": "to the left of", "right_of": "to the right of", "above": "above",
    "below": "below", "behind": "behind", "in_front_of": "in front of",
    "taller": "taller than", "shorter": "shorter than", "wider": "wider than",
    "thinner": "thinner than", "bigger": "bigger than", "smaller": "smaller than",
    "closer_to_camera": "closer to the camera than",
}


def answer_structured(graph: SceneGraph, relation: str, subject: str, obj: str = "",
                      units: str = "metric", choice: bool = False,
                      margins: Margins = Margins()) -> Answer:
    """Evaluate ``relation`` for the named objects of ``graph``."""
    rel = RELATIONS.get(relation)
    if rel is None:
        return _failure(f"unknown relation {relation!r}; known relations: "
                        f"{', '.join(sorted(RELATIONS))}", relation, subject, obj)
    if units not in ("metric", "imperial", ""):
        return _failure(f"unit_preference must be 'metric' or 'imperial', got {units!r}",
                        relation, subject, obj)
    try:
        a = graph.find(subject)
        b = graph.find(obj) if rel.binary else None
    except UnknownObjectError as error:
        return _failure(str(error), relation, subject, obj)
    if b is not None and b.id == a.id:
        return _failure(f"{subject!r} and {obj!r} are the same object ({a.description})",
                        relation, subject, obj)
    unseen = [o.description for o in (a, b) if o is not None and not o.visible]
    if unseen and not graph.world_fixed:
        return _failure(f"{' and '.join(unseen)} is not in view in the latest frame, and "
                        "without a camera pose (odometry) its last position may be stale",
                        relation, subject, obj)
    if rel.needs_floor and not graph.floor_found:
        return _failure(f"'{relation}' needs to know which way is up, but no floor was found "
                        "in view", relation, subject, obj)
    partial = [o.description for o in (a, b) if o is not None and o.partial]
    if rel.uses_size and partial:
        return _failure(f"cannot state the size of {' and '.join(partial)}: only partly "
                        "visible (cut by the image border or occluded)", relation, subject, obj)
    if relation == "direction":
        assert b is not None
        noise = margins.position_m + margins.sigmas * math.hypot(a.position_sigma_m,
                                                                 b.position_sigma_m)
        if evaluate_measure("horizontal_distance", a, b) <= noise:
            text = (f"It is unclear where {b.description} is from {a.description}: they are "
                    "at the same place on the floor, within the measurement noise.")
            return Answer(True, text, float("nan"), "o'clock", "unclear", 0.0,
                          relation=relation, subject=a.description, object=b.description)
        d = direction(a, b)
        side = "left" if d.bearing_deg > 0 else "right"
        text = (f"{b.description.capitalize()} is at {d.clock} o'clock from {a.description} "
                f"({abs(d.bearing_deg):.0f} degrees to the {side} of straight ahead).")
        return Answer(True, text, float(d.clock), "o'clock", "", _confidence([a, b]),
                      relation=relation, subject=a.description, object=b.description)
    if rel.kind == "measure":
        value = evaluate_measure(relation, a, b)
        if not math.isfinite(value):
            return _failure("the estimate is not finite", relation, subject, obj)
        return _length_answer(relation, value, a, b, units)
    assert b is not None
    camera = graph.scene.camera_position_scene if graph.floor_found else np.zeros(3)
    truth, _, _ = evaluate_predicate(relation, a, b, margins, camera)
    phrase = _PREDICATE_TEXT[relation]
    if truth == "unclear":
        text = (f"It is unclear whether {a.description} is {phrase} {b.description}: the "
                "difference is within the measurement noise.")
    elif choice:
        winner, loser = (a, b) if truth == "true" else (b, a)
        text = f"{winner.description.capitalize()} is {phrase} {loser.description}."
    elif truth == "true":
        text = f"Yes, {a.description} is {phrase} {b.description}."
    else:
        text = f"No, {a.description} is not {phrase} {b.description}."
    confidence = _confidence([a, b]) if truth != "unclear" else 0.0
    return Answer(True, text, float("nan"), "", truth, confidence, relation=relation,
                  subject=a.description, object=b.description)


def answer_question(graph: SceneGraph, question: str, units: str = "metric") -> Answer:
    names = [o.description for o in graph.objects] + [o.label for o in graph.objects]
    try:
        parsed = parse_question(question, names)
    except CoreError as error:
        known = (", ".join(o.description for o in graph.objects)
                 or "none (the scene graph is empty)")
        return _failure(f"{error}; known objects: {known}")
    return answer_structured(graph, parsed.relation, parsed.subject, parsed.object, units,
                             parsed.choice)


__all__ = ["MEASURES", "PREDICATES", "Answer", "ParsedQuestion", "answer_question",
           "answer_structured", "parse_question"]

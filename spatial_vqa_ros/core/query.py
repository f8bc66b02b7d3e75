"""Answer spatial questions from a scene-graph snapshot.

Two entry points share one evaluator: :func:`answer_structured` (relation +
subject + object, what planners call) and :func:`answer_question` (natural
language; the phrasings of the VQA templates and everyday variants, parsed by a
table of patterns). Answers never invent a number: unknown objects, missing
floor, partial objects' sizes and ambiguous relations all get an explicit answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import CoreError, UnknownObjectError, echo
from .gate import Verdict, judge_in_graph
from .language import ParsedQuestion, parse_question
from .relations import MEASURES, PREDICATES, RELATIONS, Margins, direction, position_margin_m
from .robot_frames import (
    FramePoint,
    frame_object,
    is_frame_name,
    resolve_frame,
    strip_frame_prefix,
)
from .scene_graph import SceneGraph, SceneObject
from .units import colloquial_length, to_metres


@dataclass(frozen=True)
class Answer:
    """Reply to a spatial query; mirrors QuerySpatial.srv's response.

    Two numbers, one quantity: ``value`` is in ``unit``, the unit the text uses ("2
    feet" -> 2.0, "ft"; the clock hour of a direction), for a reader of the text;
    ``value_si`` is in ``unit_si``, SI whatever the text says (metres; a direction's
    bearing in radians, counter-clockwise, unrounded), for a program acting on it.
    Both NaN for predicates, failures and unclear answers.
    """

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
    value_si: float = float("nan")
    unit_si: str = ""


def normalise_relation(relation: str) -> str:
    """"Left of", " left_of ", "LEFT-OF" -> "left_of"."""
    return "_".join(relation.strip().lower().replace("-", " ").replace("_", " ").split())


def _request_problem(relation: str, subject: str, obj: str, units: str) -> str:
    """What is wrong with a structured request ("" when nothing): an unknown relation, a
    missing object field (named), a unit preference that does not exist."""
    rel = RELATIONS.get(relation)
    if rel is None:
        return (f"unknown relation {echo(relation)}; known relations: "
                f"{', '.join(sorted(RELATIONS))}")
    missing = [field for field, value in (("subject", subject), ("object", obj))
               if (field == "subject" or rel.binary) and not value.strip()]
    if missing:
        return (f"relation {relation} needs {' and '.join(missing)}: the name of "
                f"{'each object' if len(missing) > 1 else 'the ' + missing[0]} (a label, "
                "a description or #id)")
    if units not in ("metric", "imperial", ""):
        return f"unit_preference must be 'metric' or 'imperial', got {echo(units)}"
    return ""


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
                  subject=subject.description, object=other.description if other else "",
                  value_si=float(value_m), unit_si="m")


_PREDICATE_TEXT = {
    "left_of": "to the left of", "right_of": "to the right of", "above": "above",
    "below": "below", "behind": "behind", "in_front_of": "in front of",
    "taller": "taller than", "shorter": "shorter than", "wider": "wider than",
    "thinner": "thinner than", "bigger": "bigger than", "smaller": "smaller than",
    "closer_to_camera": "closer to the camera than",
}


def _resolve(graph: SceneGraph, name: str, frames: Mapping[str, FramePoint]) -> SceneObject:
    """An object of the graph, or a robot frame as a point-sized object ("tf:tool0"
    is always the frame; a plain name is a frame only when no object has it)."""
    if is_frame_name(name):
        point = resolve_frame(frames, name)
        if point is None:
            raise UnknownObjectError(f"no robot frame {echo(strip_frame_prefix(name))} at "
                                     f"this scene's stamp (frames: "
                                     f"{', '.join(sorted(frames)) or 'none'})", graph.names())
        return frame_object(point)
    try:
        return graph.find(name)
    except UnknownObjectError:
        point = resolve_frame(frames, name)
        if point is None:
            raise
        return frame_object(point)


def answer_structured(graph: SceneGraph, relation: str, subject: str, obj: str = "", *,
                      units: str = "metric", choice: bool = False,
                      margins: Margins = Margins(),
                      frames: Mapping[str, FramePoint] | None = None) -> Answer:
    """Evaluate ``relation`` for the named objects of ``graph`` (or robot frames placed
    in ``frames``: positions only, see ``robot_frames``). The relation name is read
    case- and space-insensitively ("Left of", " left_of "); a missing object field is
    named; names are echoed at most ``errors.ECHO_LIMIT`` characters long."""
    relation = normalise_relation(relation)
    problem = _request_problem(relation, subject, obj, units)
    if problem:
        return _failure(problem, relation, subject, obj)
    rel = RELATIONS[relation]
    frames = frames or {}
    try:
        a = _resolve(graph, subject, frames)
        b = _resolve(graph, obj, frames) if rel.binary else None
    except UnknownObjectError as error:
        return _failure(str(error), relation, subject, obj)
    frame_ends = [o.description for o in (a, b) if o is not None and o.id < 0]
    if frame_ends and rel.uses_size:
        return _failure(f"{frame_ends[0]} is a robot frame, a point without size: ask "
                        "for positions (distances, left/right, above/below, direction)",
                        relation, subject, obj)
    heading = None
    if relation == "direction" and a.id < 0:  # from a robot frame: along its own heading
        point = resolve_frame(frames, subject)
        heading = point.heading_deg if point is not None else None
    answer = _answer_objects(graph, relation, a, b, units=units, choice=choice,
                             margins=margins, subject=subject, obj=obj, heading_deg=heading)
    return _with_ages(answer, graph, (a, b))


def _with_ages(answer: Answer, graph: SceneGraph,
               objects: tuple[SceneObject, SceneObject | None]) -> Answer:
    """An answer about a remembered object (out of view, kept in the fixed frame) says
    how old its position is: a stale position never passes for a live one."""
    remembered = [o for o in objects if o is not None and o.id > 0 and not o.visible]
    if not answer.success or not remembered:
        return answer
    ages = "; ".join(f"{o.description} was last seen "
                     f"{max(0.0, (graph.stamp_ns - o.last_seen_ns) * 1e-9):.0f} s ago"
                     for o in remembered)
    from dataclasses import replace

    return replace(answer, text=f"{answer.text} ({ages})")


def _answer_objects(graph: SceneGraph, relation: str, a: SceneObject, b: SceneObject | None,
                    *, units: str, choice: bool, margins: Margins, subject: str,
                    obj: str, heading_deg: float | None = None) -> Answer:
    """The answer about resolved objects (the relation's rules: gate, then wording).
    ``heading_deg``: 12 o'clock for a direction from a robot frame (its x axis)."""
    rel = RELATIONS[relation]
    verdict = judge_in_graph(graph, relation, a, b, margins=margins)
    if verdict.reason == "unclear":
        return _unclear(relation, verdict, a, b, units)
    if not verdict.statable:
        return _failure(verdict.message, relation, subject, obj)
    if relation == "direction":
        assert b is not None
        d = direction(a, b, heading_deg or 0.0)
        side = "left" if d.bearing_deg > 0 else "right"
        ahead = f"{a.description}'s x axis" if heading_deg is not None else "straight ahead"
        text = (f"{b.description.capitalize()} is at {d.clock} o'clock from {a.description} "
                f"({abs(d.bearing_deg):.0f} degrees to the {side} of {ahead}).")
        return Answer(True, text, float(d.clock), "o'clock", "", _confidence([a, b]),
                      relation=relation, subject=a.description, object=b.description,
                      value_si=math.radians(d.bearing_deg), unit_si="rad")
    if rel.kind == "measure":
        return _length_answer(relation, verdict.value, a, b, units)
    assert b is not None and verdict.truth is not None
    truth = verdict.truth
    phrase = _PREDICATE_TEXT[relation]
    if choice:
        winner, loser = (a, b) if truth == "true" else (b, a)
        text = f"{winner.description.capitalize()} is {phrase} {loser.description}."
    elif truth == "true":
        text = f"Yes, {a.description} is {phrase} {b.description}."
    else:
        text = f"No, {a.description} is not {phrase} {b.description}."
    return Answer(True, text, float("nan"), "", truth, _confidence([a, b]), relation=relation,
                  subject=a.description, object=b.description)


def _unclear(relation: str, verdict: Verdict, a: SceneObject, b: SceneObject | None,
             units: str) -> Answer:
    """The honest answer to a question whose answer is within the measurement noise."""
    b_text = b.description if b is not None else ""
    if relation in _PREDICATE_TEXT:
        text = (f"It is unclear whether {a.description} is {_PREDICATE_TEXT[relation]} "
                f"{b_text}: the difference is within the measurement noise.")
    elif relation == "direction":
        text = (f"It is unclear where {b_text} is from {a.description}: they are at the "
                "same place on the floor, within the measurement noise.")
    else:
        noise = colloquial_length(verdict.noise_m,
                                  "imperial" if units == "imperial" else "metric").text()
        text = (f"It is unclear how far apart {a.description} and {b_text} are "
                f"({relation.replace('_', ' ')}): less than the measurement noise of "
                f"about {noise}.")
    unit, unit_si = ("o'clock", "rad") if relation == "direction" else ("", "")
    return Answer(True, text, float("nan"), unit, "unclear", 0.0, relation=relation,
                  subject=a.description, object=b_text, unit_si=unit_si)


_WITHIN = re.compile(r"^\s*(?:is|are)\s+(?P<a>.+?)\s+within\s+(?P<d>.+?)\s+of\s+"
                     r"(?P<b>.+?)\s*\??\s*$", re.IGNORECASE)


def answer_within(graph: SceneGraph, subject: str, obj: str, limit_m: float, *,
                  units: str = "metric", margins: Margins = Margins(),
                  frames: Mapping[str, FramePoint] | None = None) -> Answer:
    """"Is A within D of B?": the centre distance against ``limit_m``; ``unclear`` when
    the two differ by less than the position noise (the same margin as every relation)."""
    if not (math.isfinite(limit_m) and limit_m > 0):
        return _failure(f"the distance limit must be > 0, got {limit_m}", "distance",
                        subject, obj)
    measured = answer_structured(graph, "distance", subject, obj, units=units,
                                 margins=margins, frames=frames)
    if not measured.success or measured.truth == "unclear":
        return measured
    frames = frames or {}
    a, b = _resolve(graph, subject, frames), _resolve(graph, obj, frames)
    distance_m = measured.value_si
    noise = position_margin_m(a, b, margins)
    limit_text = colloquial_length(limit_m, "imperial" if units == "imperial" else "metric")
    if abs(distance_m - limit_m) <= noise:
        return Answer(True, f"Unclear: {a.description} and {b.description} are about "
                      f"{limit_text.text()} apart, within the measurement noise.",
                      float("nan"), "", "unclear", 0.0, relation="within",
                      subject=a.description, object=b.description)
    inside = distance_m < limit_m
    text = (f"{'Yes' if inside else 'No'}, {a.description} is "
            f"{'' if inside else 'not '}within {limit_text.text()} of {b.description} "
            f"({measured.text.rstrip('.')}).")
    return Answer(True, text, float("nan"), "", "true" if inside else "false",
                  measured.confidence, relation="within", subject=a.description,
                  object=b.description)


def answer_question(graph: SceneGraph, question: str, units: str = "metric", *,
                    frames: Mapping[str, FramePoint] | None = None,
                    margins: Margins = Margins()) -> Answer:
    """Parse and answer ``question``; the robot frames in ``frames`` ("tool0",
    "base_link") may be named like objects. "Is A within 0.8 m of B?" compares the
    distance with the limit (:func:`answer_within`)."""
    frames = frames or {}
    within = _WITHIN.match(question)
    if within:
        from .vqa.answers import parse_length

        limit = parse_length(within["d"], bare_unit=None)
        if limit is not None:
            return answer_within(graph, within["a"].strip(), within["b"].strip(),
                                 limit.metres, units=units, margins=margins, frames=frames)
    names = [o.description for o in graph.objects] + [o.label for o in graph.objects] \
        + list(frames)
    try:
        parsed = parse_question(question, names)
    except CoreError as error:
        known = (", ".join(o.description for o in graph.objects)
                 or "none (the scene graph is empty)")
        return _failure(f"{error}; known objects: {known}")
    return answer_structured(graph, parsed.relation, parsed.subject, parsed.object,
                             units=units, choice=parsed.choice, margins=margins, frames=frames)


__all__ = ["MEASURES", "PREDICATES", "Answer", "ParsedQuestion", "answer_question",
           "answer_structured", "parse_question"]

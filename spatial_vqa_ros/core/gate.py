"""The one rule for whether a relation or measure may be stated about two objects.

Answers (query service), training data (VQA synthesis) and scoring against ground
truth all ask :func:`judge`, so a fact the service states is exactly a fact the
dataset may teach, and the reasons for silence are the same everywhere:

- ``same_object``: a relation of an object with itself;
- ``not_in_view``: an object not seen in the latest frame while objects are tracked
  relative to the camera (no pose source), so its position may be stale;
- ``stale``: an object's latest mask was carried by a tracker for longer than
  ``Margins.max_detection_age_s`` since its last detection (two-rate perception), so it
  may have drifted off the object;
- ``no_floor``: the relation needs "up" and no floor was found;
- ``partial``: the relation reads a size, and an object is only partly visible with
  nothing saying where its hidden part lies (an object that carries hidden directions
  is judged along them, size by size: a side hidden does not hide a height); or
  an object is cut by the image border and the positions its hidden part allows do
  not settle the statement (``cut_bounds``);
- ``occluded``: an object may continue behind a nearer one (``occlusion``), and the
  positions or sizes that allows do not settle the statement;
- ``far_side``: an object's far side is hidden (``far_side``: its depth is bounded, and
  its centre is the middle of the centres that bound allows), and those centres do
  not settle the statement;
- ``too_small``: a width or height spans too few pixels, or too much depth noise, at
  the object's range for its expected error to be within 25% (``size_support``);
- ``non_finite``: the estimate is NaN or infinite;
- ``unclear``: the difference (a predicate) or the separation (a two-object measure,
  a direction) is within the position noise of the two estimates.

A verdict carries the reason, a sentence for people, and what was computed on the way
(truth of a predicate, value of a measure), so callers never evaluate twice.

Every hidden part is one rule (``cut_bounds``): a measure is stated only when every
centre and size the hidden parts allow keep it within ``MAX_SPREAD_RATIO`` (the message
gives the range), a predicate only when it holds beyond its margin for all of them.
When the rule refuses, the reason names the cause that alone leaves the statement open
(border, then occluder, then far side; the first cause present when only their
combination does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .cut_bounds import (
    MAX_BEARING_SPREAD_DEG,
    MAX_SPREAD_RATIO,
    bearing_range_deg,
    difference_box,
    has_hidden_part,
    hidden_causes,
    measure_interval,
    only_cause,
    size_interval,
)
from .relations import (
    RELATIONS,
    Boxed,
    Margins,
    Relation,
    Truth,
    evaluate_measure,
    evaluate_predicate,
    position_margin_m,
)
from .scene_graph import SceneGraph
from .size_support import size_support

#: Every reason a relation may not be stated, in the order they are checked.
REASONS = ("same_object", "not_in_view", "stale", "no_floor", "partial", "occluded",
           "far_side", "too_small", "non_finite", "unclear")
NON_FINITE = "the estimate is not finite"


@dataclass(frozen=True)
class Verdict:
    """Whether ``relation`` may be stated for a subject (and object), and why not.

    ``reason`` is None when it may be stated, else one of :data:`REASONS`; ``message``
    says why in words (empty when it may). ``truth`` is the predicate's truth
    ("true"/"false", "unclear" when within the margin), None for measures. ``value``
    is the measure in metres; for ``direction``, the horizontal separation in metres
    (the bearing itself comes from :func:`relations.direction`); NaN when not computed.
    ``noise_m`` is the position noise a separation had to exceed (NaN if unused).
    """

    relation: str
    reason: str | None = None
    message: str = ""
    truth: Truth | None = None
    value: float = math.nan
    noise_m: float = math.nan

    @property
    def statable(self) -> bool:
        return self.reason is None


def _name(o: Boxed) -> str:
    return str(getattr(o, "description", "") or getattr(o, "label", "") or "the object")


def _same(a: Boxed, b: Boxed) -> bool:
    ids = getattr(a, "id", None), getattr(b, "id", None)
    return a is b or (ids[0] is not None and ids[0] == ids[1])


def judge(relation: str, a: Boxed, b: Boxed | None = None, *, floor_found: bool,
          camera_scene: np.ndarray | None = None, world_fixed: bool = True,
          margins: Margins = Margins()) -> Verdict:
    """The verdict on stating ``relation`` of subject ``a`` (and object ``b``).

    Objects are read through :class:`relations.Boxed`; where they have them, ``id``
    (same-object check), ``description`` or ``label`` (messages) and ``visible`` are
    used too, so scene objects, per-frame estimates and truth boxes all pass here, and
    ``detection_age_s`` (absent: 0, a detected mask) against the margins' age limit.

    ``camera_scene`` is the camera position in the scene frame (for
    ``closer_to_camera``); ``world_fixed`` tells whether objects out of view keep valid
    positions (a camera pose source). Raises KeyError for an unknown relation and
    ValueError when a two-object relation gets one object: those are caller bugs, not
    verdicts.
    """
    rel = RELATIONS[relation]
    if rel.binary and b is None:
        raise ValueError(f"relation {relation!r} needs two objects, got one")
    refusal = _refusal(rel, a, b if rel.binary else None, floor_found=floor_found,
                       world_fixed=world_fixed, max_age_s=margins.max_detection_age_s)
    if refusal is not None:
        return refusal
    if rel.kind == "predicate":
        assert b is not None
        return _judge_predicate(relation, a, b, camera_scene, margins)
    return _judge_measure(relation, a, b if rel.binary else None, margins, camera_scene)


def _refusal(rel: Relation, a: Boxed, b: Boxed | None, *, floor_found: bool,
             world_fixed: bool, max_age_s: float) -> Verdict | None:
    """The reason the objects themselves rule the relation out, before any number."""
    objects = (a,) if b is None else (a, b)
    if b is not None and _same(a, b):
        return Verdict(rel.name, "same_object",
                       f"{_name(a)!r} and {_name(b)!r} are the same object")
    unseen = [_name(o) for o in objects if not getattr(o, "visible", True)]
    if unseen and not world_fixed:
        return Verdict(rel.name, "not_in_view",
                       f"{' and '.join(unseen)} is not in view in the latest frame, and "
                       "without a camera pose (odometry) its last position may be stale")
    stale = [f"{_name(o)} was last detected {age:.1f} s before its latest view"
             for o in objects
             if max_age_s > 0 and (age := float(getattr(o, "detection_age_s", 0.0))) > max_age_s]
    if stale:
        return Verdict(rel.name, "stale",
                       f"{' and '.join(stale)} (limit max_detection_age_s = {max_age_s:g} s): "
                       "the tracker may have drifted off it since")
    if rel.needs_floor and not floor_found:
        return Verdict(rel.name, "no_floor",
                       f"'{rel.name}' needs to know which way is up, but no floor was "
                       "found in view")
    # Where an object says which way its hidden part lies, each size is judged along
    # those directions (``_judge_measure``, ``_settled_despite_cut``): a side hidden
    # behind a crate leaves its height a fact.
    partial = [_name(o) for o in objects if o.partial and not has_hidden_part(o)]
    if rel.uses_size and partial:
        return Verdict(rel.name, "partial",
                       f"cannot state the size of {' and '.join(partial)}: only partly "
                       "visible (cut by the image border or occluded)")
    return None


def _judge_predicate(relation: str, a: Boxed, b: Boxed, camera_scene: np.ndarray | None,
                     margins: Margins) -> Verdict:
    camera = np.zeros(3) if camera_scene is None else camera_scene
    truth, diff, margin = evaluate_predicate(relation, a, b, margins, camera)
    if not (math.isfinite(diff) and math.isfinite(margin)):
        return Verdict(relation, "non_finite", NON_FINITE)
    if truth == "unclear":
        return Verdict(relation, "unclear", "the difference is within the measurement noise",
                       truth=truth, noise_m=margin)
    if has_hidden_part(a) or has_hidden_part(b):
        def settled(x: Boxed, y: Boxed) -> bool:
            return _settled_despite_cut(relation, x, y, camera, margin=margin, truth=truth)

        if not settled(a, b):
            reason = _open_reason(a, b, settled)
            return Verdict(relation, reason, f"{_cut_names(a, b, reason)}, and where the "
                           "hidden part lies decides this", truth="unclear", noise_m=margin)
    return Verdict(relation, truth=truth)


#: The centre axis and sign each position predicate compares (size ones are refused
#: for partial objects before this).
_PREDICATE_AXIS = {"left_of": (1, 1.0), "right_of": (1, -1.0), "above": (2, 1.0),
                   "below": (2, -1.0), "behind": (0, 1.0), "in_front_of": (0, -1.0)}


def _settled_despite_cut(relation: str, a: Boxed, b: Boxed, camera: np.ndarray, *,
                         margin: float, truth: str) -> bool:
    """Whether the predicate keeps its truth, beyond its margin, wherever the hidden
    parts of cut objects put their centres."""
    if relation in _SIZE_PREDICATE:
        low_a, high_a = _size_range(a, relation)
        low_b, high_b = _size_range(b, relation)
        lowest, highest = low_a - high_b, high_a - low_b  # a's size minus b's
        if _SIZE_PREDICATE[relation] < 0:
            lowest, highest = -highest, -lowest
    elif relation == "closer_to_camera":
        camera_box = _Point(camera)
        low_a, high_a = measure_interval("distance", a, camera_box)
        low_b, high_b = measure_interval("distance", b, camera_box)
        lowest, highest = low_b - high_a, high_b - low_a  # b's distance minus a's
    elif relation not in _PREDICATE_AXIS:  # a size, of a part with no support below
        return False
    else:
        axis, sign = _PREDICATE_AXIS[relation]
        lo, hi = difference_box(a, b)
        lowest, highest = sorted((sign * lo[axis], sign * hi[axis]))
    return lowest > margin if truth == "true" else highest < -margin


#: Size predicates and their sign (the measure is height, width or volume).
_SIZE_PREDICATE = {"taller": 1, "shorter": -1, "wider": 1, "thinner": -1, "bigger": 1,
                   "smaller": -1}
_SIZE_AXIS = {"taller": 2, "shorter": 2, "wider": 1, "thinner": 1, "height": 2, "width": 1}


def _size_range(o: Boxed, relation: str) -> tuple[float, float]:
    """Smallest and largest height, width or volume the hidden parts allow."""
    if relation in _SIZE_AXIS:
        return size_interval(o, _SIZE_AXIS[relation])
    ranges = [size_interval(o, axis) for axis in range(3)]
    return (float(np.prod([r[0] for r in ranges])), float(np.prod([r[1] for r in ranges])))


#: Each cause of a hidden part, the reason it gives, and how messages say it.
_CAUSE_REASON = (("border", "partial", "cut by the image border"),
                 ("occluded", "occluded", "partly hidden behind a nearer object"),
                 ("far_side", "far_side", "seen from the front only (its far side is hidden)"))


def _open_reason(a: Boxed, b: Boxed | None, settled) -> str:
    """The reason of the first cause that alone leaves the statement open (``settled``
    takes the two objects, each with that cause's hidden parts only)."""
    present = [(cause, reason) for cause, reason, _ in _CAUSE_REASON
               if any(cause in hidden_causes(o) for o in (a, b) if o is not None)]
    for cause, reason in present:
        if not settled(only_cause(a, cause), None if b is None else only_cause(b, cause)):
            return reason
    return present[0][1] if present else "partial"


@dataclass(frozen=True)
class _Point:
    """A point as a box of no size, cut by nothing (the camera)."""

    center_scene: np.ndarray
    extent_scene: np.ndarray = field(default_factory=lambda: np.zeros(3))


def _cut_names(a: Boxed, b: Boxed | None, reason: str = "partial") -> str:
    """"<names> is/are <what hides them>" for the objects with a part of that cause."""
    cause, phrase = next((c, p) for c, r, p in _CAUSE_REASON if r == reason)
    cut = [_name(o) for o in (a, b) if o is not None and cause in hidden_causes(o)]
    cut = cut or [_name(o) for o in (a, b) if o is not None and has_hidden_part(o)]
    return " and ".join(cut) + (" are " if len(cut) > 1 else " is ") + phrase


def _judge_measure(relation: str, a: Boxed, b: Boxed | None, margins: Margins,
                   camera_scene: np.ndarray | None = None) -> Verdict:
    measure = "horizontal_distance" if relation == "direction" else relation
    value = evaluate_measure(measure, a, b)
    if not math.isfinite(value):
        return Verdict(relation, "non_finite", NON_FINITE)
    if b is None:
        if has_hidden_part(a):
            low, high = size_interval(a, _SIZE_AXIS[relation])
            if not high <= MAX_SPREAD_RATIO * low:
                reason = _open_reason(a, None, lambda x, _: _size_settled(x, relation))
                return Verdict(relation, reason, f"{_cut_names(a, None, reason)}: with what "
                               f"is hidden, the {relation} could be anywhere from {low:.2f} "
                               f"to {high:.2f} m", value=value)
        support = size_support(a, relation, camera_scene)
        if support is not None and not support.supported:
            return Verdict(relation, "too_small", support.sentence(_name(a), relation),
                           value=value)
        return Verdict(relation, value=value)
    # A separation within the position noise is not a fact ("the cans are 0.4 cm
    # apart vertically"; the bearing of a point on top of you): its error is unbounded.
    noise = position_margin_m(a, b, margins)
    if value <= noise:
        return Verdict(relation, "unclear", "they are within the measurement noise of "
                       "each other", value=value, noise_m=noise)
    if has_hidden_part(a) or has_hidden_part(b):
        refusal = _cut_refusal(relation, measure, a, b, noise)
        if refusal is not None:
            return refusal
    return Verdict(relation, value=value, noise_m=noise)


def _size_settled(o: Boxed, relation: str) -> bool:
    low, high = size_interval(o, _SIZE_AXIS[relation])
    return high <= MAX_SPREAD_RATIO * low


def _measure_settled(relation: str, measure: str, a: Boxed, b: Boxed, noise: float) -> bool:
    if relation == "direction":
        return bearing_range_deg(a, b) <= MAX_BEARING_SPREAD_DEG
    low, high = measure_interval(measure, a, b)
    return low > noise and high <= MAX_SPREAD_RATIO * low


def _cut_refusal(relation: str, measure: str, a: Boxed, b: Boxed, noise: float
                 ) -> Verdict | None:
    """A refusal when a hidden part (cut off, occluded, the far side) could move the
    measure (or the bearing) too far for the stated value; its reason names the cause."""
    if _measure_settled(relation, measure, a, b, noise):
        return None
    reason = _open_reason(a, b, lambda x, y: _measure_settled(relation, measure, x, y, noise))
    if relation == "direction":
        spread = bearing_range_deg(a, b)
        return Verdict(relation, reason, f"{_cut_names(a, b, reason)}: what is hidden "
                       f"leaves the bearing open by {min(spread, 360.0):.0f} degrees",
                       noise_m=noise)
    low, high = measure_interval(measure, a, b)
    return Verdict(relation, reason, f"{_cut_names(a, b, reason)}: with what is hidden, "
                   f"the {measure.replace('_', ' ')} could be anywhere from {low:.2f} to "
                   f"{high:.2f} m", noise_m=noise)


def judge_in_graph(graph: SceneGraph, relation: str, a: Boxed, b: Boxed | None = None, *,
                   margins: Margins = Margins()) -> Verdict:
    """:func:`judge` with the floor, camera and pose facts of a scene-graph snapshot."""
    return judge(relation, a, b, floor_found=graph.floor_found,
                 camera_scene=graph.scene.camera_position_scene if graph.floor_found
                 else np.zeros(3),
                 world_fixed=graph.world_fixed, margins=margins)


__all__ = ["REASONS", "Verdict", "judge", "judge_in_graph"]

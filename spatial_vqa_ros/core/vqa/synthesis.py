"""Render template QAs from a scene graph, sample them per image, build conversations.

Numbers and truths come from :mod:`spatial_vqa_ros.core.relations`, and *whether* a
relation may be emitted from the one gate, :func:`spatial_vqa_ros.core.gate.judge`
(the query service asks the same gate, so answers and training data agree); this
module decides how to say it.

Objects are always named by their ``description`` (unique in the snapshot), so
repeated labels never produce an ambiguous question. Lengths are kept in metres in
:attr:`QA.value`; the text shows them rounded by :func:`colloquial_length`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..errors import CoreError
from ..gate import REASONS, Verdict, judge_in_graph
from ..relations import RELATIONS, Margins, direction
from ..scene_graph import SceneGraph, SceneObject
from ..units import colloquial_length
from .templates import CATEGORIES, Category

UNITS = ("metric", "imperial", "mixed")
#: Why a relation was not emitted (the keys of :attr:`EmissionStats.skipped`): the gate's.
SKIP_REASONS = REASONS


class VQAError(CoreError):
    """A VQA request the catalogue cannot serve (unknown category, bad configuration)."""


@dataclass(frozen=True, slots=True)
class QA:
    """One rendered question-answer pair with the structured facts behind it.

    ``value``: metres for lengths; the clock hour (1..12) for ``direction_clock``;
    the bearing in degrees (counter-clockwise from the camera's heading, +90 = left)
    for ``direction_degrees``; None for predicates and choices. ``unit`` is the unit
    of ``value`` ("m", "o'clock", "deg" or ""), ``rendered_unit`` what the text shows
    ("cm", "m", "in", "ft", "o'clock", "deg" or ""). ``truth`` is the truth of
    "subject <relation> object" for predicates and choices (for a choice, "true" means
    the answer names the subject), None for measures.
    """

    category: str
    relation: str
    question: str
    answer: str
    subject_id: int
    object_id: int | None
    subject_label: str
    object_label: str | None
    value: float | None
    unit: str
    truth: str | None
    rendered_unit: str
    #: The answer is a reasoning (chain-of-thought) template.
    qualitative: bool = False
    #: The referring expressions the texts use for the subject and the object ("the red
    #: cup"): what an answer names, so what a verifier looks for.
    subject_text: str = ""
    object_text: str = ""


@dataclass
class EmissionStats:
    """Counters: QAs emitted (per category) and render attempts refused, by reason.

    :func:`synthesize` tries several object pairs per category, so ``skipped`` counts
    refused attempts, not lost QAs; ``shortfall`` counts QAs an image could not fill.
    """

    emitted: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    shortfall: int = 0

    def add(self, other: EmissionStats) -> None:
        self.emitted += other.emitted
        self.shortfall += other.shortfall
        for key, count in other.by_category.items():
            self.by_category[key] = self.by_category.get(key, 0) + count
        for key, count in other.skipped.items():
            self.skipped[key] = self.skipped.get(key, 0) + count

    def _emit(self, category: str) -> None:
        self.emitted += 1
        self.by_category[category] = self.by_category.get(category, 0) + 1


@dataclass(frozen=True)
class SynthesisConfig:
    """How :func:`synthesize` samples QAs.

    ``category_weights``: None = uniform over every category; a mapping gives the
    relative weight of each category listed (unlisted categories get 0).
    ``units``: "metric", "imperial" or "mixed" (a seeded coin per QA).
    ``qualitative_fraction``: share of answers drawn from the reasoning templates.
    ``multi_turn``: one conversation per image (True) or one per QA, see
    :func:`conversations`.
    """

    category_weights: Mapping[str, float] | None = None
    qa_per_image: int = 8
    units: str = "metric"
    qualitative_fraction: float = 0.0
    seed: int = 0
    multi_turn: bool = True
    margins: Margins = Margins()
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _probs: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.units not in UNITS:
            raise VQAError(f"units must be one of {', '.join(UNITS)}, got {self.units!r}")
        if self.qa_per_image < 0:
            raise VQAError(f"qa_per_image must be >= 0, got {self.qa_per_image}")
        if not 0.0 <= self.qualitative_fraction <= 1.0:
            raise VQAError("qualitative_fraction must be within [0, 1], got "
                           f"{self.qualitative_fraction}")
        weights = (dict.fromkeys(CATEGORIES, 1.0) if self.category_weights is None
                   else dict(self.category_weights))
        unknown = sorted(set(weights) - set(CATEGORIES))
        if unknown:
            raise VQAError(f"unknown categories in category_weights: {', '.join(unknown)}; "
                           f"known: {', '.join(CATEGORIES)}")
        names = tuple(name for name in CATEGORIES if weights.get(name, 0.0) > 0.0)
        if any(not math.isfinite(w) or w < 0.0 for w in weights.values()) or not names:
            raise VQAError("category_weights must be finite, >= 0 and not all zero, got "
                           f"{weights}")
        probs = np.array([weights[name] for name in names], float)
        if self.category_weights is not None:  # a private copy: later edits cannot skew
            object.__setattr__(self, "category_weights", MappingProxyType(weights))
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_probs", probs / probs.sum())


def _evaluate(cat: Category, graph: SceneGraph, a: SceneObject, b: SceneObject | None,
              margins: Margins) -> Verdict:
    """The gate's verdict on ``cat`` for subject a and object b."""
    rel = RELATIONS[cat.relation]
    if rel.binary and b is None:
        raise VQAError(f"category {cat.name!r} needs two objects, got one")
    return judge_in_graph(graph, cat.relation, a, b if rel.binary else None, margins=margins)


def _category(name: str) -> Category:
    cat = CATEGORIES.get(name)
    if cat is None:
        raise VQAError(f"unknown VQA category {name!r}; known: {', '.join(CATEGORIES)}")
    return cat


def skip_reason(category: str, graph: SceneGraph, subject: SceneObject,
                obj: SceneObject | None = None, margins: Margins = Margins()) -> str | None:
    """Why ``category`` must not be emitted for (subject, obj), or None if it may be."""
    return _evaluate(_category(category), graph, subject, obj, margins).reason


def _pick(templates: tuple[str, ...], rng: np.random.Generator) -> str:
    return templates[int(rng.random() * len(templates))]


def _degrees_text(bearing_deg: float) -> str:
    """Bearing to words, to the nearest 5 degrees: "35 degrees to the left"."""
    rounded = 5 * round(abs(bearing_deg) / 5)
    if rounded == 0:
        return "straight ahead"
    if rounded == 180:
        return "directly behind"
    return f"{rounded} degrees to the {'left' if bearing_deg > 0 else 'right'}"


def _fill(template: str, a: str, b: str, x: str, y: str) -> str:
    text = template.replace("[A]", a).replace("[B]", b).replace("[X]", x).replace("[Y]", y)
    return text[0].upper() + text[1:]


def render_qa(category: str, graph: SceneGraph, subject: SceneObject,
              obj: SceneObject | None, rng: np.random.Generator, *, units: str = "metric",
              qualitative: bool = False, margins: Margins = Margins(),
              stats: EmissionStats | None = None) -> QA | None:
    """One QA of ``category`` about ``subject`` (and ``obj``), or None if it must not be
    emitted (see the module docstring); ``stats`` counts either outcome."""
    cat = _category(category)
    if units not in UNITS:
        raise VQAError(f"units must be one of {', '.join(UNITS)}, got {units!r}")
    verdict = _evaluate(cat, graph, subject, obj, margins)
    if not verdict.statable:
        if stats is not None:
            stats.skipped[verdict.reason] += 1
        return None
    truth, value = verdict.truth, verdict.value
    binary = RELATIONS[cat.relation].binary
    b = obj if binary else None
    a_text, b_text = subject.description, b.description if b is not None else ""
    x_text = y_text = ""
    unit = rendered_unit = ""
    out_value: float | None = None
    if cat.form in ("predicate", "choice"):
        if cat.form == "predicate":
            if qualitative:
                answers = cat.reasoning if truth == "true" else cat.false_reasoning
            else:
                answers = cat.answers if truth == "true" else cat.false_answers
        else:
            answers = cat.reasoning if qualitative else cat.answers
            x_text, y_text = (a_text, b_text) if truth == "true" else (b_text, a_text)
    else:
        answers = cat.reasoning if qualitative else cat.answers
        if cat.form == "measure":
            system = units if units != "mixed" else (
                "metric" if rng.random() < 0.5 else "imperial")
            quantity = colloquial_length(value, system)
            x_text, out_value, unit, rendered_unit = quantity.text(), value, "m", quantity.unit
        else:
            assert b is not None
            bearing = direction(subject, b)
            if cat.form == "clock":
                x_text, out_value = f"{bearing.clock} o'clock", float(bearing.clock)
                unit = rendered_unit = "o'clock"
            else:
                x_text, out_value = _degrees_text(bearing.bearing_deg), bearing.bearing_deg
                unit = rendered_unit = "deg"
    question = _fill(_pick(cat.questions, rng), a_text, b_text, "", "")
    answer = _fill(_pick(answers, rng), a_text, b_text, x_text, y_text)
    if stats is not None:
        stats._emit(category)
    return QA(category, cat.relation, question, answer, subject.id,
              b.id if b is not None else None, subject.label,
              b.label if b is not None else None, out_value, unit, truth, rendered_unit,
              qualitative, a_text, b_text)


# --- sampling -----------------------------------------------------------------
def _stable_hash(key: str) -> int:
    """A 64-bit hash of ``key`` that is the same in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(),
                          "little")


def _systematic(probs: np.ndarray, n: int, rng: np.random.Generator) -> list[int]:
    """n category indices, category i expected n * probs[i] times, spread evenly.

    Systematic sampling over a random order: low variance, no repeats unless a
    category's share exceeds 1 / n, and exactly proportional in expectation.
    """
    order = rng.permutation(len(probs))
    edges = np.cumsum(probs[order]) * n
    points = rng.random() + np.arange(n)
    picks = order[np.minimum(np.searchsorted(edges, points, side="right"), len(order) - 1)]
    return [int(i) for i in rng.permutation(picks)]


def _check_descriptions(objects: Sequence[SceneObject]) -> None:
    descriptions = [o.description for o in objects]
    if len(set(descriptions)) != len(descriptions):
        repeated = sorted({d for d in descriptions if descriptions.count(d) > 1})
        raise VQAError(f"object descriptions must be unique, repeated: {', '.join(repeated)}"
                       "; build the graph with SceneGraphTracker (assign_descriptions)")


class _Coverage:
    """Per-image object and pair use, to spread QAs over the whole scene."""

    def __init__(self, count: int) -> None:
        self.uses = np.zeros(count, np.int64)
        self.pair_uses = np.zeros((count, count), np.int64)  # symmetric
        self.first, self.second = np.nonzero(~np.eye(count, dtype=bool))

    def candidates(self, binary: bool, rng: np.random.Generator) -> Iterator[tuple[int, int]]:
        """(subject, object) index pairs, least used first, ties in random order
        (object -1 for single-object categories). Lazy: the first usually renders."""
        if not binary:
            count = len(self.uses)
            for i in np.argsort(self.uses * count + rng.permutation(count)).tolist():
                yield i, -1
            return
        first, second = self.first, self.second
        pairs = len(first)
        objects = self.uses[first] + self.uses[second]
        key = ((self.pair_uses[first, second] * (int(objects.max()) + 1) + objects) * pairs
               + rng.permutation(pairs))
        best = int(key.argmin())
        yield int(first[best]), int(second[best])
        for k in np.argsort(key).tolist()[1:]:
            yield int(first[k]), int(second[k])

    def use(self, i: int, j: int) -> None:
        self.uses[i] += 1
        if j >= 0:
            self.uses[j] += 1
            self.pair_uses[i, j] += 1
            self.pair_uses[j, i] += 1


def synthesize(graph: SceneGraph, config: SynthesisConfig, image_key: str, *,
               stats: EmissionStats | None = None) -> list[QA]:
    """Up to ``config.qa_per_image`` QAs about ``graph``, deterministic given
    (config.seed, image_key).

    Categories are drawn by systematic sampling with the configured weights; a
    category that no object pair of this image may emit is replaced by another
    weighted draw (so balance holds over images where categories are emittable).
    Pairs and objects not yet used in this image are preferred.
    """
    objects = graph.objects
    n = config.qa_per_image
    if not objects or n == 0:
        return []
    _check_descriptions(objects)
    rng = np.random.default_rng([config.seed, _stable_hash(image_key)])
    names, probs = config._names, config._probs
    plan = _systematic(probs, n, rng)
    coverage = _Coverage(len(objects))
    infeasible: set[int] = set()
    used: set[int] = set()
    out: list[QA] = []
    local = EmissionStats()
    while plan and len(out) < n:
        index = plan.pop()
        qa = None
        if index not in infeasible:
            qualitative = (config.qualitative_fraction > 0.0
                           and rng.random() < config.qualitative_fraction)
            qa = _render_category(names[index], graph, coverage, rng, config=config,
                                  qualitative=qualitative, stats=local)
        if qa is not None:
            out.append(qa)
            used.add(index)
            continue
        infeasible.add(index)
        weights = np.array([0.0 if i in infeasible else p for i, p in enumerate(probs)])
        if weights.sum() <= 0.0:
            break
        fresh = np.array([0.0 if i in used else w for i, w in enumerate(weights)])
        weights = fresh if fresh.sum() > 0.0 else weights
        plan.append(int(rng.choice(len(weights), p=weights / weights.sum())))
    local.shortfall += n - len(out)
    if stats is not None:
        stats.add(local)
    return out


def _render_category(name: str, graph: SceneGraph, coverage: _Coverage,
                     rng: np.random.Generator, *, config: SynthesisConfig, qualitative: bool,
                     stats: EmissionStats) -> QA | None:
    cat = CATEGORIES[name]
    rel = RELATIONS[cat.relation]
    if rel.needs_floor and not graph.floor_found:
        stats.skipped["no_floor"] += 1
        return None
    if rel.binary and len(graph.objects) < 2:
        return None
    for i, j in coverage.candidates(rel.binary, rng):
        obj = graph.objects[j] if j >= 0 else None
        qa = render_qa(name, graph, graph.objects[i], obj, rng, units=config.units,
                       qualitative=qualitative, margins=config.margins, stats=stats)
        if qa is not None:
            coverage.use(i, j)
            return qa
    return None


# --- conversations --------------------------------------------------------------
def conversation(qas: Sequence[QA], image_token: str = "<image>") -> list[dict[str, str]]:
    """LLaVA-style turns; the image token prefixes the first human turn only."""
    turns: list[dict[str, str]] = []
    for k, qa in enumerate(qas):
        question = f"{image_token}\n{qa.question}" if k == 0 and image_token else qa.question
        turns.append({"from": "human", "value": question})
        turns.append({"from": "gpt", "value": qa.answer})
    return turns


def conversations(qas: Sequence[QA], *, multi_turn: bool = True,
                  image_token: str = "<image>") -> list[list[dict[str, str]]]:
    """All QAs of an image as one conversation, or one conversation per QA."""
    if not qas:
        return []
    if multi_turn:
        return [conversation(qas, image_token)]
    return [conversation([qa], image_token) for qa in qas]

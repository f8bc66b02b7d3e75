"""Scoring a model's free-text answer against a record's structured truth: a reward in
[0, 1] for RL fine-tuning (TRL's ``reward_funcs``) and the numbers of an evaluation.

Why structured truth and not string matching: the dataset's answers are one wording of
a fact the record stores exactly (a length in metres, a truth value, a clock hour), so
any wording of the same fact can be scored, and a reward that pays for the template's
wording would teach the template.

What counts as right, per form (``VerifierSettings.mode``):

- lengths: ``exact`` = within half a step of the last digit the answer chose ("42 cm"
  is right for 41.5-42.5 cm; "1.2 m" for 1.15-1.25 m); ``within`` (the default) =
  relative error <= ``tolerance`` (0.25: SpatialRGPT-Bench's success); ``graded`` =
  1 when exact, else 1 - error / (2 tolerance), clipped to [0, 1] (0.5 at the edge
  of the band);
- bearings: the same three with ``tolerance_deg`` (15) as the band, exact = within the
  5-degree rounding the answers use (2.5);
- clock positions: ``exact`` = the same hour; ``within`` = within one hour, around the
  dial (12 and 1 o'clock are one hour apart), SpatialRGPT-Bench's success for
  directions; ``graded`` = 1 for the hour, 0.5 for one hour off;
- a negative length ("-1.37 m", "minus 1.37 m") is wrong in every mode, never read as
  its absolute value;
- yes/no and which-of-two: right or wrong (1 or 0) in every mode;
- lettered options (records with ``options`` and ``correct``): the letter, or the
  option's text, must be the correct one.

An answer that states nothing readable scores 0 with reason ``unreadable``; one longer
than ``max_answer_chars`` is not read at all and scores 0 with reason ``too long`` (also
unreadable): a reward function must never stall a training step, and every reader here
is linear in the text, so the limit bounds the time of one score (at most about 40 ms
at the default 20,000 characters, for a text that is nothing but lengths).
Pure Python: no numpy, torch or ROS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .answers import (
    parse_choice,
    parse_clock,
    parse_degrees,
    parse_length,
    parse_letter,
    parse_yes_no,
)
from .synthesis import VQAError
from .templates import CATEGORIES, Category, relation_phrases

__all__ = ["Score", "VerifierSettings", "make_reward_function", "score_answer"]

Mode = Literal["exact", "within", "graded"]
MODES = ("exact", "within", "graded")
#: Half the 5-degree rounding of rendered bearings.
_DEGREE_STEP = 2.5
#: Reasons a Score gives that mean the answer could not be read.
UNREADABLE = ("unreadable", "too long")


@dataclass(frozen=True)
class VerifierSettings:
    """How strict the verifier is (module docstring). ``bare_unit``: the unit of a
    number given without one ("m"; None: such a number is unreadable).
    ``max_answer_chars``: longer answers are scored 0 as ``too long``, unread."""

    mode: Mode = "within"
    tolerance: float = 0.25
    tolerance_deg: float = 15.0
    bare_unit: str | None = "m"
    max_answer_chars: int = 20_000

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise VQAError(f"mode must be one of {MODES}, got {self.mode!r}")
        for name in ("tolerance", "tolerance_deg"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise VQAError(f"{name} must be > 0, got {value}")
        if isinstance(self.max_answer_chars, bool) or not isinstance(
                self.max_answer_chars, int) or self.max_answer_chars < 1:
            raise VQAError(f"max_answer_chars must be an integer >= 1, got "
                           f"{self.max_answer_chars!r}")


@dataclass(frozen=True)
class Score:
    """A scored answer: the reward, what was read (metres, degrees, an hour, True/False,
    an option index, or None), the relative error of a length (None otherwise, or when
    it is not a finite number: a truth of 0 m), and ``reason``: "ok", "wrong",
    "unreadable" or "too long" (the last two: nothing was read)."""

    reward: float
    parsed: Any
    relative_error: float | None
    reason: str

    @property
    def correct(self) -> bool:
        return self.reason == "ok" and self.reward >= 1.0

    @property
    def readable(self) -> bool:
        return self.reason not in UNREADABLE


def _band(error: float, tolerance: float, exact_limit: float, mode: Mode,
          exact_error: float) -> float:
    """The reward of an answer off by ``error`` (relative for lengths, degrees for
    bearings) and ``exact_error`` (absolute) with a stated precision of ``exact_limit``."""
    exact = exact_error <= exact_limit
    if mode == "exact":
        return 1.0 if exact else 0.0
    if mode == "within":
        return 1.0 if error <= tolerance + 1e-12 else 0.0
    if exact and error <= tolerance:  # right at the precision it chose
        return 1.0
    return max(0.0, min(1.0, 1.0 - error / (2.0 * tolerance)))


def _score_length(qa: Mapping[str, Any], answer: str, settings: VerifierSettings) -> Score:
    truth_m = float(qa["value"])
    length = parse_length(answer, bare_unit=settings.bare_unit)
    if length is None:
        return Score(0.0, None, None, "unreadable")
    error = abs(length.metres - truth_m) / truth_m if truth_m > 0 else math.inf
    reported = error if math.isfinite(error) else None
    if length.metres < 0:  # a length is never negative: wrong, whatever its size
        return Score(0.0, length.metres, reported, "wrong")
    reward = _band(error, settings.tolerance, length.half_step_m * (1 + 1e-9), settings.mode,
                   abs(length.metres - truth_m))
    return Score(reward, length.metres, reported, "ok" if reward > 0 else "wrong")


def _score_degrees(qa: Mapping[str, Any], answer: str, settings: VerifierSettings) -> Score:
    bearing = parse_degrees(answer)
    if bearing is None:
        return Score(0.0, None, None, "unreadable")
    difference = abs((bearing - float(qa["value"]) + 180.0) % 360.0 - 180.0)
    reward = _band(difference, settings.tolerance_deg, _DEGREE_STEP + 1e-9, settings.mode,
                   difference)
    return Score(reward, bearing, None, "ok" if reward > 0 else "wrong")


def _score_clock(qa: Mapping[str, Any], answer: str, settings: VerifierSettings) -> Score:
    hour = parse_clock(answer)
    if hour is None:
        return Score(0.0, None, None, "unreadable")
    off = abs((hour - round(float(qa["value"])) + 6) % 12 - 6)  # hours around the dial
    one_off = {"exact": 0.0, "within": 1.0, "graded": 0.5}[settings.mode]
    reward = 1.0 if off == 0 else (one_off if off == 1 else 0.0)
    return Score(reward, hour, None, "ok" if reward > 0 else "wrong")


def _score_binary(qa: Mapping[str, Any], said: bool | None) -> Score:
    if said is None:
        return Score(0.0, None, None, "unreadable")
    right = said == (qa["truth"] == "true")
    return Score(1.0 if right else 0.0, said, None, "ok" if right else "wrong")


def _names(qa: Mapping[str, Any], side: str) -> tuple[str, ...]:
    """What an answer may call the subject or the object: its referring expression
    ("the red mug"), then its label ("mug"; all older records have)."""
    return tuple(dict.fromkeys(str(qa[key]) for key in (f"{side}_text", f"{side}_label")
                               if qa.get(key)))


def _score_options(qa: Mapping[str, Any], answer: str) -> Score:
    options = [str(o) for o in qa["options"]]
    picked = parse_letter(answer, len(options))
    if picked is None:
        lowered = answer.lower()
        named = [i for i, option in enumerate(options) if option.lower() in lowered]
        picked = named[0] if len(named) == 1 else None
    if picked is None:
        return Score(0.0, None, None, "unreadable")
    right = picked == int(qa["correct"])
    return Score(1.0 if right else 0.0, picked, None, "ok" if right else "wrong")


def _category(qa: Mapping[str, Any]) -> Category:
    """The catalogue category of a QA, checked to carry what its form is scored on."""
    category = CATEGORIES.get(str(qa.get("category", "")))
    if category is None:
        raise VQAError(f"unknown category {qa.get('category')!r}: the verifier scores the "
                       f"categories of this package's catalogue ({len(CATEGORIES)})")
    if category.form in ("measure", "clock", "degrees") and qa.get("value") is None:
        raise VQAError(f"a {category.name} QA needs its value")
    if category.form in ("predicate", "choice") and qa.get("truth") not in ("true", "false"):
        raise VQAError(f"a {category.name} QA needs truth 'true' or 'false'")
    return category


def score_answer(qa: Mapping[str, Any], answer: str,
                 settings: VerifierSettings = VerifierSettings()) -> Score:
    """Score ``answer`` against one QA of a record (its ``qa`` list's fields:
    ``category``, ``value``, ``truth``, ``subject_text``, ``object_text``; ``options`` and
    ``correct`` for a lettered form). VQAError for a QA the verifier cannot read."""
    if not isinstance(answer, str):
        raise VQAError(f"an answer must be text, got {type(answer).__name__}")
    category = None if qa.get("options") else _category(qa)
    if len(answer) > settings.max_answer_chars:
        return Score(0.0, None, None, "too long")
    if category is None:
        return _score_options(qa, answer)
    form = category.form
    if form == "measure":
        return _score_length(qa, answer, settings)
    if form == "degrees":
        return _score_degrees(qa, answer, settings)
    if form == "clock":
        return _score_clock(qa, answer, settings)
    subject, obj = _names(qa, "subject"), _names(qa, "object")
    if form == "choice":
        return _score_binary(qa, parse_choice(answer, subject, obj))
    affirm, oppose = relation_phrases(category.name)
    return _score_binary(qa, parse_yes_no(answer, affirm=affirm, oppose=oppose,
                                          subject=subject, obj=obj))


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string, or a conversation's last assistant turn
    (content a string or a list of typed parts)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion:
        message = completion[-1]
        content = message.get("content", "") if isinstance(message, Mapping) else message
        if isinstance(content, str):
            return content
        if isinstance(content, Sequence):
            return " ".join(str(part.get("text", "")) for part in content
                            if isinstance(part, Mapping) and part.get("type") == "text")
    return ""


def make_reward_function(settings: VerifierSettings = VerifierSettings(), *,
                         truth_column: str = "qa"):
    """A reward function with TRL's ``reward_funcs`` signature: called with the
    ``completions`` of a batch and the dataset's columns as keyword lists, it returns
    one float per completion. ``truth_column`` names the column holding each row's QA
    fields (the TRL records this package writes name it ``qa``)."""
    def spatial_answer_reward(completions: Sequence[Any], **columns: Any) -> list[float]:
        truths = columns.get(truth_column)
        if truths is None or len(truths) != len(completions):
            raise VQAError(f"the reward needs a {truth_column!r} column with one QA per "
                           f"completion (got {None if truths is None else len(truths)} for "
                           f"{len(completions)})")
        return [score_answer(qa, completion_text(c), settings).reward
                for qa, c in zip(truths, completions)]

    return spatial_answer_reward

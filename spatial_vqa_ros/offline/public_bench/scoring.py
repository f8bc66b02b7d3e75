"""An answer's text judged two ways: by the benchmark's own rule (:mod:`.rules`) and by
this package's answer verifier (``within``: a length within 25%, a clock hour within
one, yes/no and which-of-two right).

The text is read once by the verifier's readers (lengths in any unit, clock hours,
yes/no, which-of-two); those readings feed the benchmark's rule, in place of GPT-4 for
SpatialRGPT-Bench. A Q-Spatial answer with the ``\\scalar{} \\distance_unit{}`` tags its
prompt asks for is read by the official notebook's reader instead; a plain-text one
(ours, or a model's that ignored the tags) by the verifier's length reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...core.vqa.verify import Score, VerifierSettings, score_answer
from .questions import BenchQuestion, with_region_names
from .rules import (
    clock_hours_apart,
    qspatial_official_metres,
    qspatial_success,
    relative_error,
    spatialrgpt_length_success,
)

__all__ = ["Judged", "judge_answer"]

VERIFIER = VerifierSettings()


@dataclass(frozen=True)
class Judged:
    """One answer judged: ``success`` by the benchmark's rule, ``read`` what was read
    (metres, a clock hour, True/False, None when nothing), ``relative_error`` of a read
    length (None otherwise), ``verifier`` our verifier's score, ``reader`` which reader
    read it ("verifier" or "official" tags)."""

    success: bool
    read: Any
    relative_error: float | None
    verifier: Score
    reader: str = "verifier"


def _spatialrgpt(question: BenchQuestion, score: Score) -> tuple[bool, float | None]:
    if score.parsed is None or not score.readable:
        return False, None
    if question.relation == "direction":
        return clock_hours_apart(int(score.parsed), int(question.qa["value"])) <= 1, None
    truth_m = question.truth_m
    if truth_m is not None:
        metres = float(score.parsed)
        if metres < 0:
            return False, None
        return spatialrgpt_length_success(metres, truth_m), relative_error(metres, truth_m)
    return score.correct, None


def judge_answer(question: BenchQuestion, text: str) -> Judged:
    """``text`` (ours or a model's) judged for ``question`` (module docstring)."""
    text = with_region_names(text) if question.regions else text
    score = score_answer(question.qa, text, VERIFIER)
    if question.benchmark == "spatialrgpt":
        success, error = _spatialrgpt(question, score)
        return Judged(success, score.parsed, error, score)
    truth_m = float(question.qa["value"])
    official = qspatial_official_metres(text)
    if official is not None:
        return Judged(qspatial_success(official, truth_m), official,
                      relative_error(official, truth_m), score, "official")
    if score.parsed is None or not score.readable or float(score.parsed) <= 0:
        return Judged(False, score.parsed, None, score)
    metres = float(score.parsed)
    return Judged(qspatial_success(metres, truth_m), metres, relative_error(metres, truth_m),
                  score)

"""A model's answers to a dataset's questions, scored per category with the
SpatialRGPT-Bench metrics: success rate (within +-25% for quantities, right for
yes/no, choices and directions) and, for lengths, the absolute relative error.

Pure Python: the ``spatial-vqa eval`` command reads the files and prints the table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .verify import Score, VerifierSettings, score_answer

__all__ = ["CategoryResult", "EvalResult", "evaluate"]


@dataclass
class CategoryResult:
    """The answers to one category: how many, how many could be read, how many were
    right, the mean reward, and each length's absolute relative error."""

    answers: int = 0
    readable: int = 0
    correct: int = 0
    reward_sum: float = 0.0
    relative_errors: list[float] = field(default_factory=list)

    def add(self, score: Score) -> None:
        self.answers += 1
        self.readable += score.readable
        self.correct += score.correct
        self.reward_sum += score.reward
        if score.relative_error is not None:
            self.relative_errors.append(score.relative_error)

    def row(self) -> dict[str, Any]:
        errors = self.relative_errors
        return {"answers": self.answers, "readable": self.readable,
                "success_rate": self.correct / self.answers if self.answers else None,
                "mean_reward": self.reward_sum / self.answers if self.answers else None,
                # each term divided first: a sum of huge errors never overflows
                "abs_rel_error_mean": math.fsum(e / len(errors) for e in errors)
                if errors else None,
                "abs_rel_error_median": _median(errors) if errors else None}


def _median(values: list[float]) -> float:
    """The median, halving before adding (``statistics.median`` of two 1e308 errors is
    inf, which is not JSON)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return ordered[middle - 1] / 2 + ordered[middle] / 2


@dataclass
class EvalResult:
    """Per-category results and all of them together."""

    settings: VerifierSettings
    categories: dict[str, CategoryResult] = field(default_factory=dict)
    overall: CategoryResult = field(default_factory=CategoryResult)

    def add(self, qa: Mapping[str, Any], score: Score) -> None:
        """Count one scored answer to ``qa`` in its category and overall."""
        self.categories.setdefault(str(qa.get("category")), CategoryResult()).add(score)
        self.overall.add(score)

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.settings.mode, "tolerance": self.settings.tolerance,
                "overall": self.overall.row(),
                "categories": {name: result.row()
                               for name, result in sorted(self.categories.items())}}


_DEFAULT = VerifierSettings()


def evaluate(pairs: Iterable[tuple[Mapping[str, Any], str]],
             settings: VerifierSettings = _DEFAULT) -> EvalResult:
    """Score (QA fields, model answer) pairs; see :func:`.verify.score_answer`."""
    result = EvalResult(settings)
    for qa, answer in pairs:
        result.add(qa, score_answer(qa, answer, settings))
    return result

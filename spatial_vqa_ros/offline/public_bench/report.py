"""The benchmark's table, beside the published rows, and the per-question records.

The headline success counts every question: a refusal (partial, unclear, an object not
found, an image that failed) is a failure, as "I cannot tell" is for a model. Beside it:
the share answered and the success over the answered questions. The relative error is
the official one (mean of |p - g| / g over the lengths that were read).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .questions import BenchQuestion
from .scoring import Judged

__all__ = ["QuestionResult", "format_table", "result_record", "summarise"]

#: SpatialRGPT-Bench's quantitative categories, in the paper's column order.
SPATIALRGPT_QUANTITATIVE = {
    "distance_data": "direct distance", "horizontal_distance_data": "horizontal distance",
    "vertical_distance_data": "vertical distance", "width_data": "width",
    "height_data": "height", "direction": "direction (clock +-1 h)"}
#: The official scorer's qualitative buckets (a category's bucket: the first pair one of
#: whose words it contains).
SPATIALRGPT_BUCKETS = (("below", "above"), ("left", "right"), ("big", "small"),
                       ("tall", "short"), ("wide", "thin"), ("behind", "front"))
#: The SpatialRGPT paper's Table 1 (NeurIPS 2024, arXiv 2406.01584): success % and
#: absolute relative error per quantitative category (direction: success only), and
#: success % per qualitative bucket.
SPATIALRGPT_PUBLISHED: dict[str, dict[str, tuple[float, float | None]]] = {
    "GPT-4V (language referral)": {
        "distance_data": (29.7, 0.92), "horizontal_distance_data": (25.4, 2.75),
        "vertical_distance_data": (33.0, 0.48), "width_data": (51.1, 0.37),
        "height_data": (68.4, 1.57), "direction": (43.9, None),
        "below/above": (63.34, None), "left/right": (46.67, None), "big/small": (64.15, None),
        "tall/short": (60.71, None), "wide/thin": (68.26, None),
        "behind/front": (45.45, None)},
    "SpatialRGPT-7B (RGB + depth, masks)": {
        "distance_data": (41.2, 0.33), "horizontal_distance_data": (65.6, 0.25),
        "vertical_distance_data": (51.9, 0.27), "width_data": (49.6, 0.31),
        "height_data": (57.9, 0.61), "direction": (95.3, None),
        "below/above": (99.17, None), "left/right": (99.04, None), "big/small": (80.19, None),
        "tall/short": (91.96, None), "wide/thin": (87.50, None),
        "behind/front": (91.81, None)},
    "SpatialRGPT-VILA-1.5-8B": {
        "distance_data": (45.9, 0.31), "horizontal_distance_data": (68.0, 0.22),
        "vertical_distance_data": (56.6, 0.28), "width_data": (48.9, 0.28),
        "height_data": (61.7, 0.41), "direction": (95.3, None),
        "below/above": (99.17, None), "left/right": (100.0, None), "big/small": (84.90, None),
        "tall/short": (89.28, None), "wide/thin": (91.34, None),
        "behind/front": (90.90, None)},
}
#: Q-Spatial Bench success (delta < 2) per split, standard prompt, as a third-party
#: summary of the paper (Liao et al., EMNLP 2024, arXiv 2409.09788) gives them: not
#: checked against the paper here, and printed as such.
QSPATIAL_PUBLISHED: dict[str, dict[str, float]] = {
    "GPT-4o": {"QSpatial_scannet": 69.41, "QSpatial_plus": 61.06},
    "GPT-4V": {"QSpatial_scannet": 25.88, "QSpatial_plus": 18.81},
    "LLaVA v1.6-34B": {"QSpatial_scannet": 60.59, "QSpatial_plus": 36.62},
}


@dataclass(frozen=True)
class QuestionResult:
    """A judged answer: whose (``answered``: stated by the core or given by a model),
    the text, why it was refused, the judgement, and the numbers' provenance."""

    question: BenchQuestion
    text: str
    answered: bool
    judged: Judged | None
    reason: str = ""
    provenance: tuple[tuple[str, str], ...] = ()

    @property
    def success(self) -> bool:
        return self.answered and self.judged is not None and self.judged.success


def group_of(question: BenchQuestion) -> str:
    """The row a question is tallied under: SpatialRGPT's category (qualitative ones
    in the scorer's buckets), Q-Spatial's split."""
    if question.benchmark == "qspatial":
        return question.qid.split(":")[0]
    if question.category in SPATIALRGPT_QUANTITATIVE:
        return question.category
    for pair in SPATIALRGPT_BUCKETS:
        if any(word in question.category for word in pair):
            return "/".join(pair)
    return question.category


def _row(results: Sequence[QuestionResult]) -> dict[str, Any]:
    answered = [r for r in results if r.answered]
    errors = [r.judged.relative_error for r in answered
              if r.judged is not None and r.judged.relative_error is not None]
    verified = [r for r in answered if r.judged is not None and r.judged.verifier.correct]
    n = len(results)
    return {"questions": n,
            "success": 100.0 * sum(r.success for r in results) / n if n else None,
            "answered": 100.0 * len(answered) / n if n else None,
            "success_answered": 100.0 * sum(r.success for r in answered) / len(answered)
            if answered else None,
            "abs_rel_error": sum(errors) / len(errors) if errors else None,
            "verifier_success": 100.0 * len(verified) / n if n else None}


def summarise(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """Rows per group and overall (module docstring), JSON-able."""
    groups: dict[str, list[QuestionResult]] = {}
    for result in results:
        groups.setdefault(group_of(result.question), []).append(result)
    rows = {name: _row(members) for name, members in groups.items()}
    rows["overall"] = _row(results)
    reasons: dict[str, int] = {}
    for result in results:
        if not result.answered:
            key = result.reason.split(":")[0][:60] or "no answer"
            reasons[key] = reasons.get(key, 0) + 1
    sources: dict[str, int] = {}
    for result in results:  # where each answer's camera came from (the scale's source)
        source = dict(result.provenance).get("intrinsics_source")
        if source:
            sources[source] = sources.get(source, 0) + 1
    return {"rows": rows, "refusals": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
            "intrinsics_sources": sources}


def _cell(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(summary: dict[str, Any], benchmark: str, source: str) -> str:
    """The benchmark's table: our rows (success over all questions | answered % |
    success over the answered | relative error | verifier success), then the published
    rows for the same groups. ``source`` names what answered (the chain, or a file)."""
    rows = summary["rows"]
    rule = ("success: within 0.75-1.25x the truth, direction within 1 clock hour, "
            "yes/no and choice right; read by this package's verifier in place of the "
            "official GPT-4 reader") if benchmark == "spatialrgpt" else \
        "success: max(p/g, g/p) < 2 (the official rule)"
    lines = [f"{benchmark}: {source}", rule,
             f"{'group':26s} {'n':>5s} {'success%':>9s} {'answered%':>10s} "
             f"{'succ/answ%':>10s} {'abs rel':>8s} {'verifier%':>10s}"]
    order = [*SPATIALRGPT_QUANTITATIVE, *("/".join(p) for p in SPATIALRGPT_BUCKETS)]
    names = sorted(rows, key=lambda n: (n == "overall", order.index(n) if n in order else 99, n))
    for name in names:
        row = rows[name]
        label = SPATIALRGPT_QUANTITATIVE.get(name, name)
        lines.append(f"{label:26s} {row['questions']:5d} {_cell(row['success']):>9s} "
                     f"{_cell(row['answered']):>10s} {_cell(row['success_answered']):>10s} "
                     f"{_cell(row['abs_rel_error'], 2):>8s} "
                     f"{_cell(row['verifier_success']):>10s}")
    if summary.get("intrinsics_sources"):
        lines.append("intrinsics per question: " + ", ".join(
            f"{k} {v}" for k, v in summary["intrinsics_sources"].items()))
    lines += _published(benchmark, [n for n in names if n != "overall"])
    return "\n".join(lines)


def _published(benchmark: str, names: Iterable[str]) -> list[str]:
    names = list(names)
    if benchmark == "spatialrgpt":
        lines = ["published (SpatialRGPT paper, Table 1; success % / abs rel error):"]
        for model, table in SPATIALRGPT_PUBLISHED.items():
            cells = [f"{SPATIALRGPT_QUANTITATIVE.get(n, n)} {table[n][0]:.1f}"
                     + (f" / {table[n][1]:.2f}" if table[n][1] is not None else "")
                     for n in names if n in table]
            lines.append(f"  {model}: " + "; ".join(cells))
        return lines
    lines = ["published (Q-Spatial paper, standard prompt, success delta<2 %; from a "
             "summary of the paper, not checked against it here):"]
    for model, table in QSPATIAL_PUBLISHED.items():
        lines.append(f"  {model}: " + "; ".join(f"{n} {table[n]:.2f}" for n in names
                                                if n in table))
    return lines


def result_record(result: QuestionResult) -> dict[str, Any]:
    """One line of the per-question file: the question, the truth, our answer, how it
    was judged and why it was refused."""
    q, judged = result.question, result.judged
    return {"id": q.qid, "category": q.category, "relation": q.relation,
            "question": q.question, "truth": q.truth_text, "truth_value": q.qa.get("value"),
            "truth_bool": q.qa.get("truth"), "answer": result.text,
            "answered": result.answered, "success": result.success,
            "read": judged.read if judged is not None else None,
            "relative_error": judged.relative_error if judged is not None else None,
            "verifier_reward": judged.verifier.reward if judged is not None else None,
            "reader": judged.reader if judged is not None else None,
            "reason": result.reason, **dict(result.provenance)}

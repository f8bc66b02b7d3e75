"""`spatial-vqa eval DATASET ANSWERS`: a model's answers scored per category.

ANSWERS is JSON lines, one per answered question: ``{"id": "<record id>", "qa": <index
of the QA in the record, default 0>, "answer": "<the model's text>"}``. DATASET is a
dataset directory written by this package, or a JSON-lines file of its records. A line
that cannot be scored (not UTF-8, not JSON, nested too deep, no such record or QA, an
answer that is not text) is reported on stderr and counted as `unscored`, never
silently dropped; the rest are scored.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Line errors printed one by one; the rest are counted.
_SHOWN_ERRORS = 20


@dataclass
class _Problems:
    """Lines of the input files that could not be scored: ``path:line: why``."""

    messages: list[str] = field(default_factory=list)

    def add(self, path: Path, number: int, why: str) -> None:
        self.messages.append(f"{path}:{number}: {why}")


def _json_lines(path: Path, what: str, problems: _Problems) -> list[tuple[int, dict]]:
    """(line number, object) of every readable line; each unreadable one (not UTF-8,
    not JSON, nested too deep for the parser, not an object) goes to ``problems``.
    DataIOError only when the file itself cannot be read."""
    from ..io.errors import DataIOError

    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataIOError(f"cannot read {path}: {error.strerror or error}") from None
    rows = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            problems.add(path, number, f"not UTF-8 text (byte {raw[error.start]:#04x} at "
                         f"column {error.start + 1})")
            continue
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except RecursionError:
            problems.add(path, number, "JSON nested too deep to read")
            continue
        except ValueError as error:
            problems.add(path, number, f"not JSON ({error})")
            continue
        if not isinstance(row, dict):
            problems.add(path, number, f"{what} must be a JSON object")
            continue
        rows.append((number, row))
    return rows


def _records(path: Path, problems: _Problems) -> dict[str, dict[str, Any]]:
    from ..io.datasets.layout import load_records
    from ..io.errors import DataIOError

    if path.is_dir():
        records = load_records(path)
        if not records:
            raise DataIOError(f"{path} holds no dataset records (data/shard-*.jsonl)")
        return {str(record["id"]): record for record in records if "id" in record}
    by_id = {}
    for number, record in _json_lines(path, "a record", problems):
        if "id" not in record:
            problems.add(path, number, "a record without an 'id'")
            continue
        by_id[str(record["id"])] = record
    if not by_id:
        raise DataIOError(f"{path} holds no readable dataset records")
    return by_id


def _qa_of(records: Mapping[str, dict[str, Any]], row: dict[str, Any]) -> Mapping[str, Any]:
    """The QA an answer names; ValueError saying why there is none."""
    record = records.get(str(row.get("id")))
    if record is None:
        raise ValueError(f"no record with id {row.get('id')!r}")
    index = row.get("qa", 0)
    qas = record.get("qa")
    if not isinstance(qas, list):
        raise ValueError(f"record {row['id']} has no 'qa' list")
    # bool is an int to Python: "qa": true is not index 1
    if type(index) is not int or not 0 <= index < len(qas):
        raise ValueError(f"record {row['id']} has {len(qas)} QAs, not index {index!r}")
    if not isinstance(qas[index], Mapping):
        raise ValueError(f"record {row['id']} QA {index} is not an object")
    if not isinstance(row.get("answer"), str):
        raise ValueError("'answer' must be text")
    return qas[index]


def _score(records: Mapping[str, dict[str, Any]], answers: list[tuple[int, dict]],
           path: Path, settings, problems: _Problems):
    """The evaluation of every answer that names a QA the verifier can read."""
    from ..core.vqa import VQAError
    from ..core.vqa.evaluate import EvalResult
    from ..core.vqa.verify import score_answer

    result = EvalResult(settings)
    for number, row in answers:
        try:
            qa = _qa_of(records, row)
            result.add(qa, score_answer(qa, row["answer"], settings))
        except (ValueError, VQAError) as error:
            problems.add(path, number, str(error))
    return result


def _print_table(summary: dict[str, Any]) -> None:
    def cell(value: Any, percent: bool = False) -> str:
        if value is None:
            return "-"
        if percent:
            return f"{100 * value:.1f}%"
        return f"{value:.3f}" if abs(value) < 1e6 else f"{value:.3g}"  # 1e300, not 300 digits

    print(f"mode {summary['mode']}, tolerance {summary['tolerance']}")
    print(f"  {'category':24s} {'answers':>8s} {'readable':>9s} {'success':>8s} "
          f"{'reward':>7s} {'|rel err| mean':>15s} {'median':>7s}")
    rows = [*summary["categories"].items(), ("all", summary["overall"])]
    for name, row in rows:
        print(f"  {name:24s} {row['answers']:8d} {row['readable']:9d} "
              f"{cell(row['success_rate'], True):>8s} {cell(row['mean_reward']):>7s} "
              f"{cell(row['abs_rel_error_mean']):>15s} {cell(row['abs_rel_error_median']):>7s}")


def _report(problems: _Problems) -> None:
    for message in problems.messages[:_SHOWN_ERRORS]:
        print(f"spatial-vqa eval: {message}", file=sys.stderr)
    hidden = len(problems.messages) - _SHOWN_ERRORS
    if hidden > 0:
        print(f"spatial-vqa eval: ... and {hidden} more lines that cannot be scored",
              file=sys.stderr)


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..core.vqa import VQAError
    from ..core.vqa.verify import VerifierSettings
    from ..io.atomic import atomic_write
    from ..io.errors import DataIOError

    problems = _Problems()
    try:
        settings = VerifierSettings(mode=args.mode, tolerance=args.tolerance)
        answers_path = Path(args.answers)
        records = _records(Path(args.dataset), problems)
        result = _score(records, _json_lines(answers_path, "an answer", problems),
                        answers_path, settings, problems)
        _report(problems)
        if not result.overall.answers:
            raise DataIOError(f"{answers_path} holds no answer that can be scored"
                              + (f" ({len(problems.messages)} lines cannot be)"
                                 if problems.messages else ""))
        summary = {**result.as_dict(), "unscored": len(problems.messages)}
        if args.out:
            # allow_nan=False: --out is JSON a strict parser reads (no Infinity/NaN)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            atomic_write(Path(args.out),
                         (json.dumps(summary, indent=2, allow_nan=False) + "\n").encode())
    except (DataIOError, VQAError, OSError, ValueError) as error:
        print(f"spatial-vqa eval: {error}", file=sys.stderr)
        return 2
    _print_table(summary)
    if problems.messages:
        print(f"spatial-vqa eval: {len(problems.messages)} lines could not be scored (see "
              f"above); {result.overall.answers} answers were", file=sys.stderr)
        return 1
    return 0


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "eval", help="score a model's answers to a dataset's questions, per category",
        description=__doc__.split("\n\n", 1)[1] + " Exit status: 0 every answer scored, 1 "
        "some lines could not be scored (the rest were; each said why), 2 nothing scored "
        "or an error said why.")
    parser.add_argument("dataset", help="dataset directory, or a JSON-lines file of records")
    parser.add_argument("answers", help="JSON lines: {id, qa, answer} per answer")
    parser.add_argument("--mode", default="within", choices=["exact", "within", "graded"],
                        help="within: +-tolerance, a clock position +-1 hour "
                        "(SpatialRGPT-Bench success); exact: at the precision the answer "
                        "states, the clock hour itself; graded: partial credit")
    parser.add_argument("--tolerance", type=float, default=0.25,
                        help="relative tolerance of lengths (default 0.25)")
    parser.add_argument("--out", help="also write the summary as JSON here (with "
                        "'unscored': the count of lines that could not be scored)")
    parser.set_defaults(run=run)

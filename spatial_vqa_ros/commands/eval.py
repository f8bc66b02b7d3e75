"""`spatial-vqa eval DATASET ANSWERS`: a model's answers scored per category.

ANSWERS is JSON lines, one per answered question: ``{"id": "<record id>", "qa": <index
of the QA in the record, default 0>, "answer": "<the model's text>"}``. DATASET is a
dataset directory written by this package, or a JSON-lines file of its records. Every
answer must name a QA the dataset has; one that does not is an error (exit 2), never
silently dropped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _records(path: Path) -> dict[str, dict[str, Any]]:
    from ..io.datasets.layout import load_records
    from ..io.errors import DataIOError

    if path.is_dir():
        records = load_records(path)
        if not records:
            raise DataIOError(f"{path} holds no dataset records (data/shard-*.jsonl)")
    else:
        records = _json_lines(path, "record")
    return {str(record["id"]): record for record in records}


def _json_lines(path: Path, what: str) -> list[dict[str, Any]]:
    from ..io.errors import DataIOError

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise DataIOError(f"cannot read {path}: {error.strerror or error}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise DataIOError(f"{path}:{number}: not JSON ({error})") from None
        if not isinstance(row, dict):
            raise DataIOError(f"{path}:{number}: a {what} must be a JSON object")
        rows.append(row)
    return rows


def _pairs(records: dict[str, dict[str, Any]], answers: list[dict[str, Any]], path: Path):
    from ..io.errors import DataIOError

    pairs = []
    for number, row in enumerate(answers, 1):
        record = records.get(str(row.get("id")))
        index = row.get("qa", 0)
        if record is None:
            raise DataIOError(f"{path} answer {number}: no record with id {row.get('id')!r}")
        if not isinstance(index, int) or not 0 <= index < len(record["qa"]):
            raise DataIOError(f"{path} answer {number}: record {row['id']} has "
                              f"{len(record['qa'])} QAs, not index {index!r}")
        if not isinstance(row.get("answer"), str):
            raise DataIOError(f"{path} answer {number}: 'answer' must be text")
        pairs.append((record["qa"][index], row["answer"]))
    return pairs


def _print_table(summary: dict[str, Any]) -> None:
    def cell(value: Any, percent: bool = False) -> str:
        if value is None:
            return "-"
        return f"{100 * value:.1f}%" if percent else f"{value:.3f}"

    print(f"mode {summary['mode']}, tolerance {summary['tolerance']}")
    print(f"  {'category':24s} {'answers':>8s} {'readable':>9s} {'success':>8s} "
          f"{'reward':>7s} {'|rel err| mean':>15s} {'median':>7s}")
    rows = [*summary["categories"].items(), ("all", summary["overall"])]
    for name, row in rows:
        print(f"  {name:24s} {row['answers']:8d} {row['readable']:9d} "
              f"{cell(row['success_rate'], True):>8s} {cell(row['mean_reward']):>7s} "
              f"{cell(row['abs_rel_error_mean']):>15s} {cell(row['abs_rel_error_median']):>7s}")


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..core.vqa import VQAError
    from ..core.vqa.evaluate import evaluate
    from ..core.vqa.verify import VerifierSettings
    from ..io.atomic import atomic_write
    from ..io.errors import DataIOError

    try:
        settings = VerifierSettings(mode=args.mode, tolerance=args.tolerance)
        answers_path = Path(args.answers)
        pairs = _pairs(_records(Path(args.dataset)), _json_lines(answers_path, "answer"),
                       answers_path)
        if not pairs:
            raise DataIOError(f"{answers_path} holds no answers")
        summary = evaluate(pairs, settings).as_dict()
        if args.out:
            atomic_write(Path(args.out), (json.dumps(summary, indent=2) + "\n").encode())
    except (DataIOError, VQAError, KeyError, OSError) as error:
        print(f"spatial-vqa eval: {error}", file=sys.stderr)
        return 2
    _print_table(summary)
    return 0


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "eval", help="score a model's answers to a dataset's questions, per category",
        description=__doc__.split("\n\n", 1)[1] + " Exit status: 0 scored, 2 an error "
        "said why.")
    parser.add_argument("dataset", help="dataset directory, or a JSON-lines file of records")
    parser.add_argument("answers", help="JSON lines: {id, qa, answer} per answer")
    parser.add_argument("--mode", default="within", choices=["exact", "within", "graded"],
                        help="within: +-tolerance (SpatialRGPT-Bench success); exact: at "
                        "the precision the answer states; graded: partial credit")
    parser.add_argument("--tolerance", type=float, default=0.25,
                        help="relative tolerance of lengths (default 0.25)")
    parser.add_argument("--out", help="also write the summary as JSON here")
    parser.set_defaults(run=run)

"""`spatial-vqa to-trl DATASET OUT`: a written dataset as TRL-ready parquet (chat
messages with embedded images; SFT or GRPO rows)."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..io.datasets.trl import export_trl
    from ..io.errors import DataIOError

    try:
        result = export_trl(args.dataset, args.out, form=args.form,
                            multiple_choice=args.multiple_choice, shard_size=args.shard_size)
    except (DataIOError, OSError) as error:
        print(f"spatial-vqa to-trl: {error}", file=sys.stderr)
        return 2
    print(f"{result.rows} {args.form} rows in {result.shards} parquet shards: {result.path}",
          file=sys.stderr)
    return 0


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "to-trl", help="export a dataset as TRL-ready parquet (messages + images)",
        description="Rows of chat messages with the image embedded (datasets.Image), in "
        "parquet shards that load with one load_dataset call. sft: one row per image, "
        "every QA a turn pair; grpo: one row per QA with its prompt, reference answer and "
        "the structured truth (column qa) the answer verifier scores. Exit status: 0 "
        "written, 2 an error said why.")
    parser.add_argument("dataset", help="dataset directory written by this package")
    parser.add_argument("out", help="output directory (new, or a previous to-trl export)")
    parser.add_argument("--form", choices=("sft", "grpo"), default="sft")
    parser.add_argument("--multiple-choice", action="store_true",
                        help="yes/no and which-of-two questions as lettered options "
                        "(CV-Bench style)")
    parser.add_argument("--shard-size", type=int, default=1000, help="rows per shard")
    parser.set_defaults(run=run)

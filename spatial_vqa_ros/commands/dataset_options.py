"""The options and the ending shared by the commands that write datasets (bag2dataset,
images2dataset): one spelling, one check, one writer."""

from __future__ import annotations

import argparse
import sys


def add_dataset_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="QA sampling seed (default 0)")
    parser.add_argument("--qa-per-image", type=int, default=8)
    parser.add_argument("--units", choices=("metric", "imperial", "mixed"), default="metric")
    parser.add_argument("--qualitative-fraction", type=float, default=0.0,
                        help="share of reasoning (chain-of-thought) answers, 0..1")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: one process; ray: one source per Ray task")
    parser.add_argument("--workers", type=int, default=2, help="Ray tasks at a time")
    parser.add_argument("--image-format", choices=("jpg", "png"), default="jpg")
    parser.add_argument("--jpeg-quality", type=int, default=95)
    parser.add_argument("--shard-size", type=int, default=1000, help="records per shard")
    parser.add_argument("--push-to-hub", metavar="REPO_ID",
                        help="upload the dataset to this Hugging Face dataset repo at the end")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def dataset_config(args: argparse.Namespace, perception, **extra):
    """The Bag2DatasetConfig the options describe (``extra``: topics, every_n)."""
    from ..core.vqa import SynthesisConfig
    from ..offline.bag2dataset import Bag2DatasetConfig
    from .perception_options import prompts_from

    return Bag2DatasetConfig(
        synthesis=SynthesisConfig(qa_per_image=args.qa_per_image, units=args.units,
                                  qualitative_fraction=args.qualitative_fraction,
                                  seed=args.seed),
        perception=perception, prompts=tuple(prompts_from(args)),
        image_format=args.image_format, jpeg_quality=args.jpeg_quality,
        shard_size=args.shard_size, **extra)


def finish(summary, args: argparse.Namespace, prog: str) -> int:
    """Print the summary, push when asked; the exit status."""
    print(summary.format(), file=sys.stderr)
    if args.push_to_hub:
        from ..io.datasets import push_to_hub
        from ..io.errors import DataIOError

        try:
            url = push_to_hub(args.out, args.push_to_hub)
        except DataIOError as error:
            print(f"spatial-vqa {prog}: {error}", file=sys.stderr)
            return 2
        print(f"pushed to {url}", file=sys.stderr)
    return 0 if summary.ok else 1

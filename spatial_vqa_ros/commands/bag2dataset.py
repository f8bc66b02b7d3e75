"""`spatial-vqa bag2dataset BAG [BAG ...] OUT`: recorded bags to a spatial VQA dataset."""

from __future__ import annotations

import argparse
import sys

from .perception_options import add_perception_options, prompts_from
from .scenes import add_topic_options, perception_from, topics_from


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..core.vqa import SynthesisConfig, VQAError
    from ..io.errors import DataIOError
    from ..offline.bag2dataset import Bag2DatasetConfig, bag2dataset
    from ..perception.errors import PerceptionError

    try:
        config = Bag2DatasetConfig(
            synthesis=SynthesisConfig(qa_per_image=args.qa_per_image, units=args.units,
                                      qualitative_fraction=args.qualitative_fraction,
                                      seed=args.seed),
            topics=topics_from(args), perception=perception_from(args),
            prompts=tuple(prompts_from(args)), every_n=args.every_n,
            image_format=args.image_format,
            jpeg_quality=args.jpeg_quality, shard_size=args.shard_size)
        summary = bag2dataset(args.bags, args.out, config, engine=args.engine,
                              workers=args.workers, progress=not args.no_progress)
    except (DataIOError, VQAError, PerceptionError) as error:
        print(f"spatial-vqa bag2dataset: {error}", file=sys.stderr)
        return 2
    print(summary.format(), file=sys.stderr)
    if args.push_to_hub:
        from ..io.datasets import push_to_hub

        try:
            url = push_to_hub(args.out, args.push_to_hub)
        except DataIOError as error:
            print(f"spatial-vqa bag2dataset: {error}", file=sys.stderr)
            return 2
        print(f"pushed to {url}", file=sys.stderr)
    return 0 if summary.ok else 1


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "bag2dataset", help="turn rosbag2 recordings into a spatial VQA dataset",
        description="Run the perception chain (default: the simulation chain, recorded "
        "depth + instance image + labels JSON) and the geometry core over each bag (sqlite3 "
        "or mcap) and write templated spatial VQA as "
        "LLaVA-style JSON-lines shards with images, loadable with Hugging Face datasets. "
        "Re-running the same command on the same OUT resumes it. Exit status: 0 done, "
        "1 some bag incomplete or no record written, 2 bad input or output.")
    parser.add_argument("bags", nargs="+", metavar="BAG", help="rosbag2 directory or file")
    parser.add_argument("out", metavar="OUT", help="dataset directory (created or resumed)")
    parser.add_argument("--seed", type=int, default=0, help="QA sampling seed (default 0)")
    parser.add_argument("--qa-per-image", type=int, default=8)
    parser.add_argument("--units", choices=("metric", "imperial", "mixed"), default="metric")
    parser.add_argument("--qualitative-fraction", type=float, default=0.0,
                        help="share of reasoning (chain-of-thought) answers, 0..1")
    parser.add_argument("--every-n", type=int, default=1,
                        help="keep every n-th frame of each bag (default: all)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: one process; ray: one bag per Ray task")
    parser.add_argument("--workers", type=int, default=2, help="Ray tasks at a time")
    parser.add_argument("--image-format", choices=("jpg", "png"), default="jpg")
    parser.add_argument("--jpeg-quality", type=int, default=95)
    parser.add_argument("--shard-size", type=int, default=1000, help="records per shard")
    parser.add_argument("--push-to-hub", metavar="REPO_ID",
                        help="upload the dataset to this Hugging Face dataset repo at the end")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_topic_options(parser)
    add_perception_options(parser)
    parser.set_defaults(run=run)

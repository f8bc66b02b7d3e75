"""`spatial-vqa bag2dataset BAG [BAG ...] OUT`: recorded bags to a spatial VQA dataset."""

from __future__ import annotations

import argparse
import sys

from .dataset_options import add_dataset_options, dataset_config, finish
from .input_options import add_topic_options, perception_from, topics_from
from .perception_options import add_perception_options


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..core.vqa import VQAError
    from ..io.errors import DataIOError
    from ..offline.bag2dataset import bag2dataset
    from ..perception.errors import PerceptionError

    try:
        config = dataset_config(args, perception_from(args), topics=topics_from(args),
                                every_n=args.every_n)
        summary = bag2dataset(args.bags, args.out, config, engine=args.engine,
                              workers=args.workers, progress=not args.no_progress)
    except (DataIOError, VQAError, PerceptionError) as error:
        print(f"spatial-vqa bag2dataset: {error}", file=sys.stderr)
        return 2
    return finish(summary, args, "bag2dataset")


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
    parser.add_argument("--every-n", type=int, default=1,
                        help="keep every n-th frame of each bag (default: all)")
    add_dataset_options(parser)
    add_topic_options(parser)
    add_perception_options(parser)
    parser.set_defaults(run=run)

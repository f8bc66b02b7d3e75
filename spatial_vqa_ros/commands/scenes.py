"""`spatial-vqa scenes BAG`: the scene graph of every frame of a bag, as JSON lines."""

from __future__ import annotations

import argparse
import sys

from .input_options import (
    add_depth_range_options,
    add_topic_options,
    input_settings_from,
    perception_from,
    topics_from,
)
from .perception_options import add_perception_options, prompts_from


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..io.errors import DataIOError
    from ..offline.scenes import bag_scenes
    from ..perception.errors import PerceptionError

    try:
        perception = perception_from(args)
        summary = bag_scenes(args.bag, args.out, topics_from(args), perception=perception,
                             prompts=prompts_from(args), png_dir=args.png_dir,
                             inputs=input_settings_from(args))
    except (DataIOError, PerceptionError) as error:
        print(f"spatial-vqa scenes: {error}", file=sys.stderr)
        return 2
    stats = summary.read_stats
    print(f"{summary.frames_written} frames written, {summary.frames_failed} failed"
          + (f"; reader: {stats}" if stats else ""), file=sys.stderr)
    for failure in summary.failures:
        print(f"  {failure}", file=sys.stderr)
    return 0 if summary.frames_written else 1


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "scenes", help="write the scene graph of every frame of a rosbag2 as JSON lines",
        description="Run the perception chain (default: the simulation chain, recorded "
        "depth + instance image + labels) and the geometry core on a recorded bag (sqlite3 "
        "or mcap) and write one JSON line per frame, with its provenance (schema: "
        "README.md, 'Scene graph JSON lines'). Exit status: 0 done, 1 no frame written, "
        "2 bad input.")
    parser.add_argument("bag", help="rosbag2 directory")
    parser.add_argument("--out", help="output .jsonl file (default: stdout)")
    parser.add_argument("--png-dir", help="also write <stamp_ns>.png per frame here: the "
                        "detections on the image beside the scene graph from above")
    add_topic_options(parser)
    add_depth_range_options(parser)
    add_perception_options(parser)
    parser.set_defaults(run=run)

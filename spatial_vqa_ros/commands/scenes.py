"""`spatial-vqa scenes BAG`: the scene graph of every frame of a bag, as JSON lines."""

from __future__ import annotations

import argparse
import sys

from .perception_options import add_perception_options, prompts_from, spec_from


def add_topic_options(parser: argparse.ArgumentParser) -> None:
    """--rgb-topic ... --labels-topic, defaulting to the package's topic convention."""
    from ..io.bags import BagTopics

    defaults = BagTopics()
    parser.add_argument("--rgb-topic", default=defaults.rgb)
    parser.add_argument("--camera-info-topic", default=defaults.camera_info)
    parser.add_argument("--depth-topic", default=defaults.depth)
    parser.add_argument("--instances-topic", default=defaults.instances)
    parser.add_argument("--labels-topic", default=defaults.labels)


def topics_from(args: argparse.Namespace):
    from ..io.bags import BagTopics

    return BagTopics(rgb=args.rgb_topic, camera_info=args.camera_info_topic,
                     depth=args.depth_topic, instances=args.instances_topic,
                     labels=args.labels_topic)


def add_depth_range_options(parser: argparse.ArgumentParser) -> None:
    """--depth-min-m / --depth-max-m: the valid depth range, the node's parameters of the
    same names (and defaults); depth outside it is invalid, recorded or estimated."""
    from ..perception.types import InputSettings

    defaults = InputSettings()
    parser.add_argument("--depth-min-m", type=float, default=defaults.depth_min_m,
                        help="depth below this is invalid [m] (as the node's depth_min_m)")
    parser.add_argument("--depth-max-m", type=float, default=defaults.depth_max_m,
                        help="depth beyond this is invalid [m] (as the node's depth_max_m)")


def input_settings_from(args: argparse.Namespace):
    """The InputSettings of the options; a bad range raises PerceptionError."""
    from ..perception.types import InputSettings

    return InputSettings(args.depth_min_m, args.depth_max_m)


def perception_from(args: argparse.Namespace):
    """The PerceptionSpec of the options; a bad one raises PerceptionError (so commands
    report it as bad input, like other input errors, without catching every ValueError)."""
    from ..perception.errors import PerceptionError

    try:
        return spec_from(args)
    except ValueError as error:
        raise PerceptionError(str(error)) from None


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

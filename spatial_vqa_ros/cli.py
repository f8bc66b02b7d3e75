"""The ``spatial-vqa`` command.

Subcommands import what they need lazily: the offline tools work without ROS,
``node`` and ``play`` need rclpy and the built interfaces.
"""

from __future__ import annotations

import argparse
import sys


def _cmd_node(args: argparse.Namespace, ros_args: list[str]) -> int:
    from .nodes.spatial_node import main

    return main(["spatial_vqa", *ros_args])


def _cmd_scenes(args: argparse.Namespace, ros_args: list[str]) -> int:
    from .io.bags import BagTopics
    from .io.errors import DataIOError
    from .offline.scenes import bag_scenes

    topics = BagTopics(rgb=args.rgb_topic, camera_info=args.camera_info_topic,
                       depth=args.depth_topic, instances=args.instances_topic,
                       labels=args.labels_topic)
    try:
        summary = bag_scenes(args.bag, args.out, topics)
    except DataIOError as error:
        print(f"spatial-vqa scenes: {error}", file=sys.stderr)
        return 2
    stats = summary.read_stats
    print(f"{summary.frames_written} frames written, {summary.frames_failed} failed"
          + (f"; reader: {stats}" if stats else ""), file=sys.stderr)
    for failure in summary.failures:
        print(f"  {failure}", file=sys.stderr)
    return 0 if summary.frames_written else 1


def _add_topic_options(parser: argparse.ArgumentParser) -> None:
    from .io.bags import BagTopics

    defaults = BagTopics()
    parser.add_argument("--rgb-topic", default=defaults.rgb)
    parser.add_argument("--camera-info-topic", default=defaults.camera_info)
    parser.add_argument("--depth-topic", default=defaults.depth)
    parser.add_argument("--instances-topic", default=defaults.instances)
    parser.add_argument("--labels-topic", default=defaults.labels)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spatial-vqa",
        description="Metric spatial understanding for ROS 2 cameras.")
    sub = parser.add_subparsers(dest="command", required=True)
    node = sub.add_parser(
        "node", help="run the spatial node (same as `ros2 run spatial_vqa_ros spatial_node`)",
        description="Run the spatial node. ROS arguments go after --ros-args, e.g. "
        "`spatial-vqa node --ros-args -p backend:=simulation -r __ns:=/robot`.")
    node.set_defaults(run=_cmd_node)
    scenes = sub.add_parser(
        "scenes", help="write the scene graph of every frame of a rosbag2 as JSON lines",
        description="Run the geometry core on a recorded bag (sqlite3 or mcap) and write one "
        "JSON line per frame (schema: README.md, 'Scene graph JSON lines').")
    scenes.add_argument("bag", help="rosbag2 directory (or .mcap/.db3 file's directory)")
    scenes.add_argument("--out", help="output .jsonl file (default: stdout)")
    _add_topic_options(scenes)
    scenes.set_defaults(run=_cmd_scenes)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ros_args: list[str] = []
    if "--ros-args" in argv:
        cut = argv.index("--ros-args")
        argv, ros_args = argv[:cut], argv[cut:]
    args = _build_parser().parse_args(argv)
    return int(args.run(args, ros_args) or 0)


if __name__ == "__main__":
    sys.exit(main())

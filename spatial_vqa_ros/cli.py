"""The ``spatial-vqa`` command.

Each subcommand is a module of :mod:`spatial_vqa_ros.commands` with
``add_parser(subparsers)`` (which sets ``run(args, ros_args) -> int`` as the
default ``run``). Modules import their heavy dependencies lazily: the offline
tools work without ROS; ``node`` and ``play`` need rclpy and the built interfaces.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = ("node", "play", "perceive", "scenes", "make_bag", "bag2dataset", "bag2lerobot",
            "annotate_lerobot", "logger",
            "images2dataset", "hf2dataset", "to_trl", "models", "eval", "bench", "view")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spatial-vqa",
        description="Metric spatial understanding for ROS 2 cameras.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"spatial_vqa_ros.commands.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"spatial_vqa_ros.commands.{name}":
                continue  # not part of this version
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ros_args: list[str] = []
    if "--ros-args" in argv:
        cut = argv.index("--ros-args")
        argv, ros_args = argv[:cut], argv[cut:]
    args = build_parser().parse_args(argv)
    return int(args.run(args, ros_args) or 0)


if __name__ == "__main__":
    sys.exit(main())

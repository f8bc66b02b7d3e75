"""`spatial-vqa logger`: run the live dataset logger node in this process."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..nodes.logger_node import main

    return main(["spatial_vqa_logger", *ros_args])


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "logger", help="log the live scene graph as spatial VQA training data",
        description="Run the spatial_vqa_logger node. ROS arguments go after --ros-args, "
        "e.g. `spatial-vqa logger --ros-args -p output_dir:=/data/vqa`. Exit status: 0 "
        "stopped (Ctrl-C or shutdown), 2 a parameter refused at start (a wrong type or "
        "value, an output directory it cannot use; the reason on stderr).")
    parser.set_defaults(run=run)

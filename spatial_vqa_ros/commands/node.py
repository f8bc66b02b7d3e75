"""`spatial-vqa node`: run the spatial node in this process."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..nodes.spatial_node import main

    return main(["spatial_vqa", *ros_args])


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "node", help="run the spatial node (what `ros2 launch ... spatial_vqa.launch.py` runs)",
        description="Run the spatial node. ROS arguments go after --ros-args, e.g. "
        "`spatial-vqa node --ros-args -p detector:=opencv_dnn -r __ns:=/robot`. Exit "
        "status: 0 stopped (Ctrl-C or shutdown), 2 a parameter or model refused at "
        "start (a wrong type or value, a plugin that is not a perception class, missing "
        "or corrupt weights; the reason on stderr).")
    parser.set_defaults(run=run)

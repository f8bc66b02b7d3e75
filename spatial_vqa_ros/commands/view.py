"""`spatial-vqa view`: serve a running spatial node's image, scene graph and reward to
the Foxglove web app."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..nodes.view_node import main

    return main(["spatial_vqa_view", *ros_args])


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "view", help="live view in the Foxglove web app (image, 3D scene graph, reward)",
        description="Run the spatial_vqa_view node: a Foxglove WebSocket server (default "
        "ws://127.0.0.1:8765) with the camera image, the scene graph as labelled 3D boxes "
        "and the reward. Open https://app.foxglove.dev and connect. Parameters after "
        "--ros-args: image_topic, scene_graph_topic, reward_topic, host, port (0..65535; "
        "0: any free port). Exit status: 0 stopped (Ctrl-C or shutdown), 2 a parameter "
        "refused (wrong type or range, port taken; the reason on stderr).")
    parser.set_defaults(run=run)

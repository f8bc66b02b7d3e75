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
        "--ros-args: image_topic, scene_graph_topic, reward_topic, host, port.")
    parser.set_defaults(run=run)

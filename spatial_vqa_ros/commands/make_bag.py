"""`spatial-vqa make-bag OUT`: a synthetic rosbag2 with ground truth JSON lines beside it."""

from __future__ import annotations

import argparse
import sys


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 640x480, got {text!r}"
                                         ) from None
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError(f"image size must be at least 16x16, got {text!r}")
    return width, height


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..io.errors import DataIOError
    from ..synthetic.bags import write_synthetic_bag
    from ..synthetic.scenes import SyntheticError

    width, height = args.size
    try:
        bag = write_synthetic_bag(
            args.out, args.kind, args.frames, args.seed, storage=args.storage,
            depth_encoding=args.depth_encoding, noise=args.noise, rate_hz=args.rate_hz,
            width=width, height=height)
    except (DataIOError, SyntheticError) as error:
        print(f"spatial-vqa make-bag: {error}", file=sys.stderr)
        return 2
    topics = [bag.topics.rgb, bag.topics.camera_info, bag.topics.depth, bag.topics.instances,
              bag.topics.labels] + ([bag.odom_topic] if bag.odom_topic else [])
    print(f"wrote {bag.frames} {bag.kind} frames ({width}x{height}, {args.rate_hz:g} Hz, "
          f"{args.storage}) to {bag.path}\n  topics: {', '.join(topics)}\n"
          f"  ground truth: {bag.ground_truth_path}")
    return 0


#: synthetic.bags.KINDS, repeated so that building the parser does not import open3d.
KINDS = ("scene", "sequence", "approach")


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "make-bag", help="write a synthetic rosbag2 (with ground truth) to replay or test with",
        description="Render a synthetic recording and write it as a rosbag2 in the package's "
        "topic convention (rgb, camera_info, depth, instances, labels JSON), with "
        "OUT/ground_truth.jsonl: per frame the camera height/pitch/roll and every object's "
        "centre and extent in the scene frame (and the true gripper-cube gap for 'approach'). "
        "Exit status: 0 written, 2 bad input (OUT exists, a bad option; the reason on "
        "stderr).")
    parser.add_argument("out", help="bag directory to create (must not exist)")
    parser.add_argument("--kind", choices=KINDS, default="scene",
                        help="scene: static camera; sequence: moving camera, pose on "
                        "/camera/odom; approach: a gripper moving onto a cube (default: scene)")
    parser.add_argument("--frames", type=int, default=10, help="number of frames (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--storage", choices=("sqlite3", "mcap"), default="sqlite3")
    parser.add_argument("--depth-encoding", choices=("32FC1", "16UC1"), default="32FC1",
                        help="32FC1 metres or 16UC1 millimetres (default 32FC1)")
    parser.add_argument("--noise", action="store_true",
                        help="add RGB-D sensor noise to the depth (redrawn every frame)")
    parser.add_argument("--rate-hz", type=float, default=30.0,
                        help="frame rate of the stamps (default 30)")
    parser.add_argument("--size", type=_size, default=(640, 480), metavar="WxH",
                        help="image size (default 640x480)")
    parser.set_defaults(run=run)

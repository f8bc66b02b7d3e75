"""`spatial-vqa annotate-lerobot DATASET OUT`: a local LeRobot v3.0 dataset annotated with
metric distance rewards, scene graphs and spatial VQA, into a new dataset."""

from __future__ import annotations

import argparse
import sys

from .input_options import add_depth_range_options, input_settings_from, perception_from
from .lerobot_options import (
    add_reward_options,
    add_vqa_options,
    reward_fields,
    synthesis_from,
)
from .perception_options import add_perception_options, prompts_from


def config_from(args: argparse.Namespace):
    """The AnnotateConfig of the options (DataIOError / PerceptionError when bad)."""
    from ..offline.annotate_lerobot import AnnotateConfig

    return AnnotateConfig(
        **reward_fields(args), camera_key=args.camera_key,
        camera_info=args.camera_info, hfov_deg=args.hfov, depth_key=args.depth_key,
        fk=args.fk, fk_frame=args.fk_frame, camera_in_base=tuple(args.camera_in_base or ()),
        state_key=args.state_key, vqa_every=args.vqa_every,
        synthesis=synthesis_from(args), perception=perception_from(args),
        prompts=tuple(prompts_from(args)), inputs=input_settings_from(args))


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..io.errors import DataIOError
    from ..offline.annotate_lerobot import annotate_lerobot
    from ..perception.errors import PerceptionError

    try:
        summary = annotate_lerobot(args.dataset, args.out, config_from(args),
                                   progress=not args.no_progress)
    except (DataIOError, PerceptionError) as error:
        print(f"spatial-vqa annotate-lerobot: {error}", file=sys.stderr)
        return 2
    print(summary.format(), file=sys.stderr)
    return summary.exit_status


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "annotate-lerobot", help="add distance rewards, scene graphs and spatial VQA to a "
        "LeRobot v3.0 dataset",
        description="Decode each episode of a local LeRobot v3.0 dataset from its video, "
        "perceive it (intrinsics from --camera-info or --hfov; depth from --depth-key, a "
        "depth feature of the dataset, or --depth-estimator, a depth model; objects from "
        "--detector/--segmenter) and write a new dataset at OUT with the source's columns "
        "and reward.<pair> / distance.<pair> / reached.<pair>, scene_graph JSON and 'vqa' "
        "language events, computed as bag2lerobot computes them. A tf:<frame> pair end is "
        "the end effector placed from observation.state by --fk module:function, which "
        "returns a 4x4 pose or xyz in the camera optical frame (or, with --camera-in-base, "
        "in the robot base frame). Frames whose reward is invalid are dropped and counted. "
        "Re-running the same command on the same OUT resumes it. Exit status: 0 done, 1 "
        "an episode could not be read or no frame written, 2 bad input or output.")
    parser.add_argument("dataset", metavar="DATASET", help="LeRobot v3.0 dataset directory")
    parser.add_argument("out", metavar="OUT", help="new dataset directory (created or "
                        "resumed)")
    add_reward_options(parser, "tf:ee:cube (end effector to cube)")
    parser.add_argument("--camera-key", default="",
                        help="the video feature to perceive (default: the only one)")
    parser.add_argument("--camera-info", default="", help="the camera's camera_info YAML")
    parser.add_argument("--hfov", type=float, default=0.0, metavar="DEG",
                        help="assume a centred pinhole of this horizontal field of view")
    parser.add_argument("--depth-key", default="",
                        help="a numeric feature of H*W depths in metres (row-major)")
    parser.add_argument("--fk", default="", metavar="MODULE:FUNCTION",
                        help="forward kinematics: f(state (n,) float64) -> 4x4 or xyz")
    parser.add_argument("--fk-frame", default="ee",
                        help="the name pairs give the end effector, as tf:<name> "
                        "(default ee)")
    parser.add_argument("--camera-in-base", type=float, nargs=7, default=None,
                        metavar=("X", "Y", "Z", "QX", "QY", "QZ", "QW"),
                        help="the camera optical frame's pose in the frame --fk answers "
                        "in (default: --fk answers in the camera optical frame)")
    parser.add_argument("--state-key", default="observation.state",
                        help="the state feature --fk reads")
    add_vqa_options(parser)
    add_depth_range_options(parser)
    add_perception_options(parser, detector="owlv2", segmenter="depth_box")
    parser.set_defaults(run=run)

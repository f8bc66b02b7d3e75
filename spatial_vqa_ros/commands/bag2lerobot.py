"""`spatial-vqa bag2lerobot BAG [BAG ...] OUT`: recordings to a LeRobot v3.0 dataset
with metric distance rewards, scene graphs and spatial VQA."""

from __future__ import annotations

import argparse
import sys

from .input_options import (
    add_depth_range_options,
    add_topic_options,
    perception_from,
    topics_from,
)
from .lerobot_options import (
    add_reward_options,
    add_vqa_options,
    reward_fields,
    synthesis_from,
)
from .perception_options import add_perception_options, prompts_from


def config_from(args: argparse.Namespace):
    """The Bag2LeRobotConfig of the options (DataIOError / PerceptionError when bad)."""
    from ..offline.bag2lerobot import Bag2LeRobotConfig
    from .input_options import input_settings_from

    return Bag2LeRobotConfig(
        fps=args.fps, tolerance_s=args.tolerance_s, **reward_fields(args),
        episode_gap_s=args.episode_gap,
        episode_topic=args.episode_topic, state_topic=args.state_topic,
        action_topic=args.action_topic, camera_name=args.camera_name, task=args.task,
        robot_type=args.robot_type, vqa_every=args.vqa_every,
        synthesis=synthesis_from(args), topics=topics_from(args), perception=perception_from(args),
        prompts=tuple(prompts_from(args)), inputs=input_settings_from(args))


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..io.errors import DataIOError
    from ..offline.bag2lerobot import bag2lerobot
    from ..perception.errors import PerceptionError

    try:
        summary = bag2lerobot(args.bags, args.out, config_from(args),
                              progress=not args.no_progress)
    except (DataIOError, PerceptionError) as error:
        print(f"spatial-vqa bag2lerobot: {error}", file=sys.stderr)
        return 2
    print(summary.format(), file=sys.stderr)
    return summary.exit_status


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "bag2lerobot", help="turn rosbag2 recordings into a LeRobot v3.0 dataset with "
        "distance rewards",
        description="Resample each bag (sqlite3 or mcap) to --fps (a tick takes the nearest "
        "earlier message of every stream within --tolerance-s; ticks without one are "
        "dropped and counted), cut it into episodes (one per bag, or --episode-gap, or "
        "--episode-topic), run the perception chain (default: the simulation chain) and "
        "the geometry core on the images used, and write a LeRobot v3.0 dataset: the "
        "camera as AV1 video, observation.state (sensor_msgs/JointState), action, "
        "reward.<pair> / distance.<pair> / reached.<pair> as the spatial node's reward "
        "stream computes them (tf: ends placed from the bag's /tf), the scene graph as "
        "JSON and spatial VQA as 'vqa' language events on keyframes. Re-running the same "
        "command on the same OUT resumes it. Exit status: 0 done, 1 some bag incomplete "
        "or no frame written, 2 bad input or output.")
    parser.add_argument("bags", nargs="+", metavar="BAG", help="rosbag2 directory or file")
    parser.add_argument("out", metavar="OUT", help="dataset directory (created or resumed)")
    parser.add_argument("--fps", type=int, default=10, help="frame rate (default 10)")
    parser.add_argument("--tolerance-s", type=float, default=0.0,
                        help="oldest message a tick may take [s] (default: 1/fps)")
    add_reward_options(parser, "tf:tool0:cube")
    parser.add_argument("--episode-gap", type=float, default=0.0, metavar="S",
                        help="start a new episode after a pause longer than S seconds")
    parser.add_argument("--episode-topic", default="",
                        help="a std_msgs topic whose change of value starts an episode "
                        "(a String value is the episode's task)")
    parser.add_argument("--state-topic", default="/joint_states",
                        help="sensor_msgs/JointState for observation.state, when present")
    parser.add_argument("--action-topic", default="",
                        help="the action topic (JointState, Float64/32MultiArray, Twist, "
                        "TwistStamped or PoseStamped)")
    parser.add_argument("--camera-name", default="camera",
                        help="video key observation.images.<name> (default camera)")
    parser.add_argument("--task", default="", help="every episode's task text")
    parser.add_argument("--robot-type", default="")
    add_vqa_options(parser)
    add_topic_options(parser)
    add_depth_range_options(parser)
    add_perception_options(parser)
    parser.set_defaults(run=run)

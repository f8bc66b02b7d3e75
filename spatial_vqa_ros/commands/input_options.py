"""The options that say how recorded frames become perception inputs, shared by the
commands that read them (scenes, bag2dataset, images2dataset, hf2dataset): the bag's
topics, the valid depth range, and the perception spec as a bad input. Here, not in
one of those commands, so that no command imports another."""

from __future__ import annotations

import argparse

from .perception_options import spec_from


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
    from ..core.capture import DEPTH_MAX_M, DEPTH_MIN_M

    parser.add_argument("--depth-min-m", type=float, default=DEPTH_MIN_M,
                        help="depth below this is invalid [m] (as the node's depth_min_m; "
                        f"default {DEPTH_MIN_M})")
    parser.add_argument("--depth-max-m", type=float, default=DEPTH_MAX_M,
                        help="depth beyond this is invalid [m] (as the node's depth_max_m; "
                        f"default {DEPTH_MAX_M})")


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

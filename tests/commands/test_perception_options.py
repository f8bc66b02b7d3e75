"""The perception options: spelled as the node's parameters, old spellings still read."""

from __future__ import annotations

import argparse
import re
from dataclasses import fields

import pytest

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.commands.perception_options import (
    OLD_FLAGS,
    add_perception_options,
    spec_from,
)
from spatial_vqa_ros.nodes.config import SpatialNodeConfig
from spatial_vqa_ros.perception.factories import PerceptionSpec

#: A value of each renamed option that differs from its default.
VALUES = {"--perception-runtime": "onnxruntime", "--perception-device": "cpu",
          "--detector-score-threshold": "0.4", "--camera-height-m": "1.25"}


def shown_flag(flag: str, text: str) -> bool:
    """Whether ``text`` names ``flag`` itself (not a longer flag that starts with it)."""
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(prog="test")
    add_perception_options(made)
    return made


def test_each_option_of_the_spec_is_spelled_as_the_node_parameter_it_sets() -> None:
    node_parameters = {f.name for f in fields(SpatialNodeConfig)}
    # assumed_hfov_deg: the image commands' --hfov (the node has a CameraInfo)
    spec_fields = {f.name for f in fields(PerceptionSpec)} - {"assumed_hfov_deg"}
    assert spec_fields <= node_parameters
    shown = parser().format_help()
    # tracker, tracker_model: the node's tracked mode only (the offline commands run the
    # serial chain), so no option
    for name in spec_fields - {"tracker", "tracker_model"}:
        assert shown_flag("--" + name.replace("_", "-"), shown), name


def test_the_renamed_options_fill_the_spec_fields_of_their_name() -> None:
    args = parser().parse_args([item for pair in VALUES.items() for item in pair])
    spec = spec_from(args)
    assert (spec.perception_runtime, spec.perception_device, spec.detector_score_threshold,
            spec.camera_height_m) == ("onnxruntime", "cpu", 0.4, 1.25)


@pytest.mark.parametrize("new", sorted(OLD_FLAGS))
def test_an_old_flag_still_sets_what_its_new_name_sets(new: str) -> None:
    old = spec_from(parser().parse_args([OLD_FLAGS[new], VALUES[new]]))
    assert old == spec_from(parser().parse_args([new, VALUES[new]]))
    assert old != spec_from(parser().parse_args([]))  # it was not ignored


def test_an_old_flag_keeps_its_checks() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["--runtime", "cuda"])  # not one of the runtimes


def test_perceive_help_shows_the_new_flags_and_not_the_old(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["perceive", "--help"])
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    for new, old in OLD_FLAGS.items():
        assert shown_flag(new, shown) and not shown_flag(old, shown), old

"""bag2lerobot's episode plans: the fps grid over a recording's streams, cut per
recording, at pauses, or at episode-marker changes (marker text is the task)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spatial_vqa_ros.io.bags import TfBuffer
from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.offline.bag2lerobot import Bag2LeRobotConfig, BagReport, plan_episodes
from spatial_vqa_ros.offline.bag2lerobot.streams import BagScan

MS = 1_000_000


def _scan(camera_ms: list[int], markers: list[tuple[int, object]] = ()) -> BagScan:
    return BagScan(Path("bag"), np.array(camera_ms, np.int64) * MS, 48, 64, "cam",
                   TfBuffer(), marker_stamps_ns=np.array([m[0] * MS for m in markers],
                                                         np.int64),
                   marker_values=[m[1] for m in markers])


def test_one_recording_is_one_episode_of_the_images_on_the_grid():
    report = BagReport("bag")
    plans = plan_episodes(_scan(list(range(0, 1000, 50))), "bag",
                          Bag2LeRobotConfig(fps=10), report)
    assert len(plans) == 1 and plans[0].key == "bag@0"
    assert (plans[0].camera_ns // MS).tolist() == list(range(0, 1000, 100))
    assert plans[0].task == "demonstration"


def test_a_pause_longer_than_the_gap_starts_a_new_episode_and_its_ticks_are_counted():
    camera = list(range(0, 500, 100)) + list(range(2000, 2500, 100))
    report = BagReport("bag")
    plans = plan_episodes(_scan(camera), "bag", Bag2LeRobotConfig(fps=10, episode_gap_s=0.5),
                          report)
    # the tick at 500 ms still takes the 400 ms image: one period old, within the
    # default tolerance (1/fps, inclusive)
    assert [(p.camera_ns // MS).tolist() for p in plans] == [
        [0, 100, 200, 300, 400, 400], [2000, 2100, 2200, 2300, 2400]]
    assert [p.key for p in plans] == ["bag@0", f"bag@{2000 * MS}"]
    # the 14 ticks 600..1900 ms found no image within 100 ms: dropped and counted
    assert report.dropped == {"no_camera": 14}
    assert report.ticks == 25


def test_a_marker_change_starts_an_episode_whose_task_is_the_marker_text():
    camera = list(range(0, 1000, 100))
    plans = plan_episodes(_scan(camera, [(0, "pick the cube"), (450, "pick the cube"),
                                         (500, "place it")]), "bag",
                          Bag2LeRobotConfig(fps=10, episode_topic="/episode"),
                          BagReport("bag"))
    assert [(p.task, len(p)) for p in plans] == [("pick the cube", 5), ("place it", 5)]


def test_the_task_option_names_every_episode_and_pairs_give_a_default():
    camera = list(range(0, 300, 100))
    plans = plan_episodes(_scan(camera), "bag",
                          Bag2LeRobotConfig(reward_pairs=("tf:tool0:cube",)), BagReport("b"))
    assert plans[0].task == "move tool0 to cube"
    plans = plan_episodes(_scan(camera, [(0, "x")]), "bag",
                          Bag2LeRobotConfig(task="stack", episode_topic="/e"), BagReport("b"))
    assert plans[0].task == "stack"


def test_gap_and_marker_splitting_together_are_refused():
    with pytest.raises(DataIOError, match="not both"):
        Bag2LeRobotConfig(episode_gap_s=1.0, episode_topic="/episode")


def test_a_repeated_pair_column_and_a_bad_shaping_are_refused():
    with pytest.raises(DataIOError, match="reward pairs repeat"):
        Bag2LeRobotConfig(reward_pairs=("tf:tool0:cube", "tf_tool0:cube"))
    with pytest.raises(DataIOError, match="shaping must be one of"):
        Bag2LeRobotConfig(shaping="linear")

"""lerobot's own loader on ``spatial-vqa bag2lerobot``'s output: two synthetic approach
recordings with /tf, rewards on, loaded with ``LeRobotDataset`` (local root, no hub) in
a side environment named by SPATIAL_VQA_LEROBOT_PYTHON (skipped elsewhere, with the
reason: lerobot's pins conflict with ours, the project never imports it)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.io.bags import BagFrameReader
from spatial_vqa_ros.io.datasets.lerobot import psnr
from spatial_vqa_ros.synthetic.bags import write_synthetic_bag

VIEW = Path(__file__).parent / "lerobot_view.py"
GOLDEN_LOADER = Path(__file__).parents[2] / "io/datasets/lerobot/golden/golden_loader.json"
CAMERA = "observation.images.camera"
REWARD = "reward.tf_tool0__cube"
#: Columns the goldens' dataset has too (same dtype/shape expected from the loader).
SHARED = ("timestamp", "frame_index", "episode_index", "index", "task_index", "task",
          REWARD, "distance.tf_tool0__cube", "reached.tf_tool0__cube", "scene_graph",
          "language_events", "language_persistent")


def _lerobot_python() -> str | None:
    python = os.environ.get("SPATIAL_VQA_LEROBOT_PYTHON")
    if not python:
        return None
    probe = subprocess.run([python, "-c", "import lerobot.datasets.lerobot_dataset"],
                           capture_output=True, cwd="/", check=False)
    return python if probe.returncode == 0 else None


pytestmark = pytest.mark.skipif(
    _lerobot_python() is None,
    reason="lerobot does not import here: its pins conflict with ours; set "
    "SPATIAL_VQA_LEROBOT_PYTHON to a side environment's python "
    "(tests/io/datasets/lerobot/golden/make_goldens.py says how to make one)")


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[list, Path]:
    root = tmp_path_factory.mktemp("bags")
    bags = [write_synthetic_bag(root / f"approach{seed}", "approach", frames=19, seed=seed,
                                width=160, height=120, tf=True, rate_hz=30.0)
            for seed in (2, 3)]
    out = root / "ds"
    assert main(["bag2lerobot", *[str(b.path) for b in bags], str(out), "--fps", "10",
                 "--reward-pairs", "tf:tool0:cube", "gripper:cube", "--reward-shaping",
                 "progress", "--vqa-every", "3", "--no-progress"]) == 0
    return bags, out


@pytest.fixture(scope="module")
def view(written, tmp_path_factory) -> tuple[dict, dict]:
    _, out = written
    frames_json = tmp_path_factory.mktemp("view") / "frames.json"
    done = subprocess.run([_lerobot_python(), str(VIEW), str(out), str(frames_json), CAMERA,
                           REWARD], capture_output=True, text=True, cwd="/",
                          env={**os.environ, "SVT_LOG": "1"}, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1]), json.loads(frames_json.read_text())


def _ours(out: Path) -> dict:
    tables = [pq.read_table(out / f"data/chunk-000/file-00{i}.parquet") for i in (0, 1)]
    return {k: tables[0].column(k).to_pylist() + tables[1].column(k).to_pylist()
            for k in tables[0].column_names}


def test_lerobots_metadata_has_our_episodes_tasks_and_features(written, view):
    _, out = written
    meta = view[0]["meta"]
    info = json.loads((out / "meta/info.json").read_text())
    assert view[0]["len"] == meta["total_frames"] == 14 and meta["total_episodes"] == 2
    assert meta["fps"] == 10 and meta["camera_keys"] == meta["video_keys"] == [CAMERA]
    assert meta["episodes"] == [
        {"episode_index": 0, "length": 7, "tasks": ["move tool0 to cube"],
         "dataset_from_index": 0, "dataset_to_index": 7},
        {"episode_index": 1, "length": 7, "tasks": ["move tool0 to cube"],
         "dataset_from_index": 7, "dataset_to_index": 14}]
    assert meta["tasks"] == ["move tool0 to cube"]
    assert meta["features"] == {k: {"dtype": v["dtype"], "shape": v["shape"],
                                    "names": v["names"]} for k, v in info["features"].items()}
    assert {REWARD, "distance.gripper__cube", "reached.gripper__cube", CAMERA} <= \
        set(meta["stats_keys"])


def test_lerobots_items_have_the_goldens_types_and_our_values(written, view):
    _, out = written
    golden = json.loads(GOLDEN_LOADER.read_text())["items"]["0"]
    ours = _ours(out)
    items = view[0]["items"]
    for i in range(14):
        item = items[str(i)]
        for key in SHARED:  # as lerobot loaded its own dataset in the goldens
            kind = ({"type": item[key]["type"]} if "type" in item[key]
                    else {"dtype": item[key]["dtype"], "shape": item[key]["shape"]})
            assert kind == {k: v for k, v in golden[key].items() if k != "value"}, key
        for key in (REWARD, "distance.tf_tool0__cube", "reward.gripper__cube"):
            assert item[key]["value"] == float(np.float32(ours[key][i])), (i, key)
        assert item["reached.tf_tool0__cube"]["value"] == ours["reached.tf_tool0__cube"][i]
        assert item["scene_graph"]["value"] == ours["scene_graph"][i]
        assert item["language_events"]["value"] == ours["language_events"][i]
        assert item["index"]["value"] == i and item["episode_index"]["value"] == i // 7
    assert items["0"]["language_events"]["value"]  # a VQA keyframe reaches the loader


def test_lerobots_decoded_frames_are_the_recorded_images_within_30_db(written, view):
    bags, _ = written
    frames = view[1]
    for episode, bag in enumerate(bags):
        images = {f.stamp_ns: f.rgb.copy() for f in BagFrameReader(bag.path)}
        recorded = [images[s] for s in bag.stamps_ns[::3]]
        scores = [psnr(np.array(frames[str(7 * episode + k)], np.uint8), image)
                  for k, image in enumerate(recorded)]
        assert min(scores) >= 30.0, scores


def test_delta_timestamps_give_a_trainer_the_next_reward_and_the_previous_image(written,
                                                                                view):
    _, out = written
    rewards = _ours(out)[REWARD]
    delta = view[0]["delta"]
    assert delta["0"]["camera_shape"] == [2, 3, 120, 160]
    assert delta["0"]["pad"][f"{CAMERA}_is_pad"]["value"] == [True, False]
    for i in (0, 1):
        assert delta[str(i)][REWARD]["value"] == [float(np.float32(r))
                                                  for r in rewards[i:i + 2]]
        assert delta[str(i)]["pad"][f"{REWARD}_is_pad"]["value"] == [False, False]

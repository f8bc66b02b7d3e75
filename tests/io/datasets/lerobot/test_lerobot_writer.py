"""LeRobotWriter's guarantees: settings recorded, foreign or differently-made directories
refused, resume after a kill, bad frames refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from lerobot_support import CAMERA, FEATURES, FPS, PAIR, frame, write_golden_dataset

from spatial_vqa_ros.io.datasets.lerobot import LeRobotWriter
from spatial_vqa_ros.io.errors import DataIOError


def _writer(root: Path, **kwargs) -> LeRobotWriter:
    args = {"fps": FPS, "features": FEATURES, "settings": {"seed": 1}, "robot_type": "sim"}
    return LeRobotWriter(root, **{**args, **kwargs})


def test_settings_are_recorded_in_our_manifest(tmp_path):
    write_golden_dataset(tmp_path / "ds", settings={"seed": 1, "pairs": [PAIR]})
    manifest = json.loads((tmp_path / "ds/meta/spatial_vqa_ros.json").read_text())
    assert manifest["settings"] == {"pairs": [PAIR], "seed": 1}
    assert manifest["fps"] == FPS and manifest["episodes"] == ["ep0", "ep1"]
    assert manifest["pending"] is None


def test_a_directory_not_ours_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DataIOError, match="is not empty .*notes.txt.* holds no LeRobot"):
        _writer(tmp_path)


def test_a_lerobot_dataset_not_written_by_us_is_refused(tmp_path):
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta/info.json").write_text("{}")
    with pytest.raises(DataIOError, match="not empty \\(meta\\)"):
        _writer(tmp_path)


@pytest.mark.parametrize(("change", "match"), [
    ({"settings": {"seed": 2}}, "other settings"),
    ({"fps": 30}, "other fps"),
    ({"robot_type": "arm"}, "other robot_type"),
    ({"features": {**FEATURES, "extra": {"dtype": "float32", "shape": (1,)}}},
     "other features"),
])
def test_other_settings_are_refused_and_the_same_resume(tmp_path, change, match):
    write_golden_dataset(tmp_path / "ds", episodes=1)
    with pytest.raises(DataIOError, match=match):
        _writer(tmp_path / "ds", **change)
    with _writer(tmp_path / "ds") as writer:
        assert writer.is_done("ep0") and not writer.is_done("ep1")
        assert writer.counts.episodes == 1 and writer.counts.frames == 5


def test_a_second_writer_on_the_same_directory_is_refused(tmp_path):
    with _writer(tmp_path), pytest.raises(DataIOError, match="another process is writing"):
        _writer(tmp_path)


def test_resume_adds_the_missing_episodes_and_equals_one_run(tmp_path):
    write_golden_dataset(tmp_path / "once", episodes=3)
    write_golden_dataset(tmp_path / "twice", episodes=1)
    write_golden_dataset(tmp_path / "twice", episodes=3)
    for name in ("data/chunk-000/file-002.parquet", "meta/episodes/chunk-000/file-000.parquet",
                 "meta/tasks.parquet"):
        assert pq.read_table(tmp_path / "once" / name).to_pylist() == \
            pq.read_table(tmp_path / "twice" / name).to_pylist()
    for name in ("meta/info.json", "meta/stats.json"):
        assert (tmp_path / "once" / name).read_text() == (tmp_path / "twice" / name).read_text()
    index = pq.read_table(tmp_path / "twice/data/chunk-000/file-002.parquet")["index"]
    assert index.to_pylist() == list(range(10, 15))


def test_an_open_episode_is_dropped_on_close_and_written_anew(tmp_path):
    with _writer(tmp_path) as writer:
        writer.begin_episode("ep0", "push the cube")
        writer.add_frame(frame(0, 0))
    assert not list((tmp_path / "videos").rglob("*.mp4"))
    assert not list(tmp_path.rglob("*.tmp"))
    assert json.loads((tmp_path / "meta/info.json").read_text())["total_episodes"] == 0
    write_golden_dataset(tmp_path, episodes=1)
    assert json.loads((tmp_path / "meta/info.json").read_text())["total_frames"] == 5


@pytest.mark.parametrize(("values", "match"), [
    ({k: v for k, v in frame(0, 0).items() if k != "action"}, "missing features \\['action'\\]"),
    ({**frame(0, 0), "speed": 1.0}, "unknown \\['speed'\\]"),
    ({**frame(0, 0), "action": np.zeros(3)}, "'action' has shape \\(2,\\), got \\(3,\\)"),
    ({**frame(0, 0), f"reward.{PAIR}": float("nan")}, "NaN or infinite"),
    ({**frame(0, 0), "scene_graph": {"objects": []}}, "'scene_graph' is a string"),
    ({**frame(0, 0), CAMERA: np.zeros((10, 10, 3), np.uint8)}, "must be \\(48, 64, 3\\) uint8"),
])
def test_bad_frames_are_refused_by_feature_name(tmp_path, values, match):
    with _writer(tmp_path) as writer:
        writer.begin_episode("ep0", "push the cube")
        with pytest.raises(DataIOError, match=match):
            writer.add_frame(values)


@pytest.mark.parametrize(("row", "match"), [
    ({"role": "user", "content": "q?", "style": "vqa", "camera": None, "tool_calls": None},
     "'vqa' row must name one of the dataset's cameras"),
    ({"role": "user", "content": "q?", "style": "vqa", "camera": CAMERA, "when": 1},
     "unknown fields \\['when'\\]"),
    ({"content": "q?", "style": "vqa", "camera": CAMERA}, "without a role"),
    ({"role": "user", "content": None, "style": "vqa", "camera": CAMERA}, "without text"),
])
def test_bad_language_rows_are_refused(tmp_path, row, match):
    with _writer(tmp_path) as writer:
        writer.begin_episode("ep0", "push the cube")
        with pytest.raises(DataIOError, match=match):
            writer.add_frame(frame(0, 0), [row])


@pytest.mark.parametrize(("features", "match"), [
    ({"index": {"dtype": "int64", "shape": (1,)}}, "'index' is a column lerobot writes"),
    ({"a": {"dtype": "complex64", "shape": (1,)}}, "dtype 'complex64' is not one of"),
    ({"a": {"dtype": "float32", "shape": (2, 2)}}, "stores scalars and vectors"),
    ({"cam": {"dtype": "video", "shape": (4, 4)}}, "a video is \\(height, width, 3\\)"),
    ({"a/b": {"dtype": "float32", "shape": (1,)}}, "without '/'"),
])
def test_bad_features_are_refused(tmp_path, features, match):
    with pytest.raises(DataIOError, match=match):
        _writer(tmp_path, features=features)


def test_episode_misuse_is_refused(tmp_path):
    with _writer(tmp_path) as writer:
        with pytest.raises(DataIOError, match="add_frame before begin_episode"):
            writer.add_frame(frame(0, 0))
        writer.begin_episode("ep0", "push the cube")
        with pytest.raises(DataIOError, match="'ep0' is still open"):
            writer.begin_episode("ep1", "push the cube")
        with pytest.raises(DataIOError, match="'ep0' has no frames"):
            writer.end_episode()
        with pytest.raises(DataIOError, match="needs a task"):
            writer.begin_episode("ep1", " ")
    with pytest.raises(DataIOError, match="fps must be a positive integer"):
        _writer(tmp_path, fps=7.5)

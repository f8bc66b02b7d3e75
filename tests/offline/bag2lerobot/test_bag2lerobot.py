"""``spatial-vqa bag2lerobot``: synthetic approach recordings with /tf -> a LeRobot
dataset whose reward columns are the node's reward stream on the same images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.core.pipeline import PipelineConfig, ScenePipeline
from spatial_vqa_ros.core.reward import RewardSession, RewardSettings
from spatial_vqa_ros.core.robot_frames import frame_points
from spatial_vqa_ros.io.bags import BagFrameReader, BagFrameWriter, read_tf
from spatial_vqa_ros.io.datasets.lerobot import decode_frames, psnr
from spatial_vqa_ros.offline.frames import SIMULATION, perceive_frame
from spatial_vqa_ros.perception.factories import build_chain
from spatial_vqa_ros.synthetic.bags import write_synthetic_bag

GOLDEN = Path(__file__).parents[2] / "io/datasets/lerobot/golden/golden_meta.json"
PAIRS = ("tf:tool0:cube", "gripper:cube")
CAMERA = "observation.images.camera"
W, H = 160, 120


@pytest.fixture(scope="module")
def bags(tmp_path_factory) -> list:
    root = tmp_path_factory.mktemp("bags")
    return [write_synthetic_bag(root / f"approach{seed}", "approach", frames=19, seed=seed,
                                width=W, height=H, tf=True, rate_hz=30.0)
            for seed in (2, 3)]


@pytest.fixture(scope="module")
def dataset(bags, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out") / "ds"
    code = main(["bag2lerobot", *[str(b.path) for b in bags], str(out), "--fps", "10",
                 "--reward-pairs", *PAIRS, "--reward-shaping", "progress",
                 "--reward-scale", "2.0", "--vqa-every", "3", "--no-progress"])
    assert code == 0
    return out


def _episode(root: Path, index: int) -> dict:
    return pq.read_table(root / f"data/chunk-000/file-{index:03d}.parquet").to_pydict()


def _core_rewards(bag, stamps: list[int]) -> dict[int, list]:
    """The node's reward stream computed in process on the images at ``stamps``: the
    simulation chain, a fresh ScenePipeline and RewardSession (one episode), robot
    frames placed from the bag's /tf with core.frame_points."""
    chain = build_chain(SIMULATION)
    pipeline, session = ScenePipeline(PipelineConfig()), RewardSession()
    settings = RewardSettings.from_scale("gap", "progress", 2.0)
    tf = read_tf(bag.path)
    out = {}
    for frame in BagFrameReader(bag.path):
        if frame.stamp_ns not in stamps:
            continue
        perceived = perceive_frame(chain, frame, ())
        result = pipeline.process(perceived.capture, perceived.observations)
        graph = result.graph
        frames = frame_points(tf, ["tool0"], graph.scene, graph.camera_frame_id,
                              graph.stamp_ns)
        out[frame.stamp_ns] = [session.stream_step(graph, "tf:tool0", "cube", settings, frames),
                               session.stream_step(graph, "gripper", "cube", settings, frames)]
    return out


def test_reward_columns_equal_the_cores_stream_rewards_per_stamp_exactly(bags, dataset):
    for index, bag in enumerate(bags):
        data = _episode(dataset, index)
        stamps = [json.loads(g)["stamp_ns"] for g in data["scene_graph"]]
        # 30 Hz recording at 10 fps: every third image, from the first
        assert stamps == list(bag.stamps_ns[::3])
        core = _core_rewards(bag, stamps)
        for column, pair in (("tf_tool0__cube", 0), ("gripper__cube", 1)):
            steps = [core[s][pair] for s in stamps]
            assert all(s.valid for s in steps)
            np.testing.assert_array_equal(
                np.array(data[f"reward.{column}"], np.float32),
                np.array([s.reward for s in steps], np.float32))
            np.testing.assert_array_equal(
                np.array(data[f"distance.{column}"], np.float32),
                np.array([s.distance_m for s in steps], np.float32))
            assert data[f"reached.{column}"] == [s.reached for s in steps]
        # progress restarts with each episode; the approach closes the gap
        assert data["reward.tf_tool0__cube"][0] == 0.0
        assert data["distance.tf_tool0__cube"][-1] < 0.02 < data["distance.tf_tool0__cube"][0]
        assert data["reached.tf_tool0__cube"][-1] and not data["reached.tf_tool0__cube"][0]


def test_frames_decode_back_to_the_recorded_images_within_30_db(bags, dataset):
    for index, bag in enumerate(bags):
        decoded = decode_frames(dataset / f"videos/{CAMERA}/chunk-000/file-{index:03d}.mp4")
        images = {f.stamp_ns: f.rgb.copy() for f in BagFrameReader(bag.path)}
        recorded = [images[s] for s in bag.stamps_ns[::3]]
        assert decoded.shape == (len(recorded), H, W, 3)
        scores = [psnr(d, r) for d, r in zip(decoded, recorded, strict=True)]
        assert min(scores) >= 30.0, scores


def test_the_dataset_has_the_goldens_format(dataset):
    golden = json.loads(GOLDEN.read_text())
    info = json.loads((dataset / "meta/info.json").read_text())
    assert set(info) == set(golden["info"])
    assert {k: v for k, v in info.items() if k not in ("features", "total_episodes",
                                                     "total_frames", "total_tasks", "fps",
                                                     "splits", "robot_type")} == \
        {k: v for k, v in golden["info"].items() if k not in (
            "features", "total_episodes", "total_frames", "total_tasks", "fps", "splits",
            "robot_type")}
    theirs = golden["info"]["features"]
    ours = info["features"]
    shared = ["timestamp", "frame_index", "episode_index", "index", "task_index",
              "language_persistent", "language_events", "scene_graph",
              "reward.tf_tool0__cube", "distance.tf_tool0__cube", "reached.tf_tool0__cube"]
    assert {k: ours[k] for k in shared} == {k: theirs[k] for k in shared}
    video, golden_video = ours[CAMERA]["info"], theirs["observation.images.front"]["info"]
    size = ("video.height", "video.width", "video.fps")
    assert {k: v for k, v in video.items() if k not in size} == \
        {k: v for k, v in golden_video.items() if k not in size}
    assert (video["video.height"], video["video.width"]) == (H, W)
    assert info["total_episodes"] == 2 and info["splits"] == {"train": "0:2"}
    schema = pq.read_schema(dataset / "data/chunk-000/file-000.parquet")
    golden_fields = dict(golden["data_schema"]["fields"])
    for name in shared:
        assert str(schema.field(name).type) == golden_fields[name], name
    episodes = pq.read_schema(dataset / "meta/episodes/chunk-000/file-000.parquet")
    golden_episodes = dict(golden["episodes_schema"]["fields"])
    fixed = [n for n in golden_episodes if not n.startswith(("stats/", "videos/"))]
    assert {n: str(episodes.field(n).type) for n in fixed} == \
        {n: golden_episodes[n] for n in fixed}


def test_keyframes_carry_vqa_rows_in_lerobots_spatial_answer_shape(dataset):
    events = _episode(dataset, 0)["language_events"]
    keyframes = [i for i, rows in enumerate(events) if rows]
    assert keyframes and all(i % 3 == 0 for i in keyframes)
    for rows in (events[i] for i in keyframes):
        assert [r["role"] for r in rows] == ["user", "assistant"] * (len(rows) // 2)
        assert {r["style"] for r in rows} == {"vqa"} and {r["camera"] for r in rows} == {CAMERA}
        for answer in (json.loads(r["content"]) for r in rows if r["role"] == "assistant"):
            assert {"subject", "relation", "object"} <= set(answer)


def test_a_second_run_resumes_and_writes_nothing_new(bags, dataset, capsys):
    before = (dataset / "data/chunk-000/file-000.parquet").read_bytes()
    code = main(["bag2lerobot", *[str(b.path) for b in bags], str(dataset), "--fps", "10",
                 "--reward-pairs", *PAIRS, "--reward-shaping", "progress",
                 "--reward-scale", "2.0", "--vqa-every", "3", "--no-progress"])
    assert code == 0
    assert "0 episodes, 0 frames written this run (2 episodes" in capsys.readouterr().err
    assert (dataset / "data/chunk-000/file-000.parquet").read_bytes() == before


def _joint_state(writer: BagFrameWriter, stamp_ns: int, positions: list[float]):
    types = writer.typestore.types
    names = [f"j{i}" for i in range(len(positions))]
    return types["sensor_msgs/msg/JointState"](
        header=writer.header_message(stamp_ns, "base"), name=names,
        position=np.array(positions, np.float64), velocity=np.zeros(0), effort=np.zeros(0))


def _bag_with_joints(path: Path, joints: int, *, frames: int = 6, seed: int = 0):
    """A copy of a scene bag with a JointState per image and an action
    (Float64MultiArray) 5 ms after each, at the camera's 30 Hz."""
    bag = write_synthetic_bag(path, "scene", frames=frames, seed=seed, width=64, height=48)
    extra = path.parent / f"{path.name}_joints"
    with BagFrameWriter(extra) as writer:
        for frame in BagFrameReader(bag.path):
            writer.write(frame.stamp_ns, frame.rgb, frame.camera,
                         depth_m=frame.decode_depth_m(), instance_ids=frame.instance_ids,
                         id_to_label=frame.id_to_label)
            state = [frame.stamp_ns * 1e-9 % 100 + j for j in range(joints)]
            writer.write_message("/joint_states", "sensor_msgs/msg/JointState",
                                 frame.stamp_ns, _joint_state(writer, frame.stamp_ns, state))
            action = writer.typestore.types["std_msgs/msg/Float64MultiArray"](
                layout=writer.typestore.types["std_msgs/msg/MultiArrayLayout"](
                    dim=[], data_offset=0), data=np.array([0.5 * j for j in range(joints)]))
            writer.write_message("/cmd", "std_msgs/msg/Float64MultiArray",
                                 frame.stamp_ns + 5_000_000, action)
    return extra, bag.stamps_ns


def test_joint_states_and_actions_become_state_and_action_columns(tmp_path):
    path, stamps = _bag_with_joints(tmp_path / "b", joints=3)
    out = tmp_path / "ds"
    assert main(["bag2lerobot", str(path), str(out), "--fps", "30", "--action-topic",
                 "/cmd", "--tolerance-s", "0.02", "--no-progress"]) == 0
    data = _episode(out, 0)
    info = json.loads((out / "meta/info.json").read_text())
    assert info["features"]["observation.state"]["names"] == ["j0", "j1", "j2"]
    assert info["features"]["action"]["shape"] == [3]
    # the grid starts once every stream has spoken (the first action, 5 ms after the
    # first image) and ends with the first stream to end (the images): each tick takes
    # the nearest earlier image and state, i.e. those of the image 5 ms before it
    assert len(data["frame_index"]) == len(stamps) - 1
    expected = [np.float32(s * 1e-9 % 100) for s in stamps[:-1]]
    assert [row[0] for row in data["observation.state"]] == expected
    assert [list(row) for row in data["action"]] == [[0.0, 0.5, 1.0]] * (len(stamps) - 1)
    graphs = [json.loads(g)["stamp_ns"] for g in data["scene_graph"]]
    assert graphs == list(stamps[:-1])


@pytest.mark.parametrize(("args", "message"), [
    (["--rgb-topic", "/nope"], "has no rgb topic '/nope'"),
    (["--reward-pairs", "gripper:banana"], "unknown reward pair 'gripper:banana'"),
    (["--reward-pairs", "tf:tool9:cube"], "frame 'tool9' is not in the TF tree"),
    (["--reward-pairs", "gripper"], "is not 'source:target'"),
])
def test_bad_inputs_exit_2_with_one_clear_message_and_write_nothing(bags, tmp_path, capsys,
                                                                    args, message):
    out = tmp_path / "ds"
    assert main(["bag2lerobot", str(bags[0].path), str(out), "--no-progress", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("spatial-vqa bag2lerobot:") == 1
    assert not out.exists()


def test_state_streams_of_mismatched_lengths_exit_2(tmp_path, capsys):
    a, _ = _bag_with_joints(tmp_path / "a", joints=3, seed=1)
    b, _ = _bag_with_joints(tmp_path / "b", joints=4, seed=2)
    assert main(["bag2lerobot", str(a), str(b), str(tmp_path / "ds"), "--no-progress"]) == 2
    assert "mismatched lengths [3, 4]" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()

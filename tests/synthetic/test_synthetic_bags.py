"""Synthetic bags: frames in the topic convention, ground truth beside them, odometry."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np
import pytest
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore
from scipy.spatial.transform import Rotation

from spatial_vqa_ros.cli import main as cli_main
from spatial_vqa_ros.io import BagFrameReader, DataIOError, bag_topics_summary
from spatial_vqa_ros.synthetic import SyntheticError, render
from spatial_vqa_ros.synthetic.bags import (
    DEFAULT_START_NS,
    GROUND_TRUTH_FILE,
    ODOM_TOPIC,
    read_ground_truth,
    synthetic_scenes,
    write_synthetic_bag,
)

SIZE = {"width": 160, "height": 120}


def test_scene_bag_holds_the_rendered_frames_and_their_truth(tmp_path):
    bag = write_synthetic_bag(tmp_path / "scene", "scene", frames=4, seed=2, rate_hz=20.0,
                              **SIZE)
    assert bag.frames == 4 and bag.odom_topic is None
    assert bag.stamps_ns == tuple(DEFAULT_START_NS + i * 50_000_000 for i in range(4))
    scene = synthetic_scenes("scene", 1, seed=2, **SIZE)[0]
    rendered = render(scene)

    frames = list(BagFrameReader(bag.path))
    assert [f.stamp_ns for f in frames] == list(bag.stamps_ns)
    for frame in frames:
        assert np.array_equal(frame.rgb, rendered.rgb)
        np.testing.assert_array_equal(frame.depth_raw, rendered.depth_m)  # 32FC1 metres
        assert np.array_equal(frame.instance_ids, rendered.instance_ids)
        assert frame.id_to_label == scene.id_to_label
        assert frame.camera.frame_id == scene.camera.frame_id

    truth = read_ground_truth(bag.path)
    assert truth == read_ground_truth(bag.ground_truth_path)
    assert [r["stamp_ns"] for r in truth] == list(bag.stamps_ns)
    record = truth[0]
    assert record["kind"] == "scene" and "gap" not in record
    assert record["scene_frame_id"] == "synthetic_camera_floor"
    assert record["camera_height_m"] == pytest.approx(scene.pose.height_m)
    assert record["camera_pitch_rad"] == pytest.approx(scene.pose.pitch_rad)
    assert record["camera_roll_rad"] == pytest.approx(scene.pose.roll_rad)
    assert {o["id"]: o["label"] for o in record["objects"]} == scene.id_to_label
    for o in record["objects"]:
        primitive = scene.object(o["id"])
        assert o["extent_scene"][2] == pytest.approx(2 * primitive.half_height_m)
        assert o["center_scene"][2] == pytest.approx(primitive.center_world[2])


def test_noise_is_redrawn_per_frame_and_reproducible(tmp_path):
    a = write_synthetic_bag(tmp_path / "a", "scene", frames=2, seed=4, noise=True, **SIZE)
    b = write_synthetic_bag(tmp_path / "b", "scene", frames=2, seed=4, noise=True, **SIZE)
    depth_a = [f.decode_depth_m() for f in BagFrameReader(a.path)]
    depth_b = [f.decode_depth_m() for f in BagFrameReader(b.path)]
    np.testing.assert_array_equal(depth_a[0], depth_b[0])
    assert not np.array_equal(depth_a[0], depth_a[1], equal_nan=True)
    assert read_ground_truth(a.path) == read_ground_truth(b.path)


def test_mcap_and_millimetre_depth(tmp_path):
    bag = write_synthetic_bag(tmp_path / "mm", "scene", frames=2, seed=2, storage="mcap",
                              depth_encoding="16UC1", **SIZE)
    assert list(bag.path.glob("*.mcap"))
    rendered = render(synthetic_scenes("scene", 1, seed=2, **SIZE)[0])
    frame = next(iter(BagFrameReader(bag.path)))
    assert frame.depth_encoding == "16UC1"
    valid = rendered.depth_m < 20.0  # depth_m() drops the far floor (sensor range)
    np.testing.assert_allclose(frame.decode_depth_m()[valid], rendered.depth_m[valid], atol=5e-4)


def test_sequence_bag_carries_the_camera_pose_as_odometry(tmp_path):
    bag = write_synthetic_bag(tmp_path / "seq", "sequence", frames=5, seed=3, **SIZE)
    assert bag.odom_topic == ODOM_TOPIC
    assert bag_topics_summary(bag.path)[ODOM_TOPIC] == ("nav_msgs/msg/Odometry", 5)
    scenes = synthetic_scenes("sequence", 5, seed=3, **SIZE)
    truth = read_ground_truth(bag.path)
    typestore = get_typestore(Stores.ROS2_JAZZY)
    reader = Reader(bag.path)
    reader.open()
    try:
        connections = [c for c in reader.connections if c.topic == ODOM_TOPIC]
        odometry = [(t, typestore.deserialize_cdr(raw, c.msgtype))
                    for c, t, raw in reader.messages(connections)]
    finally:
        reader.close()
    assert len(odometry) == 5
    for (log_ns, odom), scene, record, stamp in zip(odometry, scenes, truth, bag.stamps_ns):
        assert log_ns == stamp
        assert odom.header.stamp.sec * 10**9 + odom.header.stamp.nanosec == stamp
        assert odom.header.frame_id == "odom"
        assert odom.child_frame_id == scene.camera.frame_id
        p, q = odom.pose.pose.position, odom.pose.pose.orientation
        np.testing.assert_allclose([p.x, p.y, p.z], scene.pose.position_world, atol=1e-9)
        rotation = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
        np.testing.assert_allclose(rotation, scene.pose.rotation_world_from_cam, atol=1e-9)
        # optical z (forward) dips below the horizon by the true pitch (world z is up)
        assert -rotation[2, 2] == pytest.approx(np.sin(record["camera_pitch_rad"]))
        assert record["camera_pose_world"]["position"] == pytest.approx([p.x, p.y, p.z])
    heights = [r["camera_height_m"] for r in truth]
    assert len(set(heights)) > 1, "the camera moves"


def test_approach_bag_records_a_gap_shrinking_to_contact(tmp_path):
    bag = write_synthetic_bag(tmp_path / "approach", "approach", frames=5, seed=1, **SIZE)
    truth = read_ground_truth(bag.path)
    gaps = [r["gap"]["gap_m"] for r in truth]
    assert all(r["gap"]["source"] == "gripper" and r["gap"]["target"] == "cube" for r in truth)
    assert all(a > b for a, b in pairwise(gaps))
    assert gaps[0] == pytest.approx(0.6, abs=1e-3) and gaps[-1] == 0.0
    assert {o["label"] for o in truth[0]["objects"]} == {"gripper", "cube"}


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(SyntheticError, match="kind must be one of scene, sequence, approach"):
        write_synthetic_bag(tmp_path / "x", "movie")
    with pytest.raises(SyntheticError, match="frames must be >= 1"):
        write_synthetic_bag(tmp_path / "x", "scene", frames=0)
    with pytest.raises(SyntheticError, match="an approach needs frames >= 2"):
        write_synthetic_bag(tmp_path / "x", "approach", frames=1)
    with pytest.raises(SyntheticError, match="rate_hz must be > 0"):
        write_synthetic_bag(tmp_path / "x", rate_hz=0.0)
    (tmp_path / "taken").mkdir()
    with pytest.raises(DataIOError, match="already exists"):
        write_synthetic_bag(tmp_path / "taken", frames=1, **SIZE)
    with pytest.raises(DataIOError, match="cannot read ground truth"):
        read_ground_truth(tmp_path / "taken")
    assert not (tmp_path / "x").exists()


def test_make_bag_command(tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli_main(["make-bag", str(out), "--kind", "approach", "--frames", "3", "--noise",
                     "--size", "160x120", "--rate-hz", "15", "--seed", "5"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 3 approach frames (160x120, 15 Hz, sqlite3)" in printed
    lines = (out / GROUND_TRUTH_FILE).read_text().splitlines()
    assert len(lines) == 3 and "gap" in json.loads(lines[0])
    assert cli_main(["make-bag", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["make-bag", str(tmp_path / "y"), "--size", "big"])


def test_the_command_offers_every_kind():
    from spatial_vqa_ros.commands import make_bag
    from spatial_vqa_ros.synthetic.bags import KINDS

    assert make_bag.KINDS == KINDS

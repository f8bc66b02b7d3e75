"""The bag TF buffer: tf2's answers (static always, dynamic interpolated, never
extrapolated) from /tf and /tf_static of a recording."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spatial_vqa_ros.core.robot_frames import TransformError, frame_points
from spatial_vqa_ros.io.bags.tf_buffer import TfBuffer, read_tf, slerp
from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.synthetic.bags import synthetic_scenes, write_synthetic_bag
from spatial_vqa_ros.synthetic.tf_frames import tool_in_camera

S = 1_000_000_000


def _quat(axis: str, deg: float) -> np.ndarray:
    return Rotation.from_euler(axis, deg, degrees=True).as_quat()


def _buffer() -> TfBuffer:
    tf = TfBuffer()
    tf.add("world", "camera", 0, (0.0, 0.0, 1.0), _quat("x", 90.0), static=True)
    tf.add("world", "base", 10 * S, (0.0, 0.0, 0.0), _quat("z", 0.0))
    tf.add("world", "base", 20 * S, (2.0, 0.0, 0.0), _quat("z", 90.0))
    tf.add("base", "tool0", 10 * S, (0.5, 0.0, 0.0), _quat("z", 0.0))
    tf.add("base", "tool0", 20 * S, (0.5, 0.0, 0.0), _quat("z", 0.0))
    return tf


def test_a_static_transform_holds_at_any_stamp():
    tf = _buffer()
    for stamp in (0, 5 * S, 10**12 * S):
        transform = tf.lookup("world", "camera", stamp)
        np.testing.assert_allclose(transform[:3, 3], [0.0, 0.0, 1.0])


def test_a_recorded_stamp_gives_the_recorded_transform_exactly():
    transform = _buffer().lookup("world", "tool0", 20 * S)
    # base at x=2 turned 90 deg about z: tool0 0.5 m along base x is at (2, 0.5, 0)
    np.testing.assert_allclose(transform[:3, 3], [2.0, 0.5, 0.0], atol=1e-12)


def test_between_two_stamps_translation_is_linear_and_rotation_slerped():
    transform = _buffer().lookup("world", "base", 15 * S)
    np.testing.assert_allclose(transform[:3, 3], [1.0, 0.0, 0.0], atol=1e-12)
    angle = np.degrees(np.arctan2(transform[1, 0], transform[0, 0]))
    assert angle == pytest.approx(45.0, abs=1e-9)


def test_a_chain_through_a_common_ancestor_composes_both_sides():
    tf = _buffer()
    camera_from_tool = tf.lookup("camera", "tool0", 10 * S)
    world_from_camera = tf.lookup("world", "camera", 10 * S)
    world_from_tool = tf.lookup("world", "tool0", 10 * S)
    np.testing.assert_allclose(world_from_camera @ camera_from_tool, world_from_tool,
                               atol=1e-12)


def test_a_stamp_outside_the_recorded_span_is_refused_not_extrapolated():
    tf = _buffer()
    with pytest.raises(TransformError, match="before the first one recorded"):
        tf.lookup("world", "tool0", 10 * S - 1)
    with pytest.raises(TransformError, match="after the last one recorded"):
        tf.lookup("camera", "tool0", 20 * S + 1)


def test_an_unknown_frame_is_refused_with_the_known_ones():
    with pytest.raises(TransformError, match=r"frame 'gripper' is not in the recording's "
                       r"TF tree \(frames: base, camera, tool0, world\)"):
        _buffer().lookup("camera", "gripper", 15 * S)


def test_frames_of_separate_trees_are_not_connected():
    tf = _buffer()
    tf.add("map", "dock", 0, (0, 0, 0), (0, 0, 0, 1), static=True)
    with pytest.raises(TransformError, match="not connected"):
        tf.lookup("dock", "tool0", 15 * S)


def test_a_frame_under_two_parents_is_refused():
    tf = _buffer()
    with pytest.raises(DataIOError, match="a TF frame has one parent"):
        tf.add("camera", "tool0", 15 * S, (0, 0, 0), (0, 0, 0, 1))


def test_a_non_finite_or_zero_rotation_transform_is_refused():
    tf = TfBuffer()
    with pytest.raises(DataIOError, match="not a finite"):
        tf.add("a", "b", 0, (np.nan, 0, 0), (0, 0, 0, 1))
    with pytest.raises(DataIOError, match="zero quaternion"):
        tf.add("a", "b", 0, (0, 0, 0), (0, 0, 0, 0))


def test_slerp_takes_the_shorter_arc():
    q0, q1 = _quat("z", 10.0), -_quat("z", 30.0)  # -q is the same rotation
    mid = Rotation.from_quat(slerp(q0, q1, 0.5)).as_euler("xyz", degrees=True)[2]
    assert mid == pytest.approx(20.0, abs=1e-9)


def test_a_synthetic_approach_bag_places_tool0_where_the_gripper_tip_is(tmp_path):
    bag = write_synthetic_bag(tmp_path / "bag", "approach", frames=4, seed=3, width=96,
                              height=72, tf=True)
    tf = read_tf(bag.path)
    scenes = synthetic_scenes("approach", 4, seed=3, width=96, height=72)
    camera = scenes[0].camera.frame_id
    assert tf.frames == {"world", camera, "tool0"}
    for stamp, scene in zip(bag.stamps_ns, scenes, strict=True):
        position, rotation = tf.pose_in_camera("tool0", camera, stamp)
        np.testing.assert_allclose(position, tool_in_camera(scene), atol=1e-9)
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-9)
    with pytest.raises(TransformError, match="after the last one recorded"):
        tf.position_in_camera("tool0", camera, bag.stamps_ns[-1] + 1)


def test_the_buffer_serves_the_cores_transform_source_seam(tmp_path):
    """frame_points (what the node's reward stream uses) takes the buffer as it takes
    tf2: the frame lands at the camera-frame position mapped to the scene frame."""
    from spatial_vqa_ros.core.scene_frame import scene_frame_from_floor

    bag = write_synthetic_bag(tmp_path / "bag", "approach", frames=3, seed=1, width=96,
                              height=72, tf=True)
    tf = read_tf(bag.path)
    scene = scene_frame_from_floor(np.array([0.0, -0.8, -0.6]), 1.2)
    points = frame_points(tf, ["tf:tool0"], scene, "synthetic_camera_optical_frame",
                          bag.stamps_ns[1])
    expected = scene.to_scene(tf.position_in_camera(
        "tool0", "synthetic_camera_optical_frame", bag.stamps_ns[1])[None].astype(np.float32))
    np.testing.assert_allclose(points["tool0"].point_scene, expected[0], atol=1e-6)
    assert points["tool0"].heading_deg is not None  # the buffer gives an orientation too


def test_a_bag_without_tf_gives_an_empty_buffer(tmp_path):
    bag = write_synthetic_bag(tmp_path / "bag", "scene", frames=2, width=64, height=48)
    tf = read_tf(bag.path)
    assert tf.frames == frozenset()
    with pytest.raises(TransformError, match="the bag has no /tf or /tf_static"):
        tf.lookup("a", "b", 0)

"""Robot frames as ends of rewards and queries: a gripper known only through its tool
frame (not segmented) approaches a cube; the reward from the frame follows the exact
distance from the tool point to the cube; a missing or stale transform is a clear
error (and an invalid stream step, never a made-up distance); queries name frames
like objects, for positions only."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from spatial_vqa_ros.core.capture import Capture, Observations
from spatial_vqa_ros.core.pipeline import ScenePipeline
from spatial_vqa_ros.core.query import answer_question, answer_structured
from spatial_vqa_ros.core.reward import RewardSession, RewardSettings, request_side
from spatial_vqa_ros.core.robot_frames import (
    FramePoint,
    TransformError,
    frame_object,
    frame_points,
)
from spatial_vqa_ros.synthetic import render
from spatial_vqa_ros.synthetic.bags import synthetic_scenes
from spatial_vqa_ros.synthetic.scenes.trajectories import GRIPPER_DIMS


class FakeTransforms:
    """A transform source from known positions per stamp (what tf2 would hold)."""

    def __init__(self, positions: dict[tuple[str, int], np.ndarray]) -> None:
        self.positions = positions
        self.asked: list[tuple[str, str, int]] = []

    def position_in_camera(self, frame_id: str, camera_frame_id: str, stamp_ns: int):
        self.asked.append((frame_id, camera_frame_id, stamp_ns))
        if (frame_id, stamp_ns) not in self.positions:
            raise TransformError(f"no transform from {frame_id} to {camera_frame_id} at "
                                 f"{stamp_ns}")
        return self.positions[(frame_id, stamp_ns)]


def tool_point(scene) -> np.ndarray:
    """The gripper's tool point: the centre of its bottom face (world frame)."""
    gripper = next(o for o in scene.objects if o.label == "gripper")
    return np.asarray(gripper.center_world) - [0.0, 0.0, GRIPPER_DIMS[2] / 2]


def point_to_box(point: np.ndarray, box) -> float:
    """Exact distance from a point to a yawed box (0 inside)."""
    c, s = math.cos(-box.yaw_rad), math.sin(-box.yaw_rad)
    d = point - np.asarray(box.center_world)
    local = np.array([c * d[0] - s * d[1], s * d[0] + c * d[1], d[2]])
    outside = np.maximum(np.abs(local) - np.asarray(box.dims) / 2, 0.0)
    return float(np.linalg.norm(outside))


def approach(seed: int, frames: int = 12):
    """Per frame: the graph (cube segmented, gripper not), the tool frame placed, and
    the exact tool-to-cube distance."""
    scenes = synthetic_scenes("approach", frames, seed, 320, 240)
    pipeline = ScenePipeline()
    out = []
    for k, scene in enumerate(scenes):
        rendered = render(scene)
        cube_only = {i: label for i, label in rendered.id_to_label.items() if label == "cube"}
        ids = np.where(np.isin(rendered.instance_ids, list(cube_only)),
                       rendered.instance_ids, 0)
        stamp = 1_000_000_000 + k * 100_000_000
        result = pipeline.process(Capture(rendered.rgb, rendered.depth_m, rendered.camera,
                                        stamp), Observations.from_instance_image(ids, cube_only))
        tool = tool_point(scene)
        source = FakeTransforms({("tool0", stamp): scene.pose.world_to_cam(tool[None])[0]})
        frames_now = frame_points(source, ["tool0"], result.scene, "camera_optical", stamp)
        cube = next(o for o in scene.objects if o.label == "cube")
        out.append((result.graph, frames_now, point_to_box(tool, cube), source))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_reward_from_a_tool_frame_follows_the_exact_distance(seed):
    session, settings = RewardSession(), RewardSettings(distance_kind="gap")
    estimated, truth = [], []
    for graph, frames, exact, source in approach(seed):
        assert [o.label for o in graph.objects] == ["cube"]  # the gripper is not segmented
        step = session.stream_step(graph, "tf:tool0", "cube", settings, frames)
        assert step.valid
        estimated.append(step.distance_m)
        truth.append(exact)
        assert source.asked[-1][2] == graph.stamp_ns  # looked up at the image's stamp
    errors = np.abs(np.array(estimated) - np.array(truth))
    assert spearmanr(estimated, truth).statistic >= 0.99
    assert np.median(errors) <= 0.01, errors
    # at contact the tool point sits on the cube's top face, which the gripper now hides:
    # the nearest measured point is the face's visible edge, at most half an edge away
    assert truth[-1] == pytest.approx(0.0, abs=1e-9) and estimated[-1] < 0.03


def test_a_missing_transform_is_an_error_and_an_invalid_stream_step():
    graph, frames, _, _ = approach(0, frames=2)[0]
    with pytest.raises(TransformError, match="no transform from tool9"):
        frame_points(FakeTransforms({}), ["tool9"], graph.scene, "camera_optical", 5)
    step = RewardSession().stream_step(graph, "tf:tool9", "cube", RewardSettings(), frames)
    assert not step.valid and math.isnan(step.distance_m)
    with pytest.raises(TransformError, match="no transform for 'tool9'.*frames available: "
                                             "tool0"):
        request_side(graph, None, None, frame_id="tool9", frames=frames)
    side = request_side(graph, None, None, frame_id="tool0", frames=frames)
    assert side.key == "tf:tool0" and side.points_scene.shape == (1, 3)


def test_a_position_that_is_not_finite_is_refused():
    graph, _, _, _ = approach(0, frames=2)[0]
    broken = FakeTransforms({("tool0", 5): np.array([np.nan, 0.0, 1.0])})
    with pytest.raises(TransformError, match="not a finite position"):
        frame_points(broken, ["tool0"], graph.scene, "camera_optical", 5)


def test_queries_name_frames_like_objects_for_positions_only():
    graph, frames, _, _ = approach(1, frames=3)[0]
    cube = graph.find("cube")
    tool = frames["tool0"].point_scene
    answer = answer_question(graph, "How far is the cube from tool0?", frames=frames)
    assert answer.success, answer.error
    metres = answer.value * {"cm": 0.01, "m": 1.0}[answer.unit]
    assert metres == pytest.approx(np.linalg.norm(cube.center_scene - tool), abs=0.01)
    for offset, truth in ((-0.5, "true"), (0.5, "false")):  # base 0.5 m right / left
        at = FramePoint("base_link", np.array([0.0, cube.center_scene[1] + offset, 0.0]),
                        graph.stamp_ns)
        relation = answer_structured(graph, "left_of", "cube", "base_link",
                                     frames={**frames, "base_link": at})
        assert relation.success and relation.truth == truth
    base = FramePoint("base_link", np.array([0.0, 0.0, 0.0]), graph.stamp_ns)
    both = {**frames, "base_link": base}
    apart = answer_structured(graph, "distance", "tf:tool0", "tf:base_link", frames=both)
    assert apart.success
    assert apart.value * {"cm": 0.01, "m": 1.0}[apart.unit] == pytest.approx(
        np.linalg.norm(tool), abs=0.01)
    sized = answer_structured(graph, "height", "tool0", frames=frames)
    assert not sized.success and "robot frame, a point without size" in sized.error
    unknown = answer_structured(graph, "distance", "cube", "tf:gripper_link", frames=frames)
    assert not unknown.success and "no robot frame 'gripper_link'" in unknown.error
    assert frame_object(frames["tool0"]).id < 0
    assert frame_object(frames["tool0"]).id != frame_object(base).id


def test_within_a_distance_of_a_frame_or_an_object():
    graph, frames, _, _ = approach(1, frames=3)[0]
    cube = graph.find("cube")
    tool = frames["tool0"].point_scene
    distance = float(np.linalg.norm(cube.center_scene - tool))
    near = answer_question(graph, f"Is the cube within {distance + 0.2:.2f} m of tool0?",
                           frames=frames)
    assert near.success and near.truth == "true" and near.text.startswith("Yes")
    far = answer_question(graph, f"Is the cube within {100 * (distance - 0.2):.0f} cm of "
                          "tool0?", frames=frames)
    assert far.success and far.truth == "false" and "not within" in far.text
    edge = answer_question(graph, f"is the cube within {distance:.3f} m of tool0",
                           frames=frames)
    assert edge.truth == "unclear"
    unknown = answer_question(graph, "Is the cube within 1 m of the sofa?", frames=frames)
    assert not unknown.success and "sofa" in unknown.error


class PosedTransforms(FakeTransforms):
    """A source that also gives the frame's orientation (as tf2 does)."""

    def __init__(self, positions, rotations):
        super().__init__(positions)
        self.rotations = rotations

    def pose_in_camera(self, frame_id, camera_frame_id, stamp_ns):
        return (self.position_in_camera(frame_id, camera_frame_id, stamp_ns),
                self.rotations[frame_id])


def test_a_direction_from_a_frame_is_along_the_frames_own_heading():
    from builders import SCENE, est

    from spatial_vqa_ros.core.scene_graph import SceneGraphTracker

    graph = SceneGraphTracker().update([est("cup", [2.0, 1.0, 0.05])], SCENE, 7, "floor",
                                       camera_frame_id="camera_optical")
    base_scene = np.array([2.0, 0.0, 0.0])  # the base stands 1 m to the cup's right
    base_cam = SCENE.to_camera(base_scene[None].astype(np.float32))[0]
    # the base's x axis points along the scene's +y (to the left of the camera's view):
    # camera-from-base rotation = camera-from-scene @ scene-from-base
    scene_from_base = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    camera_from_base = SCENE.rotation_scene_from_cam.T @ scene_from_base
    source = PosedTransforms({("base_link", 7): base_cam}, {"base_link": camera_from_base})
    frames = frame_points(source, ["base_link"], SCENE, "camera_optical", 7)
    assert frames["base_link"].heading_deg == pytest.approx(90.0, abs=0.5)
    answer = answer_structured(graph, "direction", "base_link", "cup", frames=frames)
    assert answer.success and answer.value == 12.0  # straight ahead of the base
    assert "base_link's x axis" in answer.text
    plain = FakeTransforms({("base_link", 7): base_cam})  # no orientation: camera heading
    camera_heading = answer_structured(graph, "direction", "base_link", "cup",
                                       frames=frame_points(plain, ["base_link"], SCENE,
                                                           "camera_optical", 7))
    assert camera_heading.value == 9.0 and "straight ahead" in camera_heading.text

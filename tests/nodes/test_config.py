"""The node's typed configuration: defaults, ROS typing, and refusals that name the fix."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.core.reward import RewardSettings
from spatial_vqa_ros.nodes.config import SpatialNodeConfig
from spatial_vqa_ros.perception.factories import PerceptionSpec


class FakeNode:
    """What SpatialNodeConfig.declare needs of a node: declare_parameter(...).value."""

    def __init__(self, overrides: dict | None = None) -> None:
        self.overrides = overrides or {}
        self.declared: dict[str, object] = {}

    def declare_parameter(self, name, default):
        self.declared[name] = default
        value = self.overrides.get(name, default)
        return type("Parameter", (), {"value": value})()


def test_declare_declares_every_field_with_a_typed_ros_default():
    node = FakeNode()
    config = SpatialNodeConfig.declare(node)
    assert config == SpatialNodeConfig()
    assert node.declared["reward_pairs"] == [""]  # a typed empty string array
    assert node.declared["camera_in_odometry_child"] == [0.0] * 6 + [1.0]
    assert node.declared["sync_queue_size"] == 10 and node.declared["qos"] == "sensor_data"


def test_ros_arrays_become_tuples_and_empty_pairs_are_dropped():
    node = FakeNode({"reward_pairs": ["gripper:cube", ""],
                     "camera_in_odometry_child": [0, 0, 1, 0, 0, 0, 1]})
    config = SpatialNodeConfig.declare(node)
    assert config.reward_stream_pairs == (("gripper", "cube"),)
    assert config.camera_in_odometry_child == (0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    assert config.reward_settings == RewardSettings()


@pytest.mark.parametrize("overrides,message", [
    ({"detector": "yolo"}, "detector must be one of"),
    ({"segmenter": "sam 2"}, "segmenter must be one of"),
    ({"depth_topic": ""}, "depth_estimator 'sensor' needs depth_topic"),
    ({"instances_topic": ""}, "simulation detector/segmenter needs instances_topic"),
    ({"detector_score_threshold": 1.5}, "score_threshold must be within"),
    ({"camera_height_m": -1.0}, "camera_height_m must be >= 0"),
    ({"qos": "fast"}, "qos must be 'sensor_data' or 'reliable'"),
    ({"camera_in_odometry_child": [0.0, 1.0]}, r"\[x, y, z, qx, qy, qz, qw\]"),
    ({"odometry_topic": "/odom", "tf_fixed_frame": "map"}, "not both"),
    ({"reward_pairs": ["gripper-cube"]}, "'source:target'"),
    ({"reward_pairs": ["gripper:"]}, "'source:target'"),
    ({"reward_shaping": "sparse"}, "reward_shaping must be one of"),
    ({"reward_distance_kind": "hausdorff"}, "reward_distance_kind must be one of"),
    ({"reward_scale": -1.0}, "reward_scale must be a finite number >= 0"),
    ({"depth_min_m": 5.0, "depth_max_m": 1.0}, "depth_min_m < depth_max_m"),
    ({"sync_slop_s": 0.0}, "sync_slop_s must be > 0"),
])
def test_bad_parameters_are_refused_with_what_to_set(overrides, message):
    with pytest.raises(ValueError, match=message):
        SpatialNodeConfig.declare(FakeNode(overrides))


def test_unknown_parameter_names_are_refused():
    with pytest.raises(ValueError, match="unknown parameters: rgb_topc"):
        SpatialNodeConfig.from_values({"rgb_topc": "/x"})


def test_plugin_paths_are_accepted_without_importing_them():
    config = SpatialNodeConfig(detector="my_robot.perception:Detector", segmenter="depth_box")
    assert config.perception_spec.detector == "my_robot.perception:Detector"
    assert config.uses_instances is False


def test_the_perception_spec_takes_each_parameter_of_its_name():
    """The spec's fields are the node's parameter names (issue 20: it once said depth,
    runtime, device and score_threshold for four of them)."""
    config = SpatialNodeConfig(depth_estimator="depth_anything", detector="owlv2",
                               segmenter="sam2", depth_model="da", detector_model="ow",
                               detector_config="c.pbtxt", segmenter_model="s2",
                               models_dir="/models", perception_runtime="onnxruntime",
                               perception_device="cpu", detector_score_threshold=0.3,
                               camera_height_m=1.1)
    spec = config.perception_spec
    assert spec == PerceptionSpec(
        depth_estimator="depth_anything", detector="owlv2", segmenter="sam2",
        depth_model="da", detector_model="ow", detector_config="c.pbtxt",
        segmenter_model="s2", models_dir="/models", perception_runtime="onnxruntime",
        perception_device="cpu", detector_score_threshold=0.3, camera_height_m=1.1)


def test_labels_are_prompts_and_instances_are_read_only_for_the_simulation():
    config = SpatialNodeConfig.declare(FakeNode({"labels": ["mug", "", "chair"],
                                                 "detector": "opencv_dnn",
                                                 "segmenter": "depth_box"}))
    assert config.labels == ("mug", "chair") and not config.uses_instances
    assert SpatialNodeConfig().uses_instances


def test_reward_scale_is_a_gain_per_metre_or_a_length_by_shaping():
    gain = SpatialNodeConfig(reward_shaping="progress", reward_scale=4.0).reward_settings
    assert (gain.gain_per_m, gain.length_m) == (4.0, 1.0)
    length = SpatialNodeConfig(reward_shaping="exponential", reward_scale=4.0).reward_settings
    assert (length.gain_per_m, length.length_m) == (1.0, 4.0)


def test_reward_pairs_may_name_robot_frames():
    from spatial_vqa_ros.nodes.config import split_pair

    assert split_pair("gripper:cube") == ["gripper", "cube"]
    assert split_pair("tf:tool0:cube") == ["tf:tool0", "cube"]
    assert split_pair("cube:tf:tool0") == ["cube", "tf:tool0"]
    assert split_pair("tf:tool0:tf:base_link") == ["tf:tool0", "tf:base_link"]
    config = SpatialNodeConfig.from_values({"reward_pairs": ["tf:tool0:cube", "a:b"],
                                            "robot_frames": ["tool0", ""]})
    assert config.reward_stream_pairs == (("tf:tool0", "cube"), ("a", "b"))
    assert config.robot_frames == ("tool0",)
    for bad, message in (({"reward_pairs": ["a:b:c"]}, "source:target"),
                         ({"odometry_child_frame": "base_link"}, "needs odometry_topic"),
                         ({"tf_timeout_s": 0.0}, "tf_timeout_s")):
        with pytest.raises(ValueError, match=message):
            SpatialNodeConfig.from_values(bad)


# --- changes while the node runs ------------------------------------------------------

def test_the_live_parameters_are_the_marked_ones():
    assert SpatialNodeConfig.live_parameters() == {
        "labels", "detector_score_threshold", "max_pixels", "depth_min_m", "depth_max_m",
        "depth_model", "detector_model", "detector_config", "segmenter_model", "model_swap",
        "reward_pairs", "reward_distance_kind", "reward_shaping", "reward_scale",
        "margin_position_m", "margin_sigmas", "margin_size_m", "margin_size_rel",
        "margin_volume_rel", "max_detection_age_s"}


def test_a_live_change_gives_the_new_typed_config():
    config = SpatialNodeConfig().with_changes({"labels": [" mug ", "mug", ""],
                                               "reward_pairs": ["a:b"],
                                               "margin_position_m": 0.5})
    assert config.labels == ("mug",) and config.reward_stream_pairs == (("a", "b"),)
    assert config.margins.position_m == 0.5 and config.margins.sigmas == 2.0
    assert config.rgb_topic == SpatialNodeConfig().rgb_topic


@pytest.mark.parametrize("changes", [{"rgb_topic": "/other"}, {"detector": "opencv_dnn"},
                                     {"perception_runtime": "onnxruntime", "labels": ["a"]}])
def test_a_start_up_parameter_change_needs_a_restart(changes):
    name = next(n for n in changes if n != "labels")
    with pytest.raises(ValueError, match=rf"^{name} cannot change while the node runs .*"
                                         "needs a restart$"):
        SpatialNodeConfig().with_changes(changes)


def test_a_start_up_parameter_set_to_its_own_value_is_no_change():
    config = SpatialNodeConfig()
    assert config.with_changes({"rgb_topic": config.rgb_topic, "robot_frames": [""]}) == config


@pytest.mark.parametrize("changes,message", [
    ({"reward_shaping": "sparse"}, "reward_shaping must be one of"),
    ({"depth_min_m": 30.0}, "depth_min_m < depth_max_m"),
    ({"model_swap": "later"}, "model_swap must be 'beside' or 'unload_first'"),
    ({"margin_size_rel": float("nan")}, "margin_size_rel must be >= 0"),
    ({"max_detection_age_s": -1.0}, "max_detection_age_s must be >= 0"),
    ({"no_such_thing": 1}, "unknown parameters: no_such_thing"),
])
def test_a_bad_live_value_is_refused_with_the_validators_message(changes, message):
    with pytest.raises(ValueError, match=message):
        SpatialNodeConfig().with_changes(changes)


def test_the_node_runs_serial_by_default_and_tracked_mode_builds_its_live_settings():
    assert SpatialNodeConfig().live_mode == "serial"
    config = SpatialNodeConfig.declare(FakeNode({
        "live_mode": "tracked", "tracker": "depth_flow", "keyframe_every_n_frames": 15,
        "keyframe_every_s": 1.0, "keyframe_min_interval_s": 0.25, "keyframe_lost_tracks": 0,
        "forward_budget_s": 0.02, "track_history_s": 3.0}))
    live = config.live_config
    assert live.asynchronous and live.forward_budget_s == 0.02
    assert (live.policy.every_n_frames, live.policy.every_s, live.policy.min_interval_s,
            live.policy.lost_tracks_min) == (15, 1.0, 0.25, 0)
    assert live.policy.view_image_change == 0.5  # the default, as config/spatial_vqa.yaml
    assert live.history.max_age_s == 3.0 and config.perception_spec.tracker == "depth_flow"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"live_mode": "fast"}, "live_mode must be 'serial' or 'tracked', got 'fast'"),
    ({"tracker": "sam9"}, "tracker must be one of"),
    ({"keyframe_every_n_frames": -1}, "keyframe_every_n_frames must be a whole number >= 0"),
    ({"keyframe_every_s": -1.0}, "keyframe_every_s must be a finite number >= 0"),
    ({"keyframe_view_rotation_deg": 200.0}, "keyframe_view_rotation_deg must be <= 180"),
    ({"keyframe_view_image_change": 1.5}, "keyframe_view_image_change is a share of 0-1"),
    ({"keyframe_every_s": 0.5, "keyframe_min_interval_s": 1.0}, r"keyframe_every_s \(0.5 s\) "
     "is shorter than min_interval_s"),
    ({"forward_budget_s": -0.1}, "forward_budget_s must be a finite number of seconds >= 0"),
    ({"track_history_s": 0.0}, "track_history_s must be > 0 seconds"),
])
def test_bad_tracking_parameters_are_refused_by_name(overrides, message):
    with pytest.raises(ValueError, match=message):
        SpatialNodeConfig.declare(FakeNode(overrides))


@pytest.mark.parametrize("name", ["live_mode", "tracker", "keyframe_every_s",
                                  "forward_budget_s"])
def test_tracking_parameters_need_a_restart(name):
    changes = {"live_mode": "tracked", "tracker": "pkg.mod:Tracker", "keyframe_every_s": 5.0,
               "forward_budget_s": 0.2}
    with pytest.raises(ValueError, match=rf"^{name} cannot change while the node runs .*"
                                         "needs a restart$"):
        SpatialNodeConfig().with_changes({name: changes[name]})


def test_a_perception_preset_fills_the_parameters_left_at_their_defaults():
    spec = SpatialNodeConfig(perception_preset="cpu_light", depth_topic="").perception_spec
    assert (spec.depth_estimator, spec.detector, spec.segmenter) == ("depth_anything",
                                                                     "owlvit", "sam")
    assert (spec.segmenter_model, spec.perception_runtime, spec.perception_device) == (
        "slimsam_50_uniform", "onnxruntime", "cpu")
    assert spec.perception_preset == "cpu_light"
    # a parameter set to other than its default wins over the preset
    spec = SpatialNodeConfig(perception_preset="gpu_fast", detector="owlv2",
                             detector_model="owlv2_base_ensemble",
                             perception_device="cuda:1").perception_spec
    assert (spec.detector, spec.detector_model, spec.perception_device) == (
        "owlv2", "owlv2_base_ensemble", "cuda:1")
    assert spec.segmenter_model == "sam2_hiera_tiny"
    # the preset's families read no instance image, so none is subscribed to
    assert not SpatialNodeConfig(perception_preset="gpu_fast").uses_instances


def test_an_unknown_perception_preset_is_refused_naming_the_presets():
    with pytest.raises(ValueError, match=r"perception_preset must be one of \['cpu_light'"):
        SpatialNodeConfig.declare(FakeNode({"perception_preset": "turbo"}))

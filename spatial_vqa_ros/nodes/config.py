"""The spatial node's configuration: one typed, validated value built once at start-up.

Every ROS parameter of the node is a field here, with its default; the node declares
them from this class (:meth:`SpatialNodeConfig.declare`), so the parameter list, the
defaults and the checks live in one place, and the launch and YAML tests read the
same class. No rclpy import: anything with ``declare_parameter`` will do.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..core.errors import CoreError
from ..core.reward import RewardSettings
from ..perception.registry import PerceptionSpec

QOS_CHOICES = ("sensor_data", "reliable")


@dataclass(frozen=True)
class SpatialNodeConfig:
    """The node's parameters (SI units; topics are parameters, not remaps)."""

    rgb_topic: str = "/camera/color/image_raw"
    camera_info_topic: str = "/camera/color/camera_info"
    depth_topic: str = "/camera/depth/image_raw"
    instances_topic: str = "/camera/instances/image_raw"
    labels_topic: str = "/camera/instances/labels"
    #: Perception: each a registered name or ``package.module:Class`` (a plugin).
    depth_estimator: str = "sensor"
    detector: str = "simulation"
    segmenter: str = "simulation"
    #: Weights: a registry name (config/models.yaml) or a local path (opencv_dnn: .pb with
    #: detector_config .pbtxt, or .onnx).
    depth_model: str = ""
    detector_model: str = ""
    detector_config: str = ""
    segmenter_model: str = ""
    #: Where registry names are looked up ("" = $SPATIAL_VQA_MODELS or the user cache).
    models_dir: str = ""
    #: torch, or onnxruntime / tensorrt on graphs written by `spatial-vqa models export`
    #: (tensorrt: engines built in the background; diagnostics say "building engine").
    perception_runtime: str = "torch"
    #: auto (a CUDA GPU when there is one), cpu, cuda or cuda:N.
    perception_device: str = "auto"
    #: 0 = the detector family's own default.
    detector_score_threshold: float = 0.0
    #: The text prompts to ground (set at run time with ~/set_labels).
    labels: tuple[str, ...] = ()
    #: Camera height above the floor [m] when known (0 = unknown): fixes model depth scale.
    camera_height_m: float = 0.0
    qos: str = "sensor_data"
    sync_slop_s: float = 0.02
    sync_queue_size: int = 10
    use_message_filters: bool = True
    #: Frames with more pixels than this are refused before any processing (a single
    #: 8K still must not grow the node by hundreds of MB); 12 MP holds a 4K camera.
    max_pixels: int = 12_000_000
    depth_min_m: float = 0.05
    depth_max_m: float = 20.0
    scene_frame_id: str = ""
    remove_after_s: float = 2.0
    #: With a pose source (odometry_topic or tf_fixed_frame): how long objects out of
    #: view are remembered in the fixed frame [s] (sooner gone when seen empty).
    memory_s: float = 300.0
    #: "source:target" names of the reward stream's pairs.
    reward_pairs: tuple[str, ...] = ()
    reward_distance_kind: str = "gap"
    reward_shaping: str = "negative_distance"
    reward_scale: float = 1.0
    odometry_topic: str = ""
    odometry_slop_s: float = 0.05
    #: The camera optical frame in the odometry child frame: x y z qx qy qz qw.
    camera_in_odometry_child: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    tf_fixed_frame: str = ""
    #: Robot frames (TF ids, e.g. tool0, base_link) that queries and rewards may name:
    #: their origins are looked up at each image's stamp (tf2_ros; without it, only the
    #: odometry's child frame, ``odometry_child_frame``).
    robot_frames: tuple[str, ...] = ()
    odometry_child_frame: str = ""
    #: How long a lookup may wait for a transform at the image's stamp [s].
    tf_timeout_s: float = 0.1

    def __post_init__(self) -> None:
        self.perception_spec  # noqa: B018 -- validates the perception names and options
        if self.depth_estimator == "sensor" and not self.depth_topic:
            raise ValueError("depth_estimator 'sensor' needs depth_topic (an RGB-D camera); "
                             "without one, choose a depth model")
        if self.uses_instances and not (self.instances_topic and self.labels_topic):
            raise ValueError("the simulation detector/segmenter needs instances_topic and "
                             "labels_topic")
        if self.qos not in QOS_CHOICES:
            raise ValueError(f"qos must be 'sensor_data' or 'reliable', got {self.qos!r}")
        if len(self.camera_in_odometry_child) != 7:
            raise ValueError("camera_in_odometry_child is [x, y, z, qx, qy, qz, qw]")
        if self.odometry_topic and self.tf_fixed_frame:
            raise ValueError("set odometry_topic or tf_fixed_frame, not both")
        if not 0.0 < self.depth_min_m < self.depth_max_m:
            raise ValueError(f"need 0 < depth_min_m < depth_max_m, got {self.depth_min_m} "
                             f"and {self.depth_max_m}")
        if self.sync_slop_s <= 0 or self.sync_queue_size < 1:
            raise ValueError("sync_slop_s must be > 0 and sync_queue_size >= 1")
        try:
            self.reward_settings  # noqa: B018 -- validates kind and shaping
        except CoreError as error:
            raise ValueError(f"reward_{error}") from None
        self._check_robot_frames()

    def _check_robot_frames(self) -> None:
        """The reward pairs (an end may be a robot frame) and the frames' lookup."""
        for pair in self.reward_pairs:
            ends = split_pair(pair)
            if len(ends) != 2 or not all(ends):
                raise ValueError(f"reward_pairs entries are 'source:target' (an end may be "
                                 f"a robot frame, 'tf:tool0'), got {pair!r}")
        if self.odometry_child_frame and not self.odometry_topic:
            raise ValueError("odometry_child_frame needs odometry_topic")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be >= 1, got {self.max_pixels}")
        if not (self.memory_s > 0 and self.remove_after_s > 0):
            raise ValueError("memory_s and remove_after_s must be > 0")
        if not self.tf_timeout_s > 0:
            raise ValueError(f"tf_timeout_s must be > 0, got {self.tf_timeout_s}")

    @property
    def perception_spec(self) -> PerceptionSpec:
        return PerceptionSpec(depth=self.depth_estimator, detector=self.detector,
                              segmenter=self.segmenter, detector_model=self.detector_model,
                              detector_config=self.detector_config,
                              depth_model=self.depth_model,
                              segmenter_model=self.segmenter_model, models_dir=self.models_dir,
                              runtime=self.perception_runtime,
                              device=self.perception_device,
                              score_threshold=self.detector_score_threshold,
                              camera_height_m=self.camera_height_m)

    @property
    def uses_instances(self) -> bool:
        """Whether perception reads a simulator's instance image (only then is it
        subscribed: a real camera never publishes one, and the sync would wait forever)."""
        return "simulation" in (self.detector, self.segmenter)

    @property
    def reward_settings(self) -> RewardSettings:
        return RewardSettings(self.reward_distance_kind, self.reward_shaping,
                              self.reward_scale)

    @property
    def reward_stream_pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple((ends[0], ends[1]) for ends in map(split_pair, self.reward_pairs))

    @classmethod
    def ros_defaults(cls) -> dict[str, Any]:
        """Parameter name -> the default as ROS declares it (typed; lists, not tuples).

        An empty string array cannot be declared without a type, so ``reward_pairs`` and
        ``labels`` default to ``[""]`` in ROS, which means none.
        """
        defaults = {}
        for f in fields(cls):
            value = f.default
            if isinstance(value, tuple):
                value = list(value) or [""]
            defaults[f.name] = value
        return defaults

    @classmethod
    def declare(cls, node: Any) -> SpatialNodeConfig:
        """Declare every parameter on ``node`` and build the config from its values.

        Raises ValueError naming the bad parameter (the node then exits with status 2).
        """
        values = {name: node.declare_parameter(name, default).value
                  for name, default in cls.ros_defaults().items()}
        return cls.from_values(values)

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> SpatialNodeConfig:
        """The config of parameter values as ROS gives them (lists for arrays)."""
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown parameters: {', '.join(unknown)}")
        typed = dict(values)
        for name in ("reward_pairs", "labels", "robot_frames"):
            if name in typed:
                typed[name] = tuple(s for s in typed[name] if s)
        if "camera_in_odometry_child" in typed:
            typed["camera_in_odometry_child"] = tuple(
                float(v) for v in typed["camera_in_odometry_child"])
        return cls(**typed)


def split_pair(pair: str) -> list[str]:
    """'gripper:cube' -> [gripper, cube]; a 'tf:' prefix stays on its end:
    'tf:tool0:cube' -> [tf:tool0, cube]."""
    ends: list[str] = []
    tokens = pair.split(":")
    while tokens:
        token = tokens.pop(0)
        if token == "tf" and tokens:
            token = f"tf:{tokens.pop(0)}"
        ends.append(token)
    return ends


__all__ = ["QOS_CHOICES", "SpatialNodeConfig", "split_pair"]

"""The spatial node's configuration: one typed, validated value.

Every ROS parameter of the node is a field here, with its default; the node declares
them from this class (:meth:`SpatialNodeConfig.declare`), so the parameter list, the
defaults and the checks live in one place, and the launch and YAML tests read the
same class. No rclpy import: anything with ``declare_parameter`` will do.

A field declared with :func:`_live` may change while the node runs (``ros2 param set``):
:meth:`SpatialNodeConfig.with_changes` builds the changed config with the same checks,
and refuses every other field with "needs a restart" (topics, QoS, synchronisation, the
model family, the runtime and the pose source are wired once, at start-up).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..core.capture import DEPTH_MAX_M, DEPTH_MIN_M, MAX_PIXELS
from ..core.errors import CoreError
from ..core.live import HistoryConfig, KeyframePolicy, LiveError
from ..core.relations import Margins
from ..core.reward import RewardSettings
from ..core.reward_pairs import split_pair
from ..perception.errors import PerceptionError
from ..perception.factories import PerceptionSpec, needs_instances
from ..perception.families.presets import PRESET_FIELDS, resolve
from ..perception.live_chain import LiveConfig

QOS_CHOICES = ("sensor_data", "reliable")
#: How a live checkpoint change loads the new model: beside the running one (which
#: serves until the new one is ready; twice the model memory for a while), or after
#: unloading it (for a device without room for two; no perception in between).
SWAP_POLICIES = ("beside", "unload_first")
#: How frames are perceived: "serial", every stage on each frame the worker takes (the
#: graph updates as often as the chain finishes); "tracked", depth and a tracker on every
#: frame and the detector on keyframes beside them (perception.live_chain).
LIVE_MODES = ("serial", "tracked")
#: The keyframe parameters -> the field of core.live.KeyframePolicy each sets.
KEYFRAME_FIELDS = {"keyframe_every_n_frames": "every_n_frames",
                   "keyframe_every_s": "every_s",
                   "keyframe_min_interval_s": "min_interval_s",
                   "keyframe_lost_tracks": "lost_tracks_min",
                   "keyframe_view_translation_m": "view_translation_m",
                   "keyframe_view_rotation_deg": "view_rotation_deg",
                   "keyframe_view_image_change": "view_image_change"}
#: Metadata key of the fields that may change while the node runs (see :func:`_live`).
_LIVE = "live"
#: The ambiguity margins' parameters -> the field of core.relations.Margins each sets.
MARGIN_FIELDS = {"margin_position_m": "position_m", "margin_sigmas": "sigmas",
                 "margin_size_m": "size_m", "margin_size_rel": "size_rel",
                 "margin_volume_rel": "volume_rel",
                 "max_detection_age_s": "max_detection_age_s"}


def _live(default: Any) -> Any:
    """A field that may change while the node runs (``ros2 param set``): the one mark,
    read by :meth:`SpatialNodeConfig.live_parameters`."""
    return field(default=default, metadata={_LIVE: True})


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
    depth_model: str = _live("")
    detector_model: str = _live("")
    detector_config: str = _live("")
    segmenter_model: str = _live("")
    #: How a live checkpoint change loads: "beside" the running model, or "unload_first"
    #: (see SWAP_POLICIES; the gap in service is reported in /diagnostics).
    model_swap: str = _live("beside")
    #: Where registry names are looked up ("" = $SPATIAL_VQA_MODELS or the user cache).
    models_dir: str = ""
    #: torch, or onnxruntime / tensorrt on graphs written by `spatial-vqa models export`
    #: (tensorrt: engines built in the background; diagnostics say "building engine").
    perception_runtime: str = "torch"
    #: auto (a CUDA GPU when there is one), cpu, cuda or cuda:N.
    perception_device: str = "auto"
    #: A whole chain by one name (perception/families/presets.py: cpu_light, gpu_fast,
    #: gpu_quality; "" = none): fills the three families, their *_model, the runtime and
    #: the device; each of those parameters set to other than its default wins.
    perception_preset: str = ""
    #: 0 = the detector family's own default.
    detector_score_threshold: float = _live(0.0)
    #: The text prompts to ground (set at run time here or with ~/set_labels).
    labels: tuple[str, ...] = _live(())
    #: Camera height above the floor [m] when known (0 = unknown): fixes model depth scale.
    camera_height_m: float = 0.0
    qos: str = "sensor_data"
    sync_slop_s: float = 0.02
    sync_queue_size: int = 10
    use_message_filters: bool = True
    #: Frames with more pixels than this are refused before any processing (a single
    #: 8K still must not grow the node by hundreds of MB); the default, 12 MP, holds a
    #: 4K camera and is the offline tools' ``--max-pixels`` default too.
    max_pixels: int = _live(MAX_PIXELS)
    #: The valid depth range [m] (defaults shared with the offline tools' options).
    depth_min_m: float = _live(DEPTH_MIN_M)
    depth_max_m: float = _live(DEPTH_MAX_M)
    scene_frame_id: str = ""
    remove_after_s: float = 2.0
    #: With a pose source (odometry_topic or tf_fixed_frame): how long objects out of
    #: view are remembered in the fixed frame [s] (sooner gone when seen empty).
    memory_s: float = 300.0
    #: "source:target" names of the reward stream's pairs.
    reward_pairs: tuple[str, ...] = _live(())
    reward_distance_kind: str = _live("gap")
    reward_shaping: str = _live("negative_distance")
    #: 1/m for negative_distance and progress (the reward per metre), m for exponential
    #: (the decay length), as ComputeReward's ``scale``.
    reward_scale: float = _live(1.0)
    #: Ambiguity margins of the answers (core.relations.Margins): a position difference
    #: must exceed margin_position_m + margin_sigmas x its 1-sigma noise; a size
    #: difference max(margin_size_m, margin_size_rel x the larger); volumes
    #: margin_volume_rel. Within it the answer is "unclear".
    margin_position_m: float = _live(0.03)
    margin_sigmas: float = _live(2.0)
    margin_size_m: float = _live(0.03)
    margin_size_rel: float = _live(0.10)
    margin_volume_rel: float = _live(0.40)
    #: The gate refuses to state relations of an object whose mask a tracker carried
    #: longer than this since its last detection (live_mode tracked) [s]; 0 = no limit.
    max_detection_age_s: float = _live(2.0)
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
    #: "serial" or "tracked" (LIVE_MODES); the rest of this block is read in tracked mode.
    live_mode: str = "serial"
    #: What carries the masks between keyframes (perception TRACKERS, or a plugin path).
    tracker: str = "depth_flow"
    #: A learned tracker's weights (sam2_video, sam3_tracker): a registry name or a local
    #: path. Restart-only, as the tracker is.
    tracker_model: str = ""
    #: Keyframes (stamp time, so live and offline runs of a recording agree): at least
    #: every N frames or S seconds (0 = off), never closer than the min interval; also
    #: when this many tracks are newly lost (0 = off), or the camera moved this far since
    #: the last keyframe (with a pose source; 0 = off), or, without a pose, this share of
    #: the view is new in the images (0 = off). Labels changing always forces one.
    keyframe_every_n_frames: int = 30
    keyframe_every_s: float = 2.0
    keyframe_min_interval_s: float = 0.0
    keyframe_lost_tracks: int = 1
    keyframe_view_translation_m: float = 0.5
    keyframe_view_rotation_deg: float = 20.0
    keyframe_view_image_change: float = 0.5
    #: Time a frame may spend bringing a late detection's masks forward to it [s]; past
    #: it, they join from the next frame on.
    forward_budget_s: float = 0.05
    #: How much of the tracks' past is kept to reconcile late detections against [s];
    #: a detection slower than this is matched against the oldest kept state (logged).
    track_history_s: float = 6.0
    #: Frames that may wait for the worker in tracked mode (the oldest is dropped, and
    #: counted in /diagnostics, when a frame comes to a full queue): rides out the
    #: worker's short stalls on a busy machine. The serial mode always keeps 1 (latest
    #: frame wins). A worker that stays slower than the camera adds up to this many of
    #: its frame times to the latency.
    input_queue_frames: int = 8

    def __post_init__(self) -> None:
        self.perception_spec  # noqa: B018 -- validates the perception names and options
        if self.perception_spec.depth_estimator == "sensor" and not self.depth_topic:
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
        if self.input_queue_frames < 1:
            raise ValueError(f"input_queue_frames must be >= 1, got {self.input_queue_frames}")
        try:
            self.reward_settings  # noqa: B018 -- validates kind and shaping
        except CoreError as error:
            raise ValueError(f"reward_{error}") from None
        self._check_robot_frames()
        if self.live_mode not in LIVE_MODES:
            raise ValueError(f"live_mode must be 'serial' or 'tracked', got {self.live_mode!r}")
        self.live_config  # noqa: B018 -- validates the keyframe and tracking parameters

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
        if self.model_swap not in SWAP_POLICIES:
            raise ValueError(f"model_swap must be 'beside' or 'unload_first', got "
                             f"{self.model_swap!r}")
        for name in MARGIN_FIELDS:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be >= 0, got {value}")

    @property
    def perception_spec(self) -> PerceptionSpec:
        """The chain the parameters name: each spec field is the parameter of the same
        name, except ``assumed_hfov_deg`` (for images without intrinsics: the node has
        its CameraInfo); a ``perception_preset`` fills those a preset sets that are left
        at their defaults."""
        values = {f.name: getattr(self, f.name) for f in fields(PerceptionSpec)
                  if f.name != "assumed_hfov_deg"}
        defaults = {f.name: f.default for f in fields(self)}
        given = {name for name in PRESET_FIELDS if values[name] != defaults[name]}
        return PerceptionSpec(**resolve(self.perception_preset, values, given))

    @property
    def live_config(self) -> LiveConfig:
        """The two-rate chain's settings (tracked mode; asynchronous detection).
        ValueError naming the parameter when one is out of range."""
        try:
            policy = KeyframePolicy(**{key: getattr(self, name)
                                       for name, key in KEYFRAME_FIELDS.items()})
            if not (math.isfinite(self.track_history_s) and self.track_history_s > 0):
                raise LiveError(f"track_history_s must be > 0 seconds, got "
                                f"{self.track_history_s}")
            history = HistoryConfig(max_frames=max(90, math.ceil(self.track_history_s * 60)),
                                    max_age_s=float(self.track_history_s),
                                    max_bytes=256 * 2**20)
            return LiveConfig(policy=policy, history=history,
                              forward_budget_s=self.forward_budget_s, asynchronous=True)
        except (LiveError, PerceptionError) as error:
            message = str(error)
            for name, key in KEYFRAME_FIELDS.items():
                message = message.replace(f"KeyframePolicy.{key}", name)
            raise ValueError(message) from None

    @property
    def input_queue_capacity(self) -> int:
        """Frames the node's input queue holds: ``input_queue_frames`` in tracked mode,
        1 in serial mode (latest frame wins: a slow chain builds no backlog)."""
        return self.input_queue_frames if self.live_mode == "tracked" else 1

    @property
    def uses_instances(self) -> bool:
        """Whether perception reads a simulator's instance image (only then is it
        subscribed: a real camera never publishes one, and the sync would wait forever).
        The families say so themselves (``needs_instances``), so a plugin extending the
        simulation detector is subscribed for too. A plugin that cannot be loaded needs
        nothing here: building the chain, first, says why it cannot load."""
        return needs_instances(self.perception_spec)

    @property
    def margins(self) -> Margins:
        """The ambiguity margins of the answers."""
        return Margins(**{key: getattr(self, name) for name, key in MARGIN_FIELDS.items()})

    @property
    def reward_settings(self) -> RewardSettings:
        """The stream's settings; ``reward_scale`` means what ComputeReward's ``scale``
        means, per shaping (:meth:`RewardSettings.from_scale`)."""
        return RewardSettings.from_scale(self.reward_distance_kind, self.reward_shaping,
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
        return cls(**cls._typed(values))

    @classmethod
    def _typed(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """Parameter values as ROS gives them -> field values (tuples, labels tidied);
        ValueError for a name that is no parameter."""
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown parameters: {', '.join(unknown)}")
        typed = dict(values)
        for name in ("reward_pairs", "robot_frames"):
            if name in typed:
                typed[name] = tuple(s for s in typed[name] if s)
        if "labels" in typed:
            typed["labels"] = tidy_labels(typed["labels"])
        if "camera_in_odometry_child" in typed:
            typed["camera_in_odometry_child"] = tuple(
                float(v) for v in typed["camera_in_odometry_child"])
        return typed

    @classmethod
    def live_parameters(cls) -> frozenset[str]:
        """The parameters that may change while the node runs (marked with ``_live``)."""
        return frozenset(f.name for f in fields(cls) if f.metadata.get(_LIVE))

    def with_changes(self, changes: Mapping[str, Any]) -> SpatialNodeConfig:
        """This config with ``changes`` (parameter -> value as ROS gives it) applied while
        the node runs, checked like a start-up config.

        Raises ValueError: for a parameter read only at start-up whose value differs
        (setting it to its current value is accepted), "... needs a restart"; for a bad
        value, the validator's message.
        """
        typed = self._typed(changes)
        fixed = sorted(name for name, value in typed.items()
                       if name not in self.live_parameters() and value != getattr(self, name))
        if fixed:
            raise ValueError(f"{', '.join(fixed)} cannot change while the node runs (topics, "
                             "QoS, synchronisation, model family, runtime and pose source "
                             "are wired at start-up): needs a restart")
        return replace(self, **typed)


def tidy_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """Prompts as the node uses them: spaces collapsed, empty ones and repeats dropped
    (ROS declares an empty string array as ``[""]``)."""
    tidied = (" ".join(str(label).split()) for label in labels)
    return tuple(dict.fromkeys(label for label in tidied if label))


__all__ = ["KEYFRAME_FIELDS", "LIVE_MODES", "MARGIN_FIELDS", "QOS_CHOICES", "SWAP_POLICIES",
           "SpatialNodeConfig", "split_pair", "tidy_labels"]

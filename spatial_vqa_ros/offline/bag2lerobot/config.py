"""The settings that decide a LeRobot dataset's content: :class:`Bag2LeRobotConfig`.

Reward pairs are spelled as the spatial node's ``reward_pairs`` parameter (its
``split_pair``: ``tf:tool0:cube`` is the robot frame tool0 and the object cube) and
shaped by the node's :class:`~spatial_vqa_ros.core.reward.RewardSettings` built the
same way (``from_scale``), so the offline reward is the live one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ...core.errors import CoreError
from ...core.pipeline import PipelineConfig
from ...core.reward import DEFAULT_SUCCESS_THRESHOLD_M, RewardSettings
from ...core.reward_pairs import split_pair
from ...core.robot_frames import is_frame_name, strip_frame_prefix
from ...core.vqa import SynthesisConfig
from ...io.bags import BagTopics
from ...io.errors import DataIOError
from ...perception.factories import PerceptionSpec
from ...perception.types import InputSettings

#: Version of :meth:`Bag2LeRobotConfig.settings` (recorded; a directory resumes only
#: with the same settings).
SETTINGS_VERSION = 1
SCENE_GRAPH = "scene_graph"
STATE = "observation.state"
ACTION = "action"


def pair_ends(pair: str) -> tuple[str, str]:
    """'tf:tool0:cube' -> ('tf:tool0', 'cube'), as the node reads ``reward_pairs``;
    DataIOError for anything that is not two non-empty ends."""
    ends = split_pair(pair)
    if len(ends) != 2 or not all(e.strip() for e in ends):
        raise DataIOError(f"reward pair {pair!r} is not 'source:target' (an end may be a "
                          "robot frame, 'tf:tool0:cube')")
    return ends[0].strip(), ends[1].strip()


def pair_column(pair: str) -> str:
    """The column suffix of a pair: ends joined by '__', ':' inside an end as '_'
    ('tf:tool0:cube' -> 'tf_tool0__cube'); LeRobot feature names avoid ':'."""
    return "__".join(end.replace(":", "_").replace(" ", "_") for end in pair_ends(pair))


def check_pairs(pairs: tuple[str, ...]) -> None:
    """DataIOError for a pair that is not 'source:target' or two pairs of one column."""
    columns = [pair_column(p) for p in pairs]
    if len(set(columns)) != len(columns):
        raise DataIOError(f"reward pairs repeat: {', '.join(pairs)}")


def reward_settings_of(distance_kind: str, shaping: str, scale: float,
                       success_threshold_m: float) -> RewardSettings:
    """As the node's ``reward_settings`` (``scale`` per shaping, ``from_scale``)."""
    try:
        return RewardSettings.from_scale(distance_kind, shaping, scale, success_threshold_m)
    except CoreError as error:
        raise DataIOError(f"reward settings: {error}") from None


def robot_frames(pairs: tuple[str, ...]) -> tuple[str, ...]:
    """The robot frames the pairs name explicitly (``tf:`` ends), without the prefix."""
    ends = [end for pair in pairs for end in pair_ends(pair)]
    return tuple(dict.fromkeys(strip_frame_prefix(e) for e in ends if is_frame_name(e)))


@dataclass(frozen=True)
class Bag2LeRobotConfig:
    """Everything that decides a dataset's content.

    Resampling (``core.episodes``): ``fps`` ticks, each taking the nearest earlier
    message of every stream within ``tolerance_s`` (0: one period, 1/fps). Episodes:
    one per recording, or cut at pauses longer than ``episode_gap_s``, or where the
    std_msgs ``episode_topic`` changes value (its value, if text, is the task).
    ``state_topic``: sensor_msgs/JointState positions as ``observation.state`` (when
    the bag has it); ``action_topic``: the ``action`` column (a type of
    ``streams.ACTION_TYPES``; required in the bag when set). Rewards: ``reward_pairs``
    with ``distance_kind``, ``shaping``, ``scale`` and ``success_threshold_m`` as the
    node's ``reward_*`` parameters. VQA: ``vqa_every``-th frame of each episode (0:
    none) gets ``synthesis``' questions as ``vqa`` language events.
    """

    fps: int = 10
    tolerance_s: float = 0.0
    reward_pairs: tuple[str, ...] = ()
    distance_kind: str = "gap"
    shaping: str = "negative_distance"
    scale: float = 1.0
    success_threshold_m: float = DEFAULT_SUCCESS_THRESHOLD_M
    episode_gap_s: float = 0.0
    episode_topic: str = ""
    state_topic: str = "/joint_states"
    action_topic: str = ""
    camera_name: str = "camera"
    task: str = ""
    robot_type: str = ""
    vqa_every: int = 10
    synthesis: SynthesisConfig = field(default_factory=SynthesisConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    topics: BagTopics = field(default_factory=BagTopics)
    perception: PerceptionSpec = field(default_factory=PerceptionSpec)
    prompts: tuple[str, ...] = ()
    inputs: InputSettings = field(default_factory=InputSettings)

    def __post_init__(self) -> None:
        if isinstance(self.fps, bool) or not isinstance(self.fps, int) or self.fps < 1:
            raise DataIOError(f"fps must be a positive integer (LeRobot stores it as one), "
                              f"got {self.fps!r}")
        for name in ("tolerance_s", "episode_gap_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise DataIOError(f"{name} must be >= 0, got {value}")
        if self.episode_gap_s and self.episode_topic:
            raise DataIOError("split episodes by a gap or by an episode topic, not both")
        if self.vqa_every < 0:
            raise DataIOError(f"vqa_every must be >= 0, got {self.vqa_every}")
        if not self.camera_name or "/" in self.camera_name:
            raise DataIOError(f"camera name {self.camera_name!r} must be non-empty, no '/'")
        object.__setattr__(self, "reward_pairs", tuple(self.reward_pairs))
        object.__setattr__(self, "prompts", tuple(self.prompts))
        check_pairs(self.reward_pairs)
        self.reward_settings  # noqa: B018 -- validates kind, shaping and scale

    @property
    def reward_settings(self) -> RewardSettings:
        """As the node's ``reward_settings`` (``scale`` per shaping, ``from_scale``)."""
        return reward_settings_of(self.distance_kind, self.shaping, self.scale,
                                  self.success_threshold_m)

    @property
    def tolerance_ns(self) -> int:
        return round((self.tolerance_s or 1.0 / self.fps) * 1e9)

    @property
    def camera_key(self) -> str:
        return f"observation.images.{self.camera_name}"

    def settings(self) -> dict[str, Any]:
        """JSON-able settings, recorded in the dataset's manifest."""
        s = self.synthesis
        return {
            "settings_version": SETTINGS_VERSION,
            "fps": self.fps, "tolerance_ns": self.tolerance_ns,
            "reward": {"pairs": list(self.reward_pairs), **asdict(self.reward_settings)},
            "episodes": {"gap_s": self.episode_gap_s, "topic": self.episode_topic},
            "state_topic": self.state_topic, "action_topic": self.action_topic,
            "camera_key": self.camera_key, "task": self.task, "vqa_every": self.vqa_every,
            "synthesis": {"category_weights": None if s.category_weights is None
                          else dict(s.category_weights), "qa_per_image": s.qa_per_image,
                          "units": s.units, "qualitative_fraction": s.qualitative_fraction,
                          "seed": s.seed, "margins": asdict(s.margins)},
            "pipeline": asdict(self.pipeline), "topics": asdict(self.topics),
            "perception": asdict(self.perception), "prompts": list(self.prompts),
            "inputs": asdict(self.inputs),
        }


__all__ = ["ACTION", "SCENE_GRAPH", "STATE", "Bag2LeRobotConfig", "check_pairs",
           "pair_column", "pair_ends", "reward_settings_of", "robot_frames"]

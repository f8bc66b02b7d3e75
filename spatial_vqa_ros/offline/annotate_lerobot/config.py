"""The settings of ``annotate-lerobot``: :class:`AnnotateConfig`.

Rewards, VQA, the scene pipeline and perception are spelled and validated as
``bag2lerobot``'s (the same pair syntax, ``reward_settings_of``, ``check_pairs``), so an
annotated dataset's columns mean what a converted recording's mean.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ...core.pipeline import PipelineConfig
from ...core.reward import DEFAULT_SUCCESS_THRESHOLD_M, RewardSettings
from ...core.vqa import SynthesisConfig
from ...io.errors import DataIOError
from ...perception.factories import PerceptionSpec
from ...perception.types import InputSettings
from ..bag2lerobot.config import check_pairs, reward_settings_of

SETTINGS_VERSION = 1


@dataclass(frozen=True)
class AnnotateConfig:
    """Everything that decides an annotated dataset's content.

    ``camera_key``: the video feature perceived ("" = the dataset's only one).
    Intrinsics: ``camera_info`` (a ROS camera_info YAML) or ``hfov_deg`` (a centred
    pinhole of that horizontal field of view). Depth: ``depth_key`` (a numeric feature
    of H*W metres per frame, row-major) read as sensor depth, or the perception's depth
    model. ``fk`` (``module:function``) places the robot frame ``fk_frame`` from
    ``observation.state`` (see :mod:`.fk`; ``camera_in_base``: the camera's pose in
    the frame the hook answers in, empty when it answers in the camera frame).
    """

    reward_pairs: tuple[str, ...] = ()
    distance_kind: str = "gap"
    shaping: str = "negative_distance"
    scale: float = 1.0
    success_threshold_m: float = DEFAULT_SUCCESS_THRESHOLD_M
    camera_key: str = ""
    camera_info: str = ""
    hfov_deg: float = 0.0
    depth_key: str = ""
    fk: str = ""
    fk_frame: str = "ee"
    camera_in_base: tuple[float, ...] = ()
    state_key: str = "observation.state"
    vqa_every: int = 10
    synthesis: SynthesisConfig = field(default_factory=SynthesisConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    perception: PerceptionSpec = field(default_factory=PerceptionSpec)
    prompts: tuple[str, ...] = ()
    inputs: InputSettings = field(default_factory=InputSettings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reward_pairs", tuple(self.reward_pairs))
        object.__setattr__(self, "prompts", tuple(self.prompts))
        object.__setattr__(self, "camera_in_base", tuple(self.camera_in_base))
        check_pairs(self.reward_pairs)
        self.reward_settings  # noqa: B018 -- validates kind, shaping and scale
        if self.vqa_every < 0:
            raise DataIOError(f"vqa_every must be >= 0, got {self.vqa_every}")
        if self.hfov_deg and not (math.isfinite(self.hfov_deg) and 0 < self.hfov_deg < 180):
            raise DataIOError(f"--hfov must be in (0, 180) degrees, got {self.hfov_deg}")
        if self.camera_info and self.hfov_deg:
            raise DataIOError("give the intrinsics once: --camera-info or --hfov, not both")
        if not self.fk_frame or ":" in self.fk_frame:
            raise DataIOError(f"--fk-frame {self.fk_frame!r} must be a frame name")

    @property
    def reward_settings(self) -> RewardSettings:
        return reward_settings_of(self.distance_kind, self.shaping, self.scale,
                                  self.success_threshold_m)

    def settings(self) -> dict[str, Any]:
        """JSON-able settings, recorded in the dataset's manifest."""
        s = self.synthesis
        return {
            "settings_version": SETTINGS_VERSION, "command": "annotate-lerobot",
            "reward": {"pairs": list(self.reward_pairs), **asdict(self.reward_settings)},
            "camera_key": self.camera_key, "camera_info": self.camera_info,
            "hfov_deg": self.hfov_deg, "depth_key": self.depth_key, "fk": self.fk,
            "fk_frame": self.fk_frame, "camera_in_base": list(self.camera_in_base),
            "state_key": self.state_key, "vqa_every": self.vqa_every,
            "synthesis": {"category_weights": None if s.category_weights is None
                          else dict(s.category_weights), "qa_per_image": s.qa_per_image,
                          "units": s.units, "qualitative_fraction": s.qualitative_fraction,
                          "seed": s.seed, "margins": asdict(s.margins)},
            "pipeline": asdict(self.pipeline), "perception": asdict(self.perception),
            "prompts": list(self.prompts), "inputs": asdict(self.inputs),
        }


__all__ = ["AnnotateConfig"]

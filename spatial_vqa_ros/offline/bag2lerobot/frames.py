"""One episode's frames through the core: perception, the scene pipeline, the reward
stream's step, the scene-graph JSON and the VQA of keyframes.

:class:`EpisodeCore` is what the spatial node does per image, minus ROS: the chain
perceives the frame, a :class:`ScenePipeline` (fresh per episode) builds the graph, the
robot frames are placed at the image's stamp by a TransformSource (here the bag's
:class:`~spatial_vqa_ros.io.bags.TfBuffer`, live tf2) with ``core.frame_points``, and
every configured pair is stepped with ``RewardSession.stream_step`` (a fresh session
per episode, so ``progress`` restarts). An image used by several ticks (``--fps``
above the camera's rate) is processed and stepped once, as the node publishes one
reward per image; each tick then repeats that image's values.

``annotate-lerobot`` runs the same class on frames decoded from a LeRobot dataset
(:class:`CoreSettings` is what it needs of a configuration), and both commands turn a
frame's values into columns with :func:`frame_annotation`: one rule, one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ...core.errors import CoreError
from ...core.export import frame_record
from ...core.pipeline import FrameResult, ScenePipeline
from ...core.reward import RewardResult, RewardSession
from ...core.robot_frames import FramePoint, TransformError, TransformSource, frame_points
from ...core.scene_graph import visible_graph
from ...core.vqa import VQAError, synthesize
from ...io.bags import BagFrame
from ...io.errors import DataIOError
from ...perception.chain import PerceptionChain
from ...perception.errors import PerceptionError
from ..frames import perceive_frame
from .config import SCENE_GRAPH, pair_column, pair_ends


class CoreSettings(Protocol):
    """What :class:`EpisodeCore` reads of a command's settings (Bag2LeRobotConfig and
    AnnotateConfig both have it)."""

    reward_pairs: tuple[str, ...]
    vqa_every: int
    synthesis: Any
    pipeline: Any
    prompts: tuple[str, ...]
    inputs: Any

    @property
    def reward_settings(self) -> Any: ...


@dataclass
class FrameValues:
    """What one image gives the dataset: ``steps`` per configured pair (in order),
    the scene-graph JSON, and the visible graph (for VQA)."""

    stamp_ns: int
    steps: list[RewardResult]
    scene_json: str
    graph: Any
    qas: list[Any] | None = field(default=None)


def place_frames(source: TransformSource | None, frame_ids: tuple[str, ...], graph: Any
                 ) -> dict[str, FramePoint]:
    """The robot frames placed in the graph's scene frame at its image stamp; a frame
    that cannot be placed is left out (its reward is then invalid), as the node's
    ``RobotFrames.at`` leaves it out."""
    if source is None or not graph.camera_frame_id:
        return {}
    placed: dict[str, FramePoint] = {}
    for frame_id in frame_ids:
        try:
            placed.update(frame_points(source, [frame_id], graph.scene,
                                       graph.camera_frame_id, graph.stamp_ns))
        except TransformError:
            continue
    return placed


class EpisodeCore:
    """The core's state for one episode (see the module docstring)."""

    def __init__(self, config: CoreSettings, chain: PerceptionChain,
                 transforms: TransformSource | None, frame_ids: tuple[str, ...]) -> None:
        self.config = config
        self.chain = chain
        self.transforms = transforms
        self.frame_ids = frame_ids
        self.pairs = [pair_ends(p) for p in config.reward_pairs]
        self.settings = config.reward_settings
        self.pipeline = ScenePipeline(config.pipeline)
        self.session = RewardSession()
        self._last: FrameValues | None = None

    def values(self, frame: BagFrame) -> FrameValues:
        """The values of ``frame`` (cached for a repeated image). Raises
        PerceptionError or CoreError/DataIOError when the frame cannot be processed."""
        if self._last is not None and self._last.stamp_ns == frame.stamp_ns:
            return self._last
        perceived = perceive_frame(self.chain, frame, self.config.prompts, self.config.inputs)
        result = self.pipeline.process(perceived.capture, perceived.observations)
        placed = place_frames(self.transforms, self.frame_ids, result.graph)
        steps = [self.session.stream_step(result.graph, source, target, self.settings,
                                          placed) for source, target in self.pairs]
        graph = visible_graph(result.graph, self.config.pipeline.tracker.naming_margin_m)
        record = frame_record(FrameResult(result.scene, result.estimates, graph,
                                          result.warnings + frame.warnings), frame.stamp_ns)
        self._last = FrameValues(frame.stamp_ns, steps,
                                 json.dumps(record, separators=(",", ":")), graph)
        return self._last

    def vqa_rows(self, values: FrameValues, key: str, camera_key: str
                 ) -> list[dict[str, Any]]:
        """``vqa`` language-event rows for a keyframe: per QA a user row (the question)
        and an assistant row whose content is JSON with lerobot's "spatial" answer shape
        (``subject``, ``relation``, ``object``) plus our answer text, value and unit."""
        if not values.graph.objects or self.config.synthesis.qa_per_image == 0:
            return []
        try:
            qas = synthesize(values.graph, self.config.synthesis, key)
        except VQAError:
            return []
        rows: list[dict[str, Any]] = []
        for qa in qas:
            answer = {"subject": qa.subject_label, "relation": qa.relation,
                      "object": qa.object_label, "answer": qa.answer, "value": qa.value,
                      "unit": qa.unit, "category": qa.category, "truth": qa.truth}
            rows.append({"role": "user", "content": qa.question, "style": "vqa",
                         "camera": camera_key, "tool_calls": None})
            rows.append({"role": "assistant", "content": json.dumps(answer, sort_keys=True),
                         "style": "vqa", "camera": camera_key, "tool_calls": None})
        return rows


#: Errors of one frame that drop its ticks (counted), not the run.
FRAME_ERRORS = {PerceptionError: "perception", CoreError: "invalid", DataIOError: "invalid"}


def frame_error_reason(error: BaseException) -> str:
    return next(r for cls, r in FRAME_ERRORS.items() if isinstance(error, cls))


def reward_columns(config: CoreSettings, values: FrameValues) -> dict[str, Any]:
    """reward.<pair>, distance.<pair> (float32, the core's float64 rounded once) and
    reached.<pair> of one frame; every step must be valid."""
    out: dict[str, Any] = {}
    for pair, step in zip(config.reward_pairs, values.steps, strict=True):
        column = pair_column(pair)
        out[f"reward.{column}"] = np.float32(step.reward)
        out[f"distance.{column}"] = np.float32(step.distance_m)
        out[f"reached.{column}"] = np.bool_(step.reached)
    return out


def invalid_pairs(config: CoreSettings, values: FrameValues) -> list[str]:
    """The pairs without a valid reward on this frame (an end out of view or unplaced):
    such a frame is dropped and counted (``reward_invalid``), as the node's stream
    would publish it invalid."""
    return [p for p, s in zip(config.reward_pairs, values.steps, strict=True) if not s.valid]


def frame_annotation(core: EpisodeCore, values: FrameValues, written: int, key: str,
                     camera_key: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Our columns of one frame (``scene_graph`` and the reward columns) and its
    ``vqa`` events: on every ``vqa_every``-th frame written to the episode (``written``
    frames before it), keyed ``key`` for the QA sampler."""
    columns = {SCENE_GRAPH: values.scene_json, **reward_columns(core.config, values)}
    events: list[dict[str, Any]] = []
    if core.config.vqa_every and written % core.config.vqa_every == 0:
        events = core.vqa_rows(values, key, camera_key)
    return columns, events


def pair_features(pairs: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The LeRobot features of the reward columns and the scene graph."""
    features: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        column = pair_column(pair)
        features[f"reward.{column}"] = {"dtype": "float32", "shape": (1,), "names": None}
        features[f"distance.{column}"] = {"dtype": "float32", "shape": (1,), "names": None}
        features[f"reached.{column}"] = {"dtype": "bool", "shape": (1,), "names": None}
    features[SCENE_GRAPH] = {"dtype": "string", "shape": (1,), "names": None}
    return features


__all__ = ["CoreSettings", "EpisodeCore", "FrameValues", "frame_annotation",
           "frame_error_reason", "invalid_pairs", "pair_features", "place_frames",
           "reward_columns"]

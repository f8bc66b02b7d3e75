"""Play rendered sequences through the perception chains and score them against the
truth: the accuracy side of live tracking (``bench/bench_live_accuracy.py`` and
``tests/perception/test_live_accuracy.py`` share it).

- :func:`play_frames` renders scenes as a 15 Hz camera (clean instance image and truth,
  noisy depth); :func:`glide_and_pan` is a camera gliding and panning through a static
  room, so objects leave the view and come back.
- :func:`run_sequence` plays frames through a chain (:func:`serial` on every frame, or
  :func:`tracked`: ``LiveChain``) and the core, scoring every frame's pairs with
  :func:`~.scoring.score_frame` (the geometry benchmarks' rule). A track is scored as
  the rendered instance under most of its mask on the frame it first appears
  (:class:`TrackMatch`), kept for its life, so a track that drifts is scored wrong.
- :func:`reward_run` streams the reward between a robot frame (the gripper's tool point
  through a :class:`ToolSource`, as TF would place it) and the tracked cube, with the
  true gap beside it.

The slow detector is simulated in stamp time (``LiveConfig.detection_delay_s``), so a
run is deterministic and costs only the models' CPU time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..core.camera import CameraIntrinsics
from ..core.live import KeyframePolicy
from ..core.pipeline import FrameResult, ScenePipeline
from ..core.reward import RewardSession, RewardSettings
from ..core.robot_frames import TransformError, frame_points
from ..perception.chain import ChainResult, PerceptionChain
from ..perception.depth import SensorDepth
from ..perception.depth_box import DepthBoxSegmenter
from ..perception.live_chain import LiveChain, LiveConfig
from ..perception.simulation import SimulationDetector
from ..perception.trackers.depth_flow import DepthFlowTracker
from ..perception.types import SensorInputs
from .bags import synthetic_scenes
from .render import DepthNoise, apply_noise, render
from .scenes import (
    CameraPose,
    SyntheticScene,
    point_to_box_m,
    push_trajectory,
    random_camera,
    random_scene,
    tool_point_world,
)
from .scoring import GeometryScores, score_frame
from .truth import SceneTruth, ground_truth

RATE_HZ = 15.0
PERIOD_NS = round(1e9 / RATE_HZ)
T0_NS = 1_700_000_000_000_000_000
#: The issue's slow detector: 1 s a frame.
DETECTOR_DELAY_S = 1.0
#: Share of a track's mask one rendered instance must cover for the track to be it.
MATCH_SHARE = 0.5
TOOL_FRAME = "tool0"
#: True gaps at most this (m) are contact (the push's frames tie at 0).
CONTACT_M = 1e-3
#: The sensor noise model of every rendered frame (bench_geometry's).
NOISE = DepthNoise()


@dataclass(frozen=True)
class Played:
    """One rendered frame as the chain gets it: the inputs (noisy depth, the simulator's
    instance image), the truth, the camera pose and the stamp."""

    inputs: SensorInputs
    instance_ids: np.ndarray
    truth: SceneTruth
    scene: SyntheticScene
    world_from_camera: np.ndarray
    stamp_ns: int


def pose_matrix(scene: SyntheticScene) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, :3] = scene.pose.rotation_world_from_cam
    pose[:3, 3] = scene.pose.position_world
    return pose


def glide_and_pan(seed: int, n_frames: int, camera: CameraIntrinsics | None = None, *,
                  glide_m: float = 0.4, pan_rad: float = 0.45) -> list[SyntheticScene]:
    """A static random room; the camera glides sideways by ``glide_m`` while panning
    right, back through the start and left, and back (``pan_rad`` each way): objects
    near the image's edges leave the view and come back."""
    rng = np.random.default_rng(seed)
    camera = camera or random_camera(rng)
    base = random_scene(rng, camera, (4, 8))
    pose0 = base.pose
    right = np.array([np.sin(pose0.yaw_rad), -np.cos(pose0.yaw_rad), 0.0])
    scenes = []
    for t in np.linspace(0.0, 1.0, n_frames):
        position = pose0.position_world + glide_m * t * right
        pose = CameraPose.from_angles(position, pose0.yaw_rad - pan_rad * np.sin(2 * np.pi * t),
                                      pose0.pitch_rad, pose0.roll_rad)
        scenes.append(SyntheticScene(base.objects, base.camera, pose))
    return scenes


def play_frames(scenes: Sequence[SyntheticScene], seed: int,
                noise: DepthNoise | None = NOISE) -> list[Played]:
    """Render ``scenes`` at 15 Hz: clean render for truth and instances, noisy depth."""
    rng = np.random.default_rng([seed, 7])
    played = []
    for k, scene in enumerate(scenes):
        clean = render(scene)
        depth_m = apply_noise(clean.depth_m, noise, rng) if noise else clean.depth_m
        inputs = SensorInputs(clean.rgb, clean.camera, depth_m, clean.instance_ids,
                              clean.id_to_label)
        played.append(Played(inputs, clean.instance_ids, ground_truth(scene, clean), scene,
                             pose_matrix(scene), T0_NS + k * PERIOD_NS))
    return played


def detection_chain(segmenter=None) -> PerceptionChain:
    """The issue's chain: sensor depth, oracle boxes, ``depth_box`` masks."""
    return PerceptionChain(SensorDepth(), SimulationDetector(),
                           segmenter or DepthBoxSegmenter())


def live_chain(delay_s: float = DETECTOR_DELAY_S, policy: KeyframePolicy | None = None,
               forward_budget_s: float = 10.0) -> LiveChain:
    """LiveChain with ``depth_flow``, the detector ``delay_s`` late in stamp time. The
    forward budget is generous by default so a run does not depend on this machine's
    load (the node's 0.05 s makes a late detection join a frame or two later)."""
    return LiveChain(detection_chain(), DepthFlowTracker(), LiveConfig(
        policy=policy or KeyframePolicy(), detection_delay_s=delay_s,
        forward_budget_s=forward_budget_s))


Perceive = Callable[[Played, Sequence[str]], ChainResult]


def serial(chain: PerceptionChain) -> Perceive:
    return lambda p, prompts: chain.run(p.inputs, prompts, p.stamp_ns)


def tracked(live: LiveChain, *, with_pose: bool = True) -> Perceive:
    """``live`` stepped on each frame, with the camera's pose (odometry) or without it
    (the keyframe policy then sees the view change in the images)."""
    return lambda p, prompts: live.step(p.inputs, prompts, p.stamp_ns,
                                        p.world_from_camera if with_pose else None)


@dataclass
class TrackMatch:
    """Which rendered instance each track is: decided on the frame it first appears
    (the instance under at least ``MATCH_SHARE`` of its mask; -1 if none)."""

    truth_of: dict[int, int] = field(default_factory=dict)

    def update(self, result: ChainResult, instance_ids: np.ndarray) -> None:
        obs = result.observations
        for mask, source_id in zip(obs.masks, obs.source_ids.tolist()):
            if source_id in self.truth_of:
                continue
            ids, counts = np.unique(instance_ids[mask], return_counts=True)
            best = int(np.argmax(counts)) if counts.size else -1
            ok = best >= 0 and ids[best] != 0 and counts[best] >= MATCH_SHARE * mask.sum()
            self.truth_of[source_id] = int(ids[best]) if ok else -1

    @property
    def unmatched(self) -> int:
        return sum(v == -1 for v in self.truth_of.values())


def as_truth_ids(result: FrameResult, match: TrackMatch | None) -> FrameResult:
    """The frame's estimates with the track ids replaced by the instances they are."""
    if match is None:
        return result
    return replace(result, estimates=tuple(
        replace(e, source_id=match.truth_of.get(e.source_id, -1)) for e in result.estimates))


@dataclass
class RunFigures:
    """One mode over the sequences: pair scores, frames, frames with objects from the
    first one that had any, and unmatched tracks."""

    scores: GeometryScores = field(default_factory=GeometryScores)
    frames: int = 0
    frames_after_first: int = 0
    with_objects_after_first: int = 0
    unmatched_tracks: int = 0
    tracks: int = 0
    keyframe_reasons: Counter = field(default_factory=Counter)

    @property
    def distance_success(self) -> float:
        """Share of the pairs the package states (through the one gate, whole or with a
        cut object, as bench_geometry's "stated" rows) within +-25%."""
        return self.scores.summary().get("stated.distance.success", float("nan"))

    @property
    def pairs(self) -> int:
        """Pairs stated (scored by :attr:`distance_success`)."""
        return int(self.scores.summary().get("stated.distance.n", 0))

    @property
    def refused(self) -> int:
        """Pairs of localised objects the gate refused (stale, unclear, cut with too
        much hidden): every whole pair and every pair with a partial object, less the
        stated ones."""
        summary = self.scores.summary()
        considered = summary.get("distance.n", 0) + self.scores.partial_pairs.get("distance", 0)
        return int(considered) - self.pairs

    @property
    def whole_success(self) -> float:
        """Every pair of whole objects, stated or not (the figure before the gate)."""
        return self.scores.summary().get("distance.success", float("nan"))

    @property
    def whole_pairs(self) -> int:
        return int(self.scores.summary().get("distance.n", 0))

    @property
    def objects_share(self) -> float:
        return self.with_objects_after_first / max(self.frames_after_first, 1)


def run_sequence(played: Sequence[Played], perceive: Perceive, figures: RunFigures, *,
                 by_track: bool, prompts: Sequence[str] = ()) -> None:
    """Play one sequence through ``perceive`` and the core (with the pose, as the node
    does with odometry), scoring every frame against its truth."""
    pipeline, match, started = ScenePipeline(), TrackMatch() if by_track else None, False
    for p in played:
        result = perceive(p, prompts)
        if result.live is not None and result.live.keyframe:
            figures.keyframe_reasons.update(result.live.keyframe_reason.split(","))
        if match is not None:
            match.update(result, p.instance_ids)
        frame = pipeline.process(result.capture, result.observations, p.world_from_camera)
        score_frame(figures.scores, as_truth_ids(frame, match), p.truth)
        figures.frames += 1
        started = started or len(result.observations) > 0
        if started:
            figures.frames_after_first += 1
            figures.with_objects_after_first += len(result.observations) > 0
    if match is not None:
        figures.unmatched_tracks += match.unmatched
        figures.tracks += len(match.truth_of)


def reentries(played: Sequence[Played], min_pixels: int = 100) -> int:
    """How often an object came back into view after leaving it."""
    seen: dict[int, list[bool]] = {}
    for p in played:
        ids, counts = np.unique(p.instance_ids, return_counts=True)
        visible = {int(i) for i, c in zip(ids, counts) if i and c >= min_pixels}
        for i in {o.id for o in p.scene.objects}:
            seen.setdefault(i, []).append(i in visible)
    return sum(1 for v in seen.values() for k in range(1, len(v))
               if v[k] and not v[k - 1] and any(v[:k]))


class ToolSource:
    """The tool frame where TF would place it: the rendered gripper's tool point, by
    stamp (a TransformSource; tf2_ros is not installed here)."""

    def __init__(self) -> None:
        self.points: dict[int, np.ndarray] = {}

    def position_in_camera(self, frame_id: str, camera_frame_id: str,
                           stamp_ns: int) -> np.ndarray:
        if frame_id != TOOL_FRAME or stamp_ns not in self.points:
            raise TransformError(f"no transform for {frame_id} at {stamp_ns} ns")
        return self.points[stamp_ns]


def gripper_scenes(kind: str, seed: int, n: int, size: tuple[int, int]
                   ) -> list[SyntheticScene]:
    if kind == "approach":
        return synthetic_scenes("approach", n, seed, *size)
    rng = np.random.default_rng(seed)
    return push_trajectory(rng, n, random_camera(rng, *size))


def reward_run(kind: str, seed: int, n: int, size: tuple[int, int], perceive: Perceive
               ) -> tuple[np.ndarray, np.ndarray]:
    """The reward stream's gap (NaN where invalid) and the true gap, per frame."""
    scenes = gripper_scenes(kind, seed, n, size)
    source, pipeline, session = ToolSource(), ScenePipeline(), RewardSession()
    settings = RewardSettings()
    estimated, truth = [], []
    for p in play_frames(scenes, seed):
        tool = tool_point_world(p.scene, kind)
        source.points[p.stamp_ns] = p.scene.pose.world_to_cam(tool[None])[0]
        result = perceive(p, ("cube",))
        frame = pipeline.process(result.capture, result.observations, p.world_from_camera)
        graph = frame.graph
        frames = frame_points(source, [TOOL_FRAME], frame.scene, graph.camera_frame_id,
                              p.stamp_ns)
        step = session.stream_step(graph, f"tf:{TOOL_FRAME}", "cube", settings, frames)
        estimated.append(step.distance_m if step.valid else np.nan)
        cube = next(o for o in p.scene.objects if o.label == "cube")
        truth.append(point_to_box_m(tool, cube))
    return np.array(estimated, float), np.array(truth)


__all__ = ["DETECTOR_DELAY_S", "Played", "RunFigures", "ToolSource", "TrackMatch",
           "detection_chain", "glide_and_pan", "live_chain", "play_frames", "reentries",
           "reward_run", "run_sequence", "serial", "tracked"]

"""A LeRobot v3.0 dataset, annotated into a new one: :func:`annotate_lerobot`.

Each episode's frames are decoded from its videos, given intrinsics (camera_info or a
field of view) and depth (a depth feature of the dataset, or the depth model), and run
through ``bag2lerobot``'s :class:`~..bag2lerobot.frames.EpisodeCore` (a fresh scene
pipeline and reward session per episode, so ``progress`` restarts); the end effector of
``tf:<fk_frame>`` ends is placed from ``observation.state`` by the user's forward
kinematics (:mod:`.fk`). Columns come from the same ``frame_annotation``; frames whose
perception fails or whose reward is invalid are dropped and counted, by the same rule.
The source's features are carried over (videos decoded and re-encoded: a second lossy
generation) and its ``language_events`` kept before ours, except what this command
computes: a source ``scene_graph`` and ``vqa`` events (a dataset of ours) are replaced.
Everything checkable is checked before anything is written (DataIOError: exit 2).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...core.robot_frames import is_frame_name, strip_frame_prefix
from ...io.bags import BagFrame
from ...io.datasets.lerobot import LeRobotCounts, LeRobotWriter
from ...io.datasets.lerobot import format as fmt
from ...io.datasets.lerobot.reader import LeRobotReader, SourceEpisode
from ...io.errors import DataIOError
from ...io.image_files import load_camera_info_yaml
from ...perception.factories import assumed_camera, build_chain, needs_instances
from ..bag2lerobot.config import SCENE_GRAPH, pair_ends
from ..bag2lerobot.frames import (
    FRAME_ERRORS,
    EpisodeCore,
    frame_annotation,
    frame_error_reason,
    invalid_pairs,
    pair_features,
)
from ..bag2lerobot.summary import BagReport
from .config import AnnotateConfig
from .fk import FkSource, load_fk, pose_of

DEFAULT_CONFIG = AnnotateConfig()
_LEROBOTS = {*fmt.DEFAULT_FEATURES, *fmt.LANGUAGE_FEATURES}


@dataclass
class AnnotateSummary:
    """The run: ``report`` counts frames and drops by reason (as bag2lerobot's)."""

    source: Path
    out: Path
    report: BagReport
    episodes: int = 0
    episodes_done_before: int = 0
    dataset: LeRobotCounts = field(default_factory=LeRobotCounts)
    seconds: float = 0.0

    @property
    def exit_status(self) -> int:
        """0 done; 1 an episode could not be read, or no frame in the dataset."""
        return 0 if self.report.complete and self.dataset.frames > 0 else 1

    def format(self) -> str:
        r, d = self.report, self.dataset
        rate = d.added_frames / self.seconds if self.seconds > 0 else 0.0
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(r.dropped.items())) or "none"
        lines = [f"{self.out}: {d.added_episodes} episodes, {d.added_frames} frames written "
                 f"this run ({d.episodes} episodes, {d.frames} frames in the dataset; "
                 f"{self.episodes_done_before} were already) in {self.seconds:.1f} s "
                 f"({rate:.1f} frames/s)",
                 f"source {self.source}: {self.episodes} episodes, {r.ticks} frames read, "
                 f"dropped: {dropped}", f"VQA: {r.events} language event rows"]
        if r.error:
            lines.append(f"INCOMPLETE: {r.error}")
        return "\n".join(lines + [f"  {note}" for note in r.notes[:5]])


def _camera_key(config: AnnotateConfig, source: LeRobotReader) -> str:
    if config.camera_key:
        if source.features.get(config.camera_key, {}).get("dtype") != "video":
            raise DataIOError(f"{source.root} has no camera feature {config.camera_key!r} "
                              f"(its videos: {', '.join(source.video_keys) or 'none'})")
        return config.camera_key
    if len(source.video_keys) != 1:
        raise DataIOError(f"{source.root} has {len(source.video_keys)} camera features "
                          f"({', '.join(source.video_keys) or 'none'}); name one with "
                          "--camera-key")
    return source.video_keys[0]


def _intrinsics(config: AnnotateConfig, height: int, width: int):
    if config.camera_info:
        camera = load_camera_info_yaml(config.camera_info)
        if (camera.width, camera.height) != (width, height):
            raise DataIOError(f"camera info {config.camera_info} is for {camera.width}x"
                              f"{camera.height}, the video is {width}x{height}")
        return camera
    if config.hfov_deg:
        return assumed_camera(width, height, config.hfov_deg)
    raise DataIOError("no intrinsics: give --camera-info (a camera_info YAML) or --hfov "
                      "(the camera's horizontal field of view in degrees)")


def _features(config: AnnotateConfig, source: LeRobotReader) -> dict[str, Any]:
    """The new dataset's features: the source's own (checked to be writable) + ours."""
    ours = pair_features(config.reward_pairs)
    carried = {k: v for k, v in source.features.items()
               if k not in _LEROBOTS and k != SCENE_GRAPH}  # a scene graph is recomputed
    clash = sorted(set(ours) & set(carried))
    if clash:
        raise DataIOError(f"{source.root} already has the columns {', '.join(clash)}; "
                          "annotate a dataset without them, or name other pairs")
    try:
        fmt.check_features(carried)
    except DataIOError as error:
        raise DataIOError(f"{source.root}: a feature cannot be carried over ({error})"
                          ) from None
    return {**carried, **ours}


def _check_ends(config: AnnotateConfig, source: LeRobotReader) -> tuple[str, ...]:
    """The robot frames the pairs need (only the FK's), each end checked now."""
    frames = []
    for pair in config.reward_pairs:
        for end in pair_ends(pair):
            name = strip_frame_prefix(end)
            if is_frame_name(end):
                if not config.fk:
                    raise DataIOError(f"reward pair {pair!r}: robot frame {name!r} needs "
                                      "--fk module:function (forward kinematics of "
                                      "observation.state)")
                if name != config.fk_frame:
                    raise DataIOError(f"unknown reward pair {pair!r}: frame {name!r} is not "
                                      f"the end effector --fk-frame {config.fk_frame!r}")
                if config.state_key not in source.features:
                    raise DataIOError(f"reward pair {pair!r}: {source.root} has no "
                                      f"{config.state_key} for the forward kinematics")
                frames.append(name)
            elif config.prompts and name not in config.prompts and not name.startswith("#"):
                raise DataIOError(f"unknown reward pair {pair!r}: {name!r} is none of the "
                                  f"--labels ({', '.join(config.prompts)})")
    return tuple(dict.fromkeys(frames))


def _prompts(config: AnnotateConfig) -> tuple[str, ...]:
    """--labels, else the pairs' object ends (what the detector must find)."""
    if config.prompts:
        return config.prompts
    ends = [e for p in config.reward_pairs for e in pair_ends(p) if not is_frame_name(e)]
    prompts = tuple(dict.fromkeys(e for e in ends if not e.startswith("#")))
    if not prompts:
        raise DataIOError("nothing to look for: give --labels or a reward pair with an "
                          "object end")
    return prompts


def _depth_check(config: AnnotateConfig, source: LeRobotReader, height: int, width: int
                 ) -> None:
    if config.depth_key:
        spec = source.features.get(config.depth_key)
        if spec is None or spec["dtype"] in ("video", "string", "language", "image") or \
                int(np.prod(spec["shape"])) != height * width:
            raise DataIOError(f"--depth-key {config.depth_key!r}: {source.root} has no numeric "
                              f"feature of {height}x{width} values by that name (a depth "
                              "video is lossy and not read)")
    elif config.perception.depth_estimator == "sensor":
        raise DataIOError("no depth: give --depth-key (a depth feature of the dataset) or "
                          "--depth-estimator (a depth model)")
    if needs_instances(config.perception):
        raise DataIOError("the simulation detector/segmenter reads a simulator's instance "
                          "image, which a LeRobot dataset does not carry: choose "
                          "--detector and --segmenter (e.g. owlv2 and depth_box)")


def annotate_lerobot(dataset: str | Path, out: str | Path,
                     config: AnnotateConfig = DEFAULT_CONFIG, *,
                     progress: bool = True) -> AnnotateSummary:
    """``dataset`` annotated into ``out`` (created, or resumed: episodes in it are
    skipped). DataIOError for bad input (nothing written) or an unwritable output;
    PerceptionError for a chain that cannot be built."""
    from dataclasses import replace

    from tqdm import tqdm

    start = time.perf_counter()
    source = LeRobotReader(dataset)
    if Path(out).resolve() == source.root.resolve():
        raise DataIOError("OUT must be a new directory, not the dataset itself")
    camera_key = _camera_key(config, source)
    height, width, _ = source.features[camera_key]["shape"]
    camera = _intrinsics(config, height, width)
    _depth_check(config, source, height, width)
    frame_ids = _check_ends(config, source)
    config = replace(config, prompts=_prompts(config))
    features = _features(config, source)
    fk = FkSource(load_fk(config.fk), config.fk_frame, config.camera_in_base) \
        if frame_ids else None
    if fk is not None and source.episodes:  # a hook that cannot answer is bad input
        state = source.rows(source.episodes[0])[config.state_key][0]
        pose_of(fk.fk(np.asarray(state, np.float64)))
    chain = build_chain(config.perception)
    summary = AnnotateSummary(source.root, Path(out), BagReport(source.root.name),
                              episodes=len(source.episodes))
    settings = {**config.settings(), "source": str(source.root.resolve()),
                "source_frames": int(source.info.get("total_frames", 0))}
    writer = LeRobotWriter(out, fps=source.fps, features=features, settings=settings,
                           robot_type=source.info.get("robot_type"))
    try:
        with tqdm(total=sum(e.length for e in source.episodes), unit="frame",
                  file=sys.stderr, disable=not progress, dynamic_ncols=True) as bar:
            for episode in source.episodes:
                if writer.is_done(f"episode{episode.index}"):
                    summary.episodes_done_before += 1
                    bar.update(episode.length)
                    continue
                try:
                    _episode(writer, source, episode,
                             _Run(config, chain, fk, frame_ids, camera_key, camera),
                             report=summary.report, bar=bar)
                except _EpisodeReadError as error:
                    summary.report.error = str(error)
                    break
            else:
                summary.report.complete = True
    finally:
        summary.dataset = writer.close()
        summary.seconds = time.perf_counter() - start
    return summary


@dataclass(frozen=True)
class _Run:
    """What every episode of a run is annotated with."""

    config: AnnotateConfig
    chain: Any
    fk: FkSource | None
    frame_ids: tuple[str, ...]
    camera_key: str
    camera: Any


class _EpisodeReadError(Exception):
    """An episode's data or video could not be read: the run stops, resumable."""


def _episode(writer: LeRobotWriter, source: LeRobotReader, episode: SourceEpisode,
             run: _Run, *, report: BagReport, bar: Any) -> None:
    config, fk, camera, camera_key = run.config, run.fk, run.camera, run.camera_key
    try:
        rows = source.rows(episode)
        videos = {key: source.frames(episode, key) for key in source.video_keys}
    except DataIOError as error:
        raise _EpisodeReadError(f"episode {episode.index}: {error}") from None
    carried = [k for k in writer.user_features
               if k in source.features and k not in source.video_keys]
    task = source.tasks.get(rows["task_index"][0], episode.task) or "demonstration"
    key = f"episode{episode.index}"
    core = EpisodeCore(config, run.chain, fk, run.frame_ids)
    writer.begin_episode(key, task)
    written = 0
    for i in range(episode.length):
        bar.update(1)
        report.ticks += 1
        stamp_ns = round(float(rows["timestamp"][i]) * 1e9)
        depth = None
        if config.depth_key:
            depth = np.asarray(rows[config.depth_key][i], np.float32).reshape(camera.height,
                                                                              camera.width)
        frame = BagFrame(stamp_ns, videos[camera_key][i], camera, depth_raw=depth,
                         depth_encoding="32FC1" if depth is not None else None)
        if fk is not None:
            fk.set_state(np.asarray(rows[config.state_key][i], np.float64))
        try:
            values = core.values(frame)
        except tuple(FRAME_ERRORS) as error:
            report.drop(frame_error_reason(error), str(error))
            continue
        invalid = invalid_pairs(config, values)
        if invalid:
            report.drop("reward_invalid", f"no valid reward for {', '.join(invalid)} at "
                        f"episode {episode.index} frame {i} (an end out of view or unplaced)")
            continue
        columns, events = frame_annotation(core, values, written, f"{key}/{i}", camera_key)
        row = {k: videos[k][i] for k in source.video_keys}
        row.update({k: rows[k][i] for k in carried})
        row.update(columns)
        kept = [e for e in rows.get(fmt.LANGUAGE_EVENTS, [[]] * episode.length)[i] or []
                if e.get("style") != fmt.VQA_STYLE]  # VQA is recomputed, other rows kept
        writer.add_frame(row, kept + events)
        written += 1
        report.events += len(events)
    if written == 0:
        writer.abort_episode()
        report.episodes_empty += 1
        return
    report.frames += writer.end_episode()
    report.episodes += 1


__all__ = ["AnnotateSummary", "annotate_lerobot"]

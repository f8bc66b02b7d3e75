"""Recordings to a LeRobot v3.0 dataset: :func:`bag2lerobot`.

Per recording: a first pass (:func:`~.streams.scan_bag`) reads the stamps and small
values; the camera, joint-state and action streams are resampled to ``fps``
(``core.episodes.resample``: nearest earlier message within the tolerance, ticks
without one dropped and counted) and cut into episodes (one per recording, at pauses,
or at marker changes); a second pass reads the images the kept ticks use, in order,
through :class:`~.frames.EpisodeCore` into the
:class:`~spatial_vqa_ros.io.datasets.lerobot.LeRobotWriter`. Everything checkable is
checked before anything is written: no camera topic, a reward end that names no
object or frame of the recording, an unknown TF frame, and streams whose vector
lengths or image sizes differ are all DataIOError (the command exits 2).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...core.episodes import EpisodeSpan, resample, split_by_gap, split_by_marker
from ...core.robot_frames import is_frame_name, strip_frame_prefix
from ...io.bags import BagFrame, BagFrameReader
from ...io.datasets.lerobot import LeRobotWriter
from ...io.errors import DataIOError
from ...perception.chain import PerceptionChain
from ...perception.factories import build_chain, needs_instances
from ..bag2dataset.sources import source_name
from .config import ACTION, STATE, Bag2LeRobotConfig, pair_ends
from .frames import (
    EpisodeCore,
    frame_annotation,
    frame_error_reason,
    invalid_pairs,
    pair_features,
)
from .streams import BagScan, scan_bag
from .summary import Bag2LeRobotSummary, BagReport

#: The default settings (frozen, safe as a default argument).
DEFAULT_CONFIG = Bag2LeRobotConfig()


@dataclass(frozen=True)
class EpisodePlan:
    """One episode of a recording: its key, task, and per kept tick the camera image's
    stamp and the index of the state and action messages (-1: no such stream)."""

    key: str
    task: str
    camera_ns: np.ndarray
    state_index: np.ndarray
    action_index: np.ndarray

    def __len__(self) -> int:
        return int(self.camera_ns.size)


def default_task(config: Bag2LeRobotConfig) -> str:
    """``--task``, else 'move <source> to <target>' of the first pair."""
    if config.task:
        return config.task
    if config.reward_pairs:
        source, target = (strip_frame_prefix(e) for e in pair_ends(config.reward_pairs[0]))
        return f"move {source} to {target}"
    return "demonstration"


def plan_episodes(scan: BagScan, name: str, config: Bag2LeRobotConfig,
                  report: BagReport) -> list[EpisodePlan]:
    """The recording's episodes on the ``fps`` grid; drops are counted in ``report``."""
    streams = {"camera": scan.camera_stamps_ns}
    if scan.state is not None:
        streams["state"] = scan.state.stamps_ns
    if scan.action is not None:
        streams["action"] = scan.action.stamps_ns
    # the grid ends with the stream that ends first: no tick past the recording repeats
    # its last image (resample's default would run on for one tolerance)
    grid = resample(streams, config.fps, config.tolerance_ns,
                    end_ns=min(int(s[-1]) for s in streams.values()))
    report.ticks += grid.ticks
    for stream, count in grid.dropped.items():
        report.drop(f"no_{stream}", count=count)
    if config.episode_gap_s:
        spans = split_by_gap(grid.stamps_ns, round(config.episode_gap_s * 1e9))
    elif config.episode_topic:
        spans = split_by_marker(grid.stamps_ns, scan.marker_stamps_ns, scan.marker_values)
    else:
        spans = [EpisodeSpan(0, int(grid.stamps_ns.size))] if grid.stamps_ns.size else []
    none = np.full(grid.stamps_ns.size, -1, np.int64)
    plans = []
    for span in spans:
        part = slice(span.start, span.stop)
        task = default_task(config)
        if not config.task and isinstance(span.marker, str) and span.marker.strip():
            task = span.marker.strip()
        plans.append(EpisodePlan(
            f"{name}@{int(grid.stamps_ns[span.start])}", task,
            scan.camera_stamps_ns[grid.indices["camera"][part]],
            grid.indices.get("state", none)[part], grid.indices.get("action", none)[part]))
    return plans


def features_of(config: Bag2LeRobotConfig, scans: Sequence[BagScan]) -> dict[str, Any]:
    """The dataset's features; DataIOError where the recordings disagree on a shape."""
    first = scans[0]
    for scan in scans[1:]:
        if (scan.height, scan.width) != (first.height, first.width):
            raise DataIOError(f"bags {first.path} and {scan.path} have images of different "
                              f"sizes ({first.width}x{first.height}, {scan.width}x"
                              f"{scan.height}); a LeRobot video has one size")
    features: dict[str, Any] = {config.camera_key: {
        "dtype": "video", "shape": (first.height, first.width, 3), "names": None}}
    for key, attr in ((STATE, "state"), (ACTION, "action")):
        streams = [getattr(s, attr) for s in scans]
        if all(s is None for s in streams):
            continue
        if any(s is None for s in streams):
            missing = [str(s.path) for s in scans if getattr(s, attr) is None]
            raise DataIOError(f"{key}: some bags have no {attr} stream ({', '.join(missing)})"
                              "; give bags that all have it, or none")
        lengths = {s.values.shape[1] for s in streams}
        if len(lengths) > 1:
            raise DataIOError(f"{key}: the bags' {attr} streams have mismatched lengths "
                              f"{sorted(lengths)}; a LeRobot feature has one shape")
        names = streams[0].names
        features[key] = {"dtype": "float32", "shape": (lengths.pop(),),
                         "names": list(names) if names else None}
    features.update(pair_features(config.reward_pairs))
    return features


def frames_to_place(config: Bag2LeRobotConfig, scan: BagScan) -> tuple[str, ...]:
    """The robot frames a recording's pairs need, each checked now: a ``tf:`` end must
    be in its TF tree, a plain end must be an object the recording names (labels,
    prompts, ``#id``) or a TF frame (DataIOError otherwise)."""
    frames: list[str] = []
    known_objects = scan.labels | set(config.prompts)
    vocabulary_known = bool(known_objects) or needs_instances(config.perception)
    for pair in config.reward_pairs:
        for end in pair_ends(pair):
            name = strip_frame_prefix(end)
            if is_frame_name(end):
                if not scan.tf.has_frame(name):
                    known = ", ".join(sorted(scan.tf.frames)) or "none (no /tf, /tf_static)"
                    raise DataIOError(f"reward pair {pair!r}: frame {name!r} is not in the "
                                      f"TF tree of bag {scan.path} (frames: {known})")
                frames.append(name)
            elif scan.tf.has_frame(name) and name not in known_objects:
                frames.append(name)
            elif (vocabulary_known and name not in known_objects
                  and not name.startswith("#")):
                raise DataIOError(
                    f"unknown reward pair {pair!r}: {name!r} is no object of bag "
                    f"{scan.path} (labels: {', '.join(sorted(known_objects)) or 'none'}) "
                    "and no frame of its TF tree; name a label, or a frame as 'tf:<frame>'")
    if frames and not scan.camera_frame_id:
        raise DataIOError(f"bag {scan.path}: robot frames need the camera's frame id, "
                          "and the bag has no CameraInfo")
    if frames and not scan.tf.has_frame(scan.camera_frame_id):
        raise DataIOError(f"bag {scan.path}: the camera frame {scan.camera_frame_id!r} is "
                          f"not in its TF tree (frames: {', '.join(sorted(scan.tf.frames))})"
                          "; robot frames cannot be placed in the image")
    return tuple(dict.fromkeys(frames))


def _frames_at(reader: Iterator[BagFrame]) -> Iterator[tuple[int, BagFrame | None]]:
    """A generator answering ``send(stamp)`` with the reader's frame of that stamp (or
    None when the reader skipped that image); stamps asked for never decrease."""
    current: BagFrame | None = None
    stamp = yield 0, None
    while True:
        while current is None or current.stamp_ns < stamp:
            current = next(reader, None)
            if current is None:
                break
        found = current if current is not None and current.stamp_ns == stamp else None
        stamp = yield stamp, found


def _write_bag(writer: LeRobotWriter, scan: BagScan, *, plans: list[EpisodePlan],
               config: Bag2LeRobotConfig, chain: PerceptionChain, frame_ids: tuple[str, ...],
               report: BagReport, bar: Any) -> None:
    pending = [p for p in plans if not writer.is_done(p.key)]
    report.episodes_done_before = len(plans) - len(pending)
    bar.update(sum(len(p) for p in plans if writer.is_done(p.key)))
    if not pending:
        report.complete = True
        return
    frames = _frames_at(iter(BagFrameReader(scan.path, config.topics)))
    next(frames)
    for plan in pending:
        core = EpisodeCore(config, chain, scan.tf if frame_ids else None, frame_ids)
        writer.begin_episode(plan.key, plan.task)
        written = 0
        for k in range(len(plan)):
            bar.update(1)
            try:
                _, frame = frames.send(int(plan.camera_ns[k]))
            except DataIOError as error:  # the recording is damaged from here on
                writer.abort_episode()
                raise BagReadError(str(error)) from None
            if frame is None:
                report.drop("unreadable", f"the reader skipped the image at "
                            f"{int(plan.camera_ns[k])} ns (see its notes)")
                continue
            try:
                values = core.values(frame)
            except tuple(_frame_errors()) as error:
                report.drop(frame_error_reason(error), str(error))
                continue
            invalid = invalid_pairs(config, values)
            if invalid:
                report.drop("reward_invalid", f"no valid reward for {', '.join(invalid)} "
                            f"at {frame.stamp_ns} ns (an end out of view or unplaced)")
                continue
            columns, events = frame_annotation(core, values, written,
                                               f"{plan.key}/{frame.stamp_ns}",
                                               config.camera_key)
            row = {config.camera_key: frame.rgb, **columns}
            if scan.state is not None:
                row[STATE] = scan.state.values[plan.state_index[k]].astype(np.float32)
            if scan.action is not None:
                row[ACTION] = scan.action.values[plan.action_index[k]].astype(np.float32)
            writer.add_frame(row, events)
            written += 1
            report.events += len(events)
        if written == 0:
            writer.abort_episode()
            report.episodes_empty += 1
            continue
        report.frames += writer.end_episode()
        report.episodes += 1
    report.complete = True


class BagReadError(Exception):
    """A recording turned out damaged while its images were read: its episodes so
    far stay, the open one is dropped, the run goes on with the next recording."""


def _frame_errors() -> list[type[BaseException]]:
    from .frames import FRAME_ERRORS

    return list(FRAME_ERRORS)


def bag2lerobot(bags: Sequence[str | Path], out: str | Path,
                config: Bag2LeRobotConfig = DEFAULT_CONFIG, *,
                progress: bool = True) -> Bag2LeRobotSummary:
    """Recordings to the LeRobot dataset ``out`` (created, or resumed: episodes in it
    are skipped). DataIOError for bad input (nothing written) or an unwritable
    output; PerceptionError for a chain that cannot be built."""
    from tqdm import tqdm

    if not bags:
        raise DataIOError("give at least one bag")
    start = time.perf_counter()
    names = [source_name(b) for b in bags]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataIOError(f"bags must have distinct names (they key the episodes); "
                          f"repeated: {', '.join(repeated)}")
    state_topic = config.state_topic
    scans = [scan_bag(b, config.topics, state_topic=state_topic,
                      action_topic=config.action_topic, episode_topic=config.episode_topic)
             for b in bags]
    features = features_of(config, scans)
    placing = [frames_to_place(config, scan) for scan in scans]
    chain = build_chain(config.perception)
    summary = Bag2LeRobotSummary(Path(out))
    reports = [BagReport(name) for name in names]
    plans = [plan_episodes(scan, name, config, report)
             for scan, name, report in zip(scans, names, reports, strict=True)]
    writer = LeRobotWriter(out, fps=config.fps, features=features,
                           settings=config.settings(), robot_type=config.robot_type or None)
    try:
        total = sum(len(p) for bag_plans in plans for p in bag_plans)
        with tqdm(total=total, unit="frame", file=sys.stderr, disable=not progress,
                  dynamic_ncols=True) as bar:
            for scan, bag_plans, frame_ids, report in zip(scans, plans, placing, reports,
                                                          strict=True):
                summary.bags.append(report)
                try:
                    _write_bag(writer, scan, plans=bag_plans, config=config, chain=chain,
                               frame_ids=frame_ids, report=report, bar=bar)
                except BagReadError as error:
                    report.error = str(error)
    finally:
        summary.dataset = writer.close()
        summary.seconds = time.perf_counter() - start
    return summary


__all__ = ["EpisodePlan", "bag2lerobot", "default_task", "features_of", "frames_to_place",
           "plan_episodes"]

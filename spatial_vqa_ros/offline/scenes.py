"""`spatial-vqa scenes BAG`: the scene graph of every frame of a bag, as JSON lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..core.errors import CoreError
from ..core.export import frame_record
from ..core.pipeline import PipelineConfig, ScenePipeline
from ..io.atomic import atomic_open
from ..io.bags import BagFrameReader, BagTopics, ReadStats
from ..io.errors import DataIOError
from ..perception.errors import PerceptionError
from ..perception.simulation import SimulationBackend


@dataclass
class ScenesSummary:
    frames_written: int = 0
    frames_failed: int = 0
    failures: list[str] = field(default_factory=list)
    read_stats: ReadStats | None = None


def iter_scene_records(bag: str | Path, topics: BagTopics = BagTopics(),
                       config: PipelineConfig = PipelineConfig(),
                       summary: ScenesSummary | None = None) -> Iterator[dict[str, Any]]:
    """Run the core over the bag's frames; yield one record per processed frame.

    Frames that cannot be processed are counted in ``summary`` and skipped.
    """
    summary = summary if summary is not None else ScenesSummary()
    reader = BagFrameReader(bag, topics)
    summary.read_stats = reader.stats
    pipeline = ScenePipeline(config)
    backend = SimulationBackend()
    for bag_frame in reader:
        summary.read_stats = reader.stats  # iterating starts a fresh stats object
        try:
            frame = bag_frame.to_frame()
            observations = backend.observe(bag_frame.rgb, bag_frame.instance_ids,
                                           bag_frame.id_to_label)
            result = pipeline.process(frame, observations)
        except (CoreError, DataIOError, PerceptionError) as error:
            summary.frames_failed += 1
            if len(summary.failures) < 20:
                summary.failures.append(f"frame {bag_frame.stamp_ns}: {error}")
            continue
        record = frame_record(result, bag_frame.stamp_ns)
        if bag_frame.warnings:
            record["warnings"] = record["warnings"] + list(bag_frame.warnings)
        summary.frames_written += 1
        yield record
    summary.read_stats = reader.stats


def bag_scenes(bag: str | Path, out: str | Path | None, topics: BagTopics = BagTopics(),
               config: PipelineConfig = PipelineConfig()) -> ScenesSummary:
    """Write the JSON lines to ``out`` (atomically, see ``io.atomic``) or stdout."""
    summary = ScenesSummary()
    records = iter_scene_records(bag, topics, config, summary)
    if out is None:
        _write_lines(records, sys.stdout)
        return summary
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out, "w") as stream:
        _write_lines(records, stream)
    return summary


def _write_lines(records, stream: IO[str]) -> None:
    for record in records:
        stream.write(json.dumps(record, separators=(",", ":")) + "\n")

"""`spatial-vqa scenes BAG`: the scene graph of every frame of a bag, as JSON lines.

Each frame goes through the perception chain a :class:`PerceptionSpec` names (by
default the simulation chain: recorded depth, instance image and labels) and then the
geometry core; every record carries the chain's provenance.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..core.errors import CoreError
from ..core.export import frame_record
from ..core.pipeline import PipelineConfig, ScenePipeline
from ..io.atomic import atomic_open, atomic_write
from ..io.bags import BagFrameReader, BagTopics, ReadStats
from ..io.errors import DataIOError
from ..perception.chain import PerceptionChain
from ..perception.errors import PerceptionError
from ..perception.factories import PerceptionSpec, build_chain
from ..perception.types import InputSettings
from .frames import DEFAULT_INPUTS, SIMULATION, perceive_frame


@dataclass
class ScenesSummary:
    frames_written: int = 0
    frames_failed: int = 0
    failures: list[str] = field(default_factory=list)
    read_stats: ReadStats | None = None


def iter_scene_records(bag: str | Path, topics: BagTopics = BagTopics(),
                       config: PipelineConfig = PipelineConfig(),
                       summary: ScenesSummary | None = None, *,
                       perception: PerceptionSpec = SIMULATION,
                       prompts: Sequence[str] = (),
                       png_dir: str | Path | None = None,
                       inputs: InputSettings = DEFAULT_INPUTS) -> Iterator[dict[str, Any]]:
    """Run ``perception``'s chain (built once, here) and the core over the bag's frames;
    the iterator yields one record per processed frame. ``inputs``: the valid depth
    range (and the rest of what shapes the inputs), as the node's parameters give it.

    The bag is opened and the chain built before this returns: DataIOError for a bag
    that cannot be read, PerceptionError for a chain that cannot be built. Frames that
    cannot be processed (no depth for sensor depth, no instance image for the
    simulation detector, ...) are counted in ``summary`` and skipped. ``png_dir``:
    also write ``<stamp_ns>.png`` per processed frame there (the overlay beside the
    plan view: ``offline.perceive.picture_of``).
    """
    summary = summary if summary is not None else ScenesSummary()
    reader = BagFrameReader(bag, topics)
    summary.read_stats = reader.stats
    chain = build_chain(perception)
    pictures = Path(png_dir) if png_dir is not None else None
    if pictures is not None:
        try:
            pictures.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DataIOError(f"cannot write pictures to {pictures}: "
                              f"{error.strerror or error}") from None
    return _records(reader, chain, tuple(prompts), ScenePipeline(config), summary,
                    pictures=pictures, inputs=inputs)


def _records(reader: BagFrameReader, chain: PerceptionChain, prompts: tuple[str, ...],
             pipeline: ScenePipeline, summary: ScenesSummary, *,
             pictures: Path | None = None, inputs: InputSettings = DEFAULT_INPUTS
             ) -> Iterator[dict[str, Any]]:
    for bag_frame in reader:
        summary.read_stats = reader.stats  # iterating starts a fresh stats object
        try:
            perceived = perceive_frame(chain, bag_frame, prompts, inputs)
            result = pipeline.process(perceived.capture, perceived.observations)
        except (CoreError, DataIOError, PerceptionError) as error:
            summary.frames_failed += 1
            if len(summary.failures) < 20:
                summary.failures.append(f"frame {bag_frame.stamp_ns}: {error}")
            continue
        record = frame_record(result, bag_frame.stamp_ns)
        if pictures is not None:
            from .perceive import picture_of, png_bytes

            atomic_write(pictures / f"{bag_frame.stamp_ns}.png",
                         png_bytes(picture_of(perceived, result)))
        if bag_frame.warnings:
            record["warnings"] = record["warnings"] + list(bag_frame.warnings)
        summary.frames_written += 1
        yield record
    summary.read_stats = reader.stats


def bag_scenes(bag: str | Path, out: str | Path | None, topics: BagTopics = BagTopics(),
               config: PipelineConfig = PipelineConfig(), *,
               perception: PerceptionSpec = SIMULATION,
               prompts: Sequence[str] = (), png_dir: str | Path | None = None,
               inputs: InputSettings = DEFAULT_INPUTS) -> ScenesSummary:
    """Write the JSON lines to ``out`` (atomically, see ``io.atomic``) or stdout.

    ``perception`` / ``prompts`` / ``inputs``: the chain, what it looks for and the
    input settings (see :func:`iter_scene_records`). A bag that cannot be opened or a
    chain that cannot be built raises before anything is written.
    """
    summary = ScenesSummary()
    records = iter_scene_records(bag, topics, config, summary, perception=perception,
                                 prompts=prompts, png_dir=png_dir, inputs=inputs)
    if out is None:
        _write_lines(records, sys.stdout)
        return summary
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(out, "w") as stream:
            _write_lines(records, stream)
    except OSError as error:  # unwritable, a file where a folder should be, disk full
        raise DataIOError(f"cannot write {out}: {error.strerror or error}") from None
    return summary


def _write_lines(records, stream: IO[str]) -> None:
    for record in records:
        stream.write(json.dumps(record, separators=(",", ":")) + "\n")

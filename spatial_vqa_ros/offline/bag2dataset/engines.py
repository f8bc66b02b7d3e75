"""Running sources: :class:`SourceRun` turns one source's frames into outputs, and the
``local`` engine (one process) runs many; the ``ray`` engine is in :mod:`.ray_engine`.

Both engines yield the same ``(source name, FrameOutput | SourceReport)`` stream, so
the writer cannot tell them apart.
"""

from __future__ import annotations

import time
from collections.abc import Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...core.errors import CoreError
from ...core.export import frame_record
from ...core.pipeline import FrameResult, ScenePipeline
from ...core.scene_graph import visible_graph
from ...core.vqa import VQAError, synthesize
from ...io.datasets import build_record, encode_image
from ...io.errors import DataIOError
from .config import Bag2DatasetConfig
from .filters import FILTER_REASONS, ImageFilter, scene_reason
from .sources import FrameSource, SourceFrame
from .summary import SourceReport

ENGINES = ("local", "ray")
#: Why a frame gave no record (skips are kept in progress.json and counted in the card).
SKIP_REASONS = ("no_objects", "no_qa", *FILTER_REASONS)


@dataclass
class FrameOutput:
    """What one frame of a source produced.

    ``status``: "written" (``record`` and ``image`` set), "no_objects" / "no_qa"
    (processed, no record), "done" (in the dataset already: not synthesised again),
    "failed" (not processed: ``reason``), "unselected" (dropped by ``every_n``).
    ``scene``: the scene-graph line of every processed frame (none for a ``carried``
    frame, whose line the dataset keeps).
    """

    key: str
    status: str
    scene: dict[str, Any] | None = None
    record: dict[str, Any] | None = None
    image: bytes | None = None
    reason: str = ""


class SourceRun:
    """Process one source; iterate for the :class:`FrameOutput` of every frame, then
    read :attr:`report`. ``done``: keys in the dataset already (a resumed source is
    processed from its start, so the tracker state is the same, but done frames are
    not synthesised or written again)."""

    def __init__(self, source: FrameSource, config: Bag2DatasetConfig,
                 done: Container[str] = frozenset()) -> None:
        self.source = source
        self.config = config
        self.done = done
        self.report = SourceReport(source.name, source.kind, source.uri)
        self._images = (ImageFilter(config.filters) if config.filters.checks_images
                        else None)

    def __iter__(self) -> Iterator[FrameOutput]:
        start = time.perf_counter()
        report, config = self.report, self.config
        pipeline = ScenePipeline(config.pipeline)
        # Unrelated images (a folder, an image dataset) are separate scenes: each starts
        # with a fresh tracker, so no object of one image is carried into the next.
        stateless = bool(getattr(self.source, "stateless", False))
        margin = config.pipeline.tracker.naming_margin_m
        seen: set[str] = set()
        offset = int(getattr(self.source, "first_index", 0))  # a window of a source
        try:
            for index, item in enumerate(self.source, offset):
                report.frames_read += 1
                if index % config.every_n:
                    yield FrameOutput(item.key, "unselected")
                    continue
                report.frames_selected += 1
                if item.key in seen:  # a driver that republishes a frame, or stamps 0
                    reason = f"another frame of this source has the same stamp ({item.key})"
                    report.fail("duplicate_stamp", reason)
                    yield FrameOutput(item.key, "failed", reason=reason)
                    continue
                seen.add(item.key)
                if stateless:
                    pipeline = ScenePipeline(config.pipeline)
                yield self._frame(item, pipeline, margin)
            report.complete = True
        except DataIOError as error:
            report.error = str(error)
        finally:
            report.reader = self.source.stats()
            report.seconds = time.perf_counter() - start

    def _unusable(self, item: SourceFrame) -> FrameOutput | None:
        """The output of a frame that is filtered out or failed before the core."""
        report = self.report
        if item.carried:  # in the dataset, its scene line kept: nothing to do
            report.frames_done_before += 1
            return FrameOutput(item.key, "done")
        if item.skip_reason:
            report.filter(item.skip_reason)
            return FrameOutput(item.key, item.skip_reason)
        if item.error or item.capture is None or item.observations is None:
            report.fail(item.error_reason or "invalid", item.error or "no frame")
            return FrameOutput(item.key, "failed", reason=item.error)
        if self._images is not None and not item.image_checked and item.key not in self.done:
            reason = self._images.reason(item.capture.rgb)
            if reason:
                report.filter(reason)
                return FrameOutput(item.key, reason)
        return None

    def _frame(self, item: SourceFrame, pipeline: ScenePipeline, margin: float) -> FrameOutput:
        report, config = self.report, self.config
        unusable = self._unusable(item)
        if unusable is not None:
            return unusable
        assert item.capture is not None and item.observations is not None
        try:
            result = pipeline.process(item.capture, item.observations)
        except CoreError as error:
            report.fail("invalid", str(error))
            return FrameOutput(item.key, "failed", reason=str(error))
        graph = visible_graph(result.graph, margin)
        scene = frame_record(FrameResult(result.scene, result.estimates, graph,
                                         result.warnings + item.warnings), item.stamp_ns)
        line = {"id": item.key, "source": self.source.name, **scene}
        if item.key in self.done:
            report.frames_done_before += 1
            return FrameOutput(item.key, "done", line)
        if not graph.objects:
            report.frames_no_objects += 1
            return FrameOutput(item.key, "no_objects", line)
        reason = scene_reason(config.filters, result.scene.floor_found, len(graph.objects))
        if reason:
            report.filter(reason)
            return FrameOutput(item.key, reason, line)
        try:
            qas = synthesize(graph, config.synthesis, item.key, stats=report.emission)
        except VQAError as error:
            report.fail("invalid", str(error))
            return FrameOutput(item.key, "failed", line, reason=str(error))
        if not qas:
            report.frames_no_qa += 1
            return FrameOutput(item.key, "no_qa", line)
        rgb = item.capture.rgb
        image = encode_image(rgb, config.image_format, jpeg_quality=config.jpeg_quality)
        source = {"kind": self.source.kind, "uri": self.source.uri, "name": self.source.name,
                  "stamp_ns": item.stamp_ns, "topic": self.source.topic}
        record = build_record(item.key, qas, scene, source, width=rgb.shape[1],
                              height=rgb.shape[0], image_format=config.image_format)
        report.records += 1
        return FrameOutput(item.key, "written", line, record, image)


def _local_outputs(sources: Sequence[FrameSource], config: Bag2DatasetConfig,
                   done: Mapping[str, set[str]]
                   ) -> Iterator[tuple[str, FrameOutput | SourceReport]]:
    for source in sources:
        run = SourceRun(source, config, done.get(source.name, set()))
        for output in run:
            yield source.name, output
        yield source.name, run.report

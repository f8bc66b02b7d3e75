"""Running sources: :class:`SourceRun` turns one source's frames into outputs, and the
``local`` (one process) and ``ray`` (one source per Ray task) engines run many.

Both engines yield the same ``(source name, FrameOutput | SourceReport)`` stream, so
the writer cannot tell them apart; a Ray worker rebuilds its source and the config
from JSON (:func:`~.sources.source_from_spec`, ``Bag2DatasetConfig.from_settings``).
"""

from __future__ import annotations

import json
import logging
import os
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
from .sources import FrameSource, SourceFrame, source_from_spec
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
    ``scene``: the scene-graph line of every processed frame.
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
        try:
            for index, item in enumerate(self.source):
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
        if item.skip_reason:
            report.filter(item.skip_reason)
            return FrameOutput(item.key, item.skip_reason)
        if item.error or item.frame is None or item.observations is None:
            report.fail(item.error_reason or "invalid", item.error or "no frame")
            return FrameOutput(item.key, "failed", reason=item.error)
        if self._images is not None and not item.image_checked and item.key not in self.done:
            reason = self._images.reason(item.frame.rgb)
            if reason:
                report.filter(reason)
                return FrameOutput(item.key, reason)
        return None

    def _frame(self, item: SourceFrame, pipeline: ScenePipeline, margin: float) -> FrameOutput:
        report, config = self.report, self.config
        unusable = self._unusable(item)
        if unusable is not None:
            return unusable
        assert item.frame is not None and item.observations is not None
        try:
            result = pipeline.process(item.frame, item.observations)
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
        rgb = item.frame.rgb
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


def _ray_source_rows(row: dict[str, Any], settings: str, shard_size: int
                     ) -> Iterator[dict[str, Any]]:
    """Ray Data flat_map: one source in, one row per frame then one report row out."""
    config = Bag2DatasetConfig.from_settings(json.loads(settings), shard_size)
    source = source_from_spec(json.loads(row["spec"]))
    run = SourceRun(source, config, set(json.loads(row["done"])))
    frames = 0
    for output in run:
        frames += 1
        payload = {"status": output.status, "scene": output.scene, "record": output.record,
                   "reason": output.reason}
        yield {"source": source.name, "key": output.key, "kind": "frame",
               "payload": json.dumps(payload), "image": output.image or b""}
    report = run.report.to_dict()
    report["frame_rows"] = frames
    yield {"source": source.name, "key": "", "kind": "report", "payload": json.dumps(report),
           "image": b""}


def _ray_outputs(sources: Sequence[FrameSource], config: Bag2DatasetConfig,
                 done: Mapping[str, set[str]], workers: int
                 ) -> Iterator[tuple[str, FrameOutput | SourceReport]]:
    try:
        import ray
        import ray.data
    except ImportError:
        raise DataIOError("--engine ray needs Ray Data: pip install 'ray[data]'") from None
    started = False
    data_logger = logging.getLogger("ray.data")
    data_level = data_logger.level
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "logging_level": logging.ERROR}
        if not os.environ.get("RAY_ADDRESS"):
            kwargs["num_cpus"] = workers  # a local instance: as many CPUs as workers
        ray.init(**kwargs)
        started = True
    data_logger.setLevel(logging.ERROR)  # our own progress bar and summary say enough
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.target_max_block_size = 8 * 1024 * 1024  # stream results, not whole bags
        items = [{"spec": json.dumps(s.spec()), "done": json.dumps(sorted(done.get(s.name, ())))}
                 for s in sources]
        dataset = ray.data.from_items(items, override_num_blocks=len(items)).flat_map(
            _ray_source_rows, fn_kwargs={"settings": json.dumps(config.settings()),
                                         "shard_size": config.shard_size},
            compute=ray.data.TaskPoolStrategy(size=workers), num_cpus=1)
        received: dict[str, int] = {}
        for row in dataset.iter_rows():
            name = row["source"]
            payload = json.loads(row["payload"])
            if row["kind"] == "report":
                expected = payload.pop("frame_rows")
                if received.get(name, 0) != expected:
                    raise DataIOError(f"Ray returned {received.get(name, 0)} of the "
                                      f"{expected} frames of {name}")
                yield name, SourceReport.from_dict(payload)
                continue
            received[name] = received.get(name, 0) + 1
            yield name, FrameOutput(row["key"], payload["status"], payload["scene"],
                                    payload["record"], bytes(row["image"]) or None,
                                    payload["reason"])
    finally:
        data_logger.setLevel(data_level)
        if started:
            ray.shutdown()

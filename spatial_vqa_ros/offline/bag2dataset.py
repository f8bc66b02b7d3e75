"""Recorded frames to a spatial VQA dataset: ``spatial-vqa bag2dataset``.

Per source (one camera stream: a bag), in order: frames -> :class:`ScenePipeline`
(one per source: floor smoothing and the tracker are stateful) -> the scene graph of
the objects *visible in the frame* (re-described, so names are unique among them) ->
:func:`synthesize` with image key ``"<source>/<stamp_ns>"`` -> record + image ->
:class:`~spatial_vqa_ros.io.datasets.DatasetWriter`. The output depends only on the
inputs and the settings (seed included): the ``ray`` engine, which runs one source
per task, writes the same records as the ``local`` one.

Determinism of the floor fit (open3d's RANSAC) is the core's business: see
:func:`spatial_vqa_ros.core.floor.deterministic_open3d`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Protocol

from ..core.errors import CoreError
from ..core.export import frame_record
from ..core.frame import Frame, Observations
from ..core.pipeline import FrameResult, PipelineConfig, ScenePipeline
from ..core.relations import Margins
from ..core.scene_graph import visible_graph
from ..core.vqa import EmissionStats, SynthesisConfig, VQAError, synthesize
from ..io.bags import BagFrameReader, BagTopics, bag_topics_summary
from ..io.datasets import (
    IMAGE_FORMATS,
    DatasetCounts,
    DatasetWriter,
    build_record,
    encode_image,
)
from ..io.errors import DataIOError
from ..perception.errors import PerceptionError
from ..perception.simulation import SimulationBackend

ENGINES = ("local", "ray")
#: Why a frame gave no record (skips are kept in progress.json and counted in the card).
SKIP_REASONS = ("no_objects", "no_qa")


# --- frame sources -------------------------------------------------------------------
@dataclass(frozen=True)
class SourceFrame:
    """One frame of a source, ready for the core, or the reason it is not.

    ``key``: ``"<source name>/<stamp_ns>"``, unique in a dataset. ``frame`` and
    ``observations`` are None when ``error`` says why the frame cannot be processed
    (``error_reason`` is a short code: "no_depth", "no_instances", "no_labels",
    "invalid"). ``warnings``: notes of the reader, copied into the scene record.
    """

    key: str
    stamp_ns: int
    frame: Frame | None
    observations: Observations | None
    warnings: tuple[str, ...] = ()
    error: str = ""
    error_reason: str = ""


class FrameSource(Protocol):
    """An ordered stream of frames of one camera, processed with one pipeline state.

    ``name``: unique among a dataset's sources (letters, digits, ``._-``); it prefixes
    every key. ``kind``/``uri``/``topic`` go into each record's ``source``.
    Iterating yields :class:`SourceFrame` in time order and may raise DataIOError
    when the input turns out to be damaged (the frames before it count).
    ``total`` is the expected number of frames (progress bars; None if unknown);
    ``stats()`` returns JSON-able reader statistics; ``spec()`` a JSON-able
    description from which :func:`source_from_spec` rebuilds the source in another
    process (the ``ray`` engine).

    Implemented: :class:`BagSource`. For image folders and Hugging Face image
    datasets (the ``synth`` command), a source yields one SourceFrame per image;
    unrelated images are separate scenes, so either give each image its own source
    or reset the pipeline per frame (planned: a ``stateless`` flag read by
    :class:`SourceRun`); depth comes from the files or a depth model and the
    observations from a perception backend, both built inside ``__iter__`` so the
    source stays a small picklable spec.
    """

    name: str
    kind: str
    uri: str
    topic: str
    total: int | None

    def __iter__(self) -> Iterator[SourceFrame]: ...

    def stats(self) -> dict[str, Any]: ...

    def spec(self) -> dict[str, Any]: ...


def source_name(path: str | Path) -> str:
    """A key-safe name for a bag path: its directory (or file stem) name."""
    path = Path(path)
    stem = path.stem if path.suffix in (".db3", ".mcap") else path.name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "bag"


class BagSource:
    """The frames of a rosbag2 (sqlite3 or mcap), with the simulation backend's
    observations (instance image + labels JSON; see ``io.bags`` for the topics).

    Opening checks that the bag is readable and has the rgb topic (DataIOError).
    """

    kind = "rosbag2"

    def __init__(self, path: str | Path, topics: BagTopics = BagTopics(),
                 name: str | None = None) -> None:
        self.path = Path(path)
        self.topics = topics
        self.name = name or source_name(self.path)
        self.uri = str(self.path.resolve())
        self.topic = topics.rgb
        self._reader = BagFrameReader(self.path, topics)
        summary = bag_topics_summary(self.path)
        self.total: int | None = summary.get(topics.rgb, ("", None))[1]
        listing = ", ".join(sorted(summary)) or "none"
        self._missing = {role: f"topic {getattr(topics, role)} is not in the bag (topics: "
                         f"{listing})" for role in ("depth", "instances", "labels")
                         if getattr(topics, role) not in summary}

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.path), "name": self.name,
                "topics": asdict(self.topics)}

    def stats(self) -> dict[str, Any]:
        return asdict(self._reader.stats)

    def __iter__(self) -> Iterator[SourceFrame]:
        backend = SimulationBackend()
        for bag_frame in self._reader:
            key = f"{self.name}/{bag_frame.stamp_ns}"
            missing = [(code, role, message) for code, role, message in (
                ("no_depth", "depth", "no depth image"),
                ("no_instances", "instances", "no instance image"),
                ("no_labels", "labels", "no instance labels"))
                if getattr(bag_frame, {"depth": "depth_raw", "instances": "instance_ids",
                                       "labels": "id_to_label"}[role]) is None]
            if missing:
                code, role, message = missing[0]
                why = self._missing.get(role) or f"none matched on {getattr(self.topics, role)}"
                yield SourceFrame(key, bag_frame.stamp_ns, None, None, bag_frame.warnings,
                                  f"{message}: {why}", code)
                continue
            try:
                frame = bag_frame.to_frame()
                observations = backend.observe(bag_frame.rgb, bag_frame.instance_ids,
                                               bag_frame.id_to_label)
            except (CoreError, DataIOError, PerceptionError) as error:
                yield SourceFrame(key, bag_frame.stamp_ns, None, None, bag_frame.warnings,
                                  str(error), "invalid")
                continue
            yield SourceFrame(key, bag_frame.stamp_ns, frame, observations, bag_frame.warnings)


def source_from_spec(spec: Mapping[str, Any]) -> FrameSource:
    """Rebuild a source from its :meth:`FrameSource.spec` (in a worker process)."""
    if spec.get("kind") == BagSource.kind:
        return BagSource(spec["path"], BagTopics(**spec["topics"]), spec["name"])
    raise DataIOError(f"unknown frame source kind {spec.get('kind')!r}")


# --- configuration ---------------------------------------------------------------------
@dataclass(frozen=True)
class Bag2DatasetConfig:
    """Everything that decides a dataset's content (recorded in progress.json and the
    card; a directory resumes only with the same settings).

    ``every_n``: keep every n-th frame of each source (the others are not processed
    at all: the tracker sees the kept frames only). Images are written as
    ``image_format`` ("jpg" at ``jpeg_quality``, or "png").
    """

    synthesis: SynthesisConfig = field(default_factory=SynthesisConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    topics: BagTopics = field(default_factory=BagTopics)
    every_n: int = 1
    image_format: str = "jpg"
    jpeg_quality: int = 95
    shard_size: int = 1000

    def __post_init__(self) -> None:
        if self.every_n < 1:
            raise DataIOError(f"every_n must be >= 1, got {self.every_n}")
        if self.image_format not in IMAGE_FORMATS:
            raise DataIOError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, got "
                              f"{self.image_format!r}")
        if not 1 <= self.jpeg_quality <= 100:
            raise DataIOError(f"jpeg_quality must be within [1, 100], got {self.jpeg_quality}")
        if self.shard_size < 1:
            raise DataIOError(f"shard_size must be >= 1, got {self.shard_size}")
        if not self.synthesis.multi_turn:
            raise DataIOError("the dataset holds one record per image: use "
                              "SynthesisConfig(multi_turn=True)")

    def settings(self) -> dict[str, Any]:
        """JSON-able settings; :meth:`from_settings` rebuilds the config from them."""
        s = self.synthesis
        weights = None if s.category_weights is None else dict(s.category_weights)
        return {
            "synthesis": {"category_weights": weights, "qa_per_image": s.qa_per_image,
                          "units": s.units, "qualitative_fraction": s.qualitative_fraction,
                          "seed": s.seed, "multi_turn": s.multi_turn,
                          "margins": asdict(s.margins)},
            "pipeline": asdict(self.pipeline),
            "topics": asdict(self.topics),
            "backend": "simulation",
            "every_n": self.every_n,
            "image_format": self.image_format,
            "jpeg_quality": self.jpeg_quality,
        }

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], shard_size: int = 1000
                      ) -> Bag2DatasetConfig:
        s = dict(settings["synthesis"])
        synthesis = SynthesisConfig(
            category_weights=s["category_weights"], qa_per_image=s["qa_per_image"],
            units=s["units"], qualitative_fraction=s["qualitative_fraction"], seed=s["seed"],
            multi_turn=s["multi_turn"], margins=Margins(**s["margins"]))
        return cls(synthesis=synthesis, pipeline=_from_dict(PipelineConfig, settings["pipeline"]),
                   topics=BagTopics(**settings["topics"]), every_n=settings["every_n"],
                   image_format=settings["image_format"],
                   jpeg_quality=settings["jpeg_quality"], shard_size=shard_size)


def _from_dict(cls: type, values: Mapping[str, Any]) -> Any:
    """A (nested) config dataclass from its ``asdict``; lists become tuples again."""
    default = cls()
    kwargs = {}
    for f in fields(cls):
        if f.name not in values or not f.init:
            continue
        current, value = getattr(default, f.name), values[f.name]
        if is_dataclass(current) and isinstance(value, Mapping):
            value = _from_dict(type(current), value)
        elif isinstance(current, tuple) and isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)


# --- one source ------------------------------------------------------------------------
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


@dataclass
class SourceReport:
    """Counts of one source's run (JSON-able with :meth:`to_dict`)."""

    name: str
    kind: str = ""
    uri: str = ""
    frames_read: int = 0
    frames_selected: int = 0
    frames_failed: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    failure_notes: list[str] = field(default_factory=list)
    frames_no_objects: int = 0
    frames_no_qa: int = 0
    frames_done_before: int = 0
    records: int = 0
    emission: EmissionStats = field(default_factory=EmissionStats)
    reader: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    complete: bool = False
    seconds: float = 0.0

    def fail(self, reason: str, note: str) -> None:
        self.frames_failed += 1
        self.failed_by_reason[reason] = self.failed_by_reason.get(reason, 0) + 1
        if note not in self.failure_notes and len(self.failure_notes) < 10:
            self.failure_notes.append(note)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SourceReport:
        values = dict(values)
        values["emission"] = EmissionStats(**values["emission"])
        return cls(**values)


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

    def __iter__(self) -> Iterator[FrameOutput]:
        start = time.perf_counter()
        report, config = self.report, self.config
        pipeline = ScenePipeline(config.pipeline)
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
                yield self._frame(item, pipeline, margin)
            report.complete = True
        except DataIOError as error:
            report.error = str(error)
        finally:
            report.reader = self.source.stats()
            report.seconds = time.perf_counter() - start

    def _frame(self, item: SourceFrame, pipeline: ScenePipeline, margin: float) -> FrameOutput:
        report, config = self.report, self.config
        if item.error or item.frame is None or item.observations is None:
            report.fail(item.error_reason or "invalid", item.error or "no frame")
            return FrameOutput(item.key, "failed", reason=item.error)
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


# --- engines ---------------------------------------------------------------------------
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


# --- the whole job ---------------------------------------------------------------------
@dataclass
class Bag2DatasetSummary:
    """What a run did (``sources``, this run) and what the dataset holds (``dataset``)."""

    out: Path
    sources: list[SourceReport] = field(default_factory=list)
    skipped_complete: list[str] = field(default_factory=list)
    dataset: DatasetCounts = field(default_factory=DatasetCounts)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.complete for r in self.sources) and self.dataset.records > 0

    def totals(self) -> dict[str, Any]:
        emission = EmissionStats()
        failed: dict[str, int] = {}
        for r in self.sources:
            emission.add(r.emission)
            for reason, n in r.failed_by_reason.items():
                failed[reason] = failed.get(reason, 0) + n
        total = {name: sum(getattr(r, name) for r in self.sources) for name in (
            "frames_read", "frames_selected", "frames_failed", "frames_no_objects",
            "frames_no_qa", "frames_done_before", "records")}
        return {**total, "failed_by_reason": failed, "qa_by_category": emission.by_category,
                "qa_emitted": emission.emitted, "qa_refused_by_reason": emission.skipped,
                "qa_shortfall": emission.shortfall}

    def format(self) -> str:
        t = self.totals()
        rate = t["frames_read"] / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"{self.out}: {t['records']} records written this run "
            f"({self.dataset.records} in the dataset, {self.dataset.qas} QAs) in "
            f"{self.seconds:.1f} s ({rate:.1f} frames/s)",
            f"frames: {t['frames_read']} read, {t['frames_selected']} selected, "
            f"{t['frames_failed']} failed, {t['frames_no_objects']} without objects, "
            f"{t['frames_no_qa']} without QAs, {t['frames_done_before']} already in the dataset",
        ]
        if t["failed_by_reason"]:
            lines.append("failed: " + ", ".join(f"{k} {v}" for k, v in
                                                sorted(t["failed_by_reason"].items())))
        lines.append("QAs per category: " + (", ".join(
            f"{k} {v}" for k, v in sorted(t["qa_by_category"].items())) or "none"))
        refused = {k: v for k, v in t["qa_refused_by_reason"].items() if v}
        lines.append("QA attempts refused: " + (", ".join(
            f"{k} {v}" for k, v in sorted(refused.items())) or "none")
            + f"; shortfall {t['qa_shortfall']} QAs")
        for name in self.skipped_complete:
            lines.append(f"{name}: complete in the dataset already, not read again")
        for r in self.sources:
            reader = {k: v for k, v in r.reader.items()
                      if k.startswith("skipped_") and v}
            state = "complete" if r.complete else f"INCOMPLETE: {r.error}"
            lines.append(f"{r.name}: {r.frames_read} frames, {r.records} records, {state}"
                         + (f"; reader skipped {reader}" if reader else ""))
            lines += [f"  {note}" for note in r.failure_notes[:5]]
            lines += [f"  reader: {note}" for note in r.reader.get("notes", [])[:5]]
        return "\n".join(lines)


def open_bags(bags: Iterable[str | Path], topics: BagTopics) -> list[BagSource]:
    """Open every bag first, so a typo fails before anything is written; names must
    be unique (they prefix the keys)."""
    sources = [BagSource(bag, topics) for bag in bags]
    names = [s.name for s in sources]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataIOError(f"bags must have distinct names (they prefix every record id); "
                          f"repeated: {', '.join(repeated)}; rename or copy one of them")
    return sources


def write_dataset(sources: Sequence[FrameSource], out: str | Path,
                  config: Bag2DatasetConfig = Bag2DatasetConfig(), *, engine: str = "local",
                  workers: int = 2, progress: bool = True) -> Bag2DatasetSummary:
    """Process ``sources`` into the dataset directory ``out`` (created or resumed).

    Sources complete in ``out`` already are skipped; partly written ones are run
    again from their start and only their missing frames are written. Raises
    DataIOError when the output cannot be written (e.g. a full disk: what was
    written stays intact, and the same call resumes).
    """
    if engine not in ENGINES:
        raise DataIOError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if workers < 1:
        raise DataIOError(f"workers must be >= 1, got {workers}")
    start = time.perf_counter()
    summary = Bag2DatasetSummary(Path(out))
    writer = DatasetWriter(out, config.settings(), shard_size=config.shard_size,
                           image_format=config.image_format,
                           title="Spatial VQA from rosbag2 recordings")
    try:
        pending = []
        for source in sources:
            if writer.source_complete(source.name):
                summary.skipped_complete.append(source.name)
            else:
                pending.append(source)
        done = {s.name: writer.done_keys(s.name) for s in pending}
        for s in pending:
            writer.begin_source(s.name, {"kind": s.kind, "uri": s.uri, "topic": s.topic})
        outputs = (_local_outputs(pending, config, done) if engine == "local"
                   else _ray_outputs(pending, config, done, workers))
        total = sum(s.total or 0 for s in pending) or None
        with closing(outputs):  # on an error too: open3d threads restored, Ray stopped
            _consume(writer, outputs, summary, total, progress)
    finally:
        summary.seconds = time.perf_counter() - start
        summary.dataset = writer.close(extra={"totals": summary.totals(),
                                              "engine": engine})
    return summary


def _consume(writer: DatasetWriter, outputs: Iterable[tuple[str, FrameOutput | SourceReport]],
             summary: Bag2DatasetSummary, total: int | None, progress: bool) -> None:
    from tqdm import tqdm

    with tqdm(total=total, unit="frame", file=sys.stderr, disable=not progress,
              dynamic_ncols=True) as bar:
        for name, output in outputs:
            if isinstance(output, SourceReport):
                summary.sources.append(output)
                writer.end_source(name, {"report": output.to_dict()}, output.complete)
                continue
            bar.update(1)
            if output.scene is not None:
                writer.add_scene(name, output.scene)
            if output.status == "written":
                assert output.record is not None and output.image is not None
                writer.add(output.key, output.image, output.record)
            elif output.status in SKIP_REASONS:
                writer.skip(output.key, output.status)


def bag2dataset(bags: Sequence[str | Path], out: str | Path,
                config: Bag2DatasetConfig = Bag2DatasetConfig(), *, engine: str = "local",
                workers: int = 2, progress: bool = True) -> Bag2DatasetSummary:
    """Bags (directories or .db3/.mcap files) to a dataset; see :func:`write_dataset`."""
    if not bags:
        raise DataIOError("give at least one bag")
    return write_dataset(open_bags(bags, config.topics), out, config, engine=engine,
                         workers=workers, progress=progress)


__all__ = [
    "Bag2DatasetConfig",
    "Bag2DatasetSummary",
    "BagSource",
    "FrameOutput",
    "FrameSource",
    "SourceFrame",
    "SourceReport",
    "SourceRun",
    "bag2dataset",
    "open_bags",
    "source_from_spec",
    "write_dataset",
]

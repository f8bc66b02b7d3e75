"""The ``ray`` engine: the same ``(source name, FrameOutput | SourceReport)`` stream as
the local engine, computed on Ray Data.

Two shapes of work, because two kinds of source:

- **Recordings** (bags) are one camera's frames in time order, with a tracker state
  carried from frame to frame: a bag cannot be split, so each is one Ray task
  (``flat_map`` on a task pool).
- **Stateless sources** (image folders, image datasets) are unrelated images: they are
  cut into windows of consecutive frames, run by an **actor pool**
  (``map_batches`` with ``ActorPoolStrategy``) whose actors build the perception chain
  once and keep it, so the models load once per actor, not once per window; an actor
  takes a GPU when the cluster has them (``num_gpus=1``), and one CPU, whose one thread
  its models use (``$SPATIAL_VQA_ORT_THREADS``, ``OMP_NUM_THREADS``). The models still
  see one frame at a time (the chain's seams take a frame).

Either way a worker rebuilds its source and the config from JSON
(:func:`~.source_specs.source_from_spec`, ``Bag2DatasetConfig.from_settings``), and the
driver checks that every frame row of every part came back before it reports a source.
The output equals the local engine's (tests/offline/test_bag2dataset_ray.py).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...io.errors import DataIOError
from ...perception.runtime.onnx import THREADS_ENV
from .config import Bag2DatasetConfig
from .engines import FrameOutput, SourceRun
from .source_specs import source_from_spec
from .sources import FrameSource, SourceWindow, perception_chain
from .summary import SourceReport

__all__ = ["ray_outputs"]

#: Frames per window of a stateless source: small enough to spread a folder over the
#: actors and to lose little on a kill, large enough that a row's overhead is noise.
MAX_WINDOW = 16


def _rows(run: SourceRun, part: int) -> Iterator[dict[str, Any]]:
    """A run's frame rows, then its report row (with how many frame rows preceded it)."""
    frames = 0
    for output in run:
        frames += 1
        payload = {"status": output.status, "scene": output.scene, "record": output.record,
                   "reason": output.reason}
        yield {"source": run.source.name, "part": part, "key": output.key, "kind": "frame",
               "payload": json.dumps(payload), "image": output.image or b""}
    report = run.report.to_dict()
    report["frame_rows"] = frames
    yield {"source": run.source.name, "part": part, "key": "", "kind": "report",
           "payload": json.dumps(report), "image": b""}


def _bag_rows(row: dict[str, Any], settings: str, shard_size: int
              ) -> Iterator[dict[str, Any]]:
    """Ray Data flat_map: one whole source in, its rows out."""
    config = Bag2DatasetConfig.from_settings(json.loads(settings), shard_size)
    source = source_from_spec(json.loads(row["spec"]))
    yield from _rows(SourceRun(source, config, set(json.loads(row["done"]))), 0)


class _WindowActor:
    """An actor of the pool: the config, each source and its chain made once, then any
    number of windows run."""

    def __init__(self, settings: str, shard_size: int, specs: str, done: str) -> None:
        self.config = Bag2DatasetConfig.from_settings(json.loads(settings), shard_size)
        self.specs: dict[str, Any] = json.loads(specs)
        self.done = {name: set(keys) for name, keys in json.loads(done).items()}
        self.opened: dict[str, tuple[Any, Any]] = {}

    def _opened(self, name: str) -> tuple[Any, Any]:
        if name not in self.opened:
            source = source_from_spec(self.specs[name])
            self.opened[name] = (source, perception_chain(source.perception))
        return self.opened[name]

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        columns: dict[str, list[Any]] = {k: [] for k in
                                         ("source", "part", "key", "kind", "payload", "image")}
        for name, part, start, stop in zip(batch["source"], batch["part"], batch["start"],
                                           batch["stop"], strict=True):
            try:
                source, chain = self._opened(str(name))
                window = SourceWindow(source, chain, range(int(start), int(stop)))
                run = SourceRun(window, self.config, self.done.get(str(name), set()))
                rows = list(_rows(run, int(part)))
            except DataIOError as error:  # the chain cannot be built here: say so once
                report = SourceReport(str(name), error=str(error)).to_dict()
                rows = [{"source": str(name), "part": int(part), "key": "", "kind": "report",
                         "payload": json.dumps({**report, "frame_rows": 0}),
                         "image": b""}]
            for row in rows:
                for column, value in row.items():
                    columns[column].append(value)
        return columns


def _windows(sources: Sequence[FrameSource], workers: int) -> list[dict[str, Any]]:
    """Each stateless source cut into windows: about four per worker, at most
    :data:`MAX_WINDOW` frames each."""
    items = []
    for source in sources:
        total = int(source.total or 0)
        size = max(1, min(MAX_WINDOW, math.ceil(total / (4 * workers))))
        for part, start in enumerate(range(0, total, size)):
            items.append({"source": source.name, "part": part, "start": start,
                          "stop": min(total, start + size)})
    return items


def _start_ray(workers: int) -> bool:
    """Ray running (a cluster at $RAY_ADDRESS, or a local instance with ``workers``
    CPUs); True when it was started here (and is to be shut down here)."""
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "logging_level": logging.ERROR}
    if not os.environ.get("RAY_ADDRESS"):
        kwargs["num_cpus"] = workers  # a local instance: as many CPUs as workers
    ray.init(**kwargs)
    return True


def ray_outputs(sources: Sequence[FrameSource], config: Bag2DatasetConfig,
                done: Mapping[str, set[str]], workers: int
                ) -> Iterator[tuple[str, FrameOutput | SourceReport]]:
    try:
        import ray
        import ray.data
    except ImportError:
        raise DataIOError("--engine ray needs Ray Data: pip install 'ray[data]'") from None
    # windows need the frame count; a stateless source of unknown length runs whole
    stateless = bool(sources) and all(getattr(s, "stateless", False) and s.total is not None
                                      for s in sources)
    data_logger = logging.getLogger("ray.data")
    data_level = data_logger.level
    started = _start_ray(workers)
    data_logger.setLevel(logging.ERROR)  # our own progress bar and summary say enough
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.target_max_block_size = 8 * 1024 * 1024  # stream results, not whole bags
        settings = json.dumps(config.settings())
        if stateless:
            items = _windows(sources, workers)
            gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
            dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
                _WindowActor, batch_size=1, num_cpus=1, num_gpus=gpus,
                compute=ray.data.ActorPoolStrategy(size=workers),
                # one CPU per actor, so one thread per model: N actors use N cores
                # instead of each taking all of them (ONNX Runtime's and torch's default)
                runtime_env={"env_vars": {THREADS_ENV: "1", "OMP_NUM_THREADS": "1"}},
                fn_constructor_kwargs={
                    "settings": settings, "shard_size": config.shard_size,
                    "specs": json.dumps({s.name: s.spec() for s in sources}),
                    "done": json.dumps({n: sorted(k) for n, k in done.items()})})
            parts = {s.name: sum(1 for i in items if i["source"] == s.name) for s in sources}
            bases = {s.name: SourceReport(s.name, s.kind, s.uri, reader=dict(s.stats()),
                                          complete=True) for s in sources}
        else:
            items = [{"spec": json.dumps(s.spec()),
                      "done": json.dumps(sorted(done.get(s.name, ())))} for s in sources]
            dataset = ray.data.from_items(items, override_num_blocks=len(items)).flat_map(
                _bag_rows, fn_kwargs={"settings": settings,
                                      "shard_size": config.shard_size},
                compute=ray.data.TaskPoolStrategy(size=workers), num_cpus=1)
            parts, bases = {s.name: 1 for s in sources}, {}
        for name in [n for n, count in parts.items() if count == 0]:  # no frames at all
            yield name, bases[name]
        yield from _collect(dataset.iter_rows(), parts, bases)
    finally:
        data_logger.setLevel(data_level)
        if started:
            ray.shutdown()


def _collect(rows: Iterator[Mapping[str, Any]], parts: Mapping[str, int],
             bases: Mapping[str, SourceReport]
             ) -> Iterator[tuple[str, FrameOutput | SourceReport]]:
    """Frame rows as they come; a source's report once all its parts have reported, each
    having returned every frame row it counted (parts merged onto ``bases``)."""
    received: dict[tuple[str, int], int] = {}
    reported: dict[str, dict[int, SourceReport]] = {}
    for row in rows:
        name, part = str(row["source"]), int(row["part"])
        payload = json.loads(row["payload"])
        if row["kind"] == "frame":
            received[name, part] = received.get((name, part), 0) + 1
            yield name, FrameOutput(row["key"], payload["status"], payload["scene"],
                                    payload["record"], bytes(row["image"]) or None,
                                    payload["reason"])
            continue
        expected = payload.pop("frame_rows")
        if received.get((name, part), 0) != expected:
            raise DataIOError(f"Ray returned {received.get((name, part), 0)} of the "
                              f"{expected} frames of {name} (part {part})")
        reported.setdefault(name, {})[part] = SourceReport.from_dict(payload)
        if len(reported[name]) == parts[name]:
            if name not in bases:
                yield name, reported[name][part]
                continue
            merged = bases[name]
            for _, report in sorted(reported[name].items()):  # frame order, as local
                merged.merge(report)
            yield name, merged

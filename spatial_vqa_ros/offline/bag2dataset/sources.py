"""Where frames come from: the ``FrameSource`` protocol and its rosbag2 implementation.

A source is one camera stream processed with one pipeline state; it is described by
a small JSON-able ``spec()`` so that a worker process (the ``ray`` engine) can rebuild
it with :func:`source_from_spec` instead of pickling open readers. Adding a new kind
of input (image folders, Hugging Face datasets) means adding a source here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from ...core.errors import CoreError
from ...core.frame import Frame, Observations
from ...io.bags import BagFrameReader, BagTopics, bag_topics_summary
from ...io.errors import DataIOError
from ...perception.errors import PerceptionError
from ...perception.simulation import SimulationBackend


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

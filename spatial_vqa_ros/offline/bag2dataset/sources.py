"""Where frames come from: the ``FrameSource`` protocol and its rosbag2 implementation.

A source is one camera stream processed with one pipeline state; it is described by
a small JSON-able ``spec()`` so that a worker process (the ``ray`` engine) can rebuild
it with :func:`~.source_specs.source_from_spec` instead of pickling open readers.
Adding a new kind of input (as :mod:`.images` and :mod:`.hf_images` did) means a module
with its source class, and its ``from_spec`` in :mod:`.source_specs`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from ...core.capture import Capture, Observations
from ...core.errors import CoreError
from ...io.bags import BagFrame, BagFrameReader, BagTopics, bag_topics_summary
from ...io.errors import DataIOError
from ...perception.chain import PerceptionChain
from ...perception.errors import PerceptionError
from ...perception.factories import PerceptionSpec, build_chain, needs_instances
from ...perception.types import InputSettings
from ..frames import DEFAULT_INPUTS, SIMULATION, perceive_frame

#: What a frame lacks, per optional topic role: (reason code, BagFrame field, message).
_ROLES = {"depth": ("no_depth", "depth_raw", "no depth image"),
          "instances": ("no_instances", "instance_ids", "no instance image"),
          "labels": ("no_labels", "id_to_label", "no instance labels")}
#: What to do about a missing role.
_HINTS = {"depth": "set the depth topic (an RGB-D camera), or choose a depth estimator",
          "instances": "set the instances topic, or choose a model detector and segmenter",
          "labels": "set the labels topic, or choose a model detector and segmenter"}


@dataclass(frozen=True)
class SourceFrame:
    """One frame of a source, ready for the core, or the reason it is not.

    ``key``: ``"<source name>/<stamp_ns>"``, unique in a dataset. ``capture`` (the
    RGB-D capture) and ``observations`` (the perception chain's output, provenance
    included) are None when ``error`` says why the frame cannot be processed
    (``error_reason`` is a short code: "no_depth", "no_instances", "no_labels" for an
    input the chain needs, "perception" for a chain that failed on the frame,
    "invalid"). ``warnings``: notes of the reader, copied into the scene record.
    """

    key: str
    stamp_ns: int
    capture: Capture | None
    observations: Observations | None
    warnings: tuple[str, ...] = ()
    error: str = ""
    error_reason: str = ""
    #: A filter's reason (``filters.FILTER_REASONS``) when the source dropped the image
    #: before perception; ``image_checked``: the image checks ran already.
    skip_reason: str = ""
    image_checked: bool = False
    #: In the dataset already with its scene line carried over (a complete image source
    #: topped up with new images): neither read nor perceived again.
    carried: bool = False


class FrameSource(Protocol):
    """An ordered stream of frames of one camera, processed with one pipeline state.

    ``name``: unique among a dataset's sources (letters, digits, ``._-``); it prefixes
    every key. ``kind``/``uri``/``topic`` go into each record's ``source``.
    Iterating yields :class:`SourceFrame` in time order and may raise DataIOError
    when the input turns out to be damaged (the frames before it count).
    ``total`` is the expected number of frames (progress bars; None if unknown);
    ``stats()`` returns JSON-able reader statistics; ``spec()`` a JSON-able
    description from which :func:`~.source_specs.source_from_spec` rebuilds the source
    in another process (the ``ray`` engine).

    Implemented: :class:`BagSource`, :class:`~.images.ImageFolderSource` and
    :class:`~.hf_images.HFImageSource`. A source
    whose frames are unrelated images sets ``stateless = True``: :class:`SourceRun`
    then gives every frame a fresh tracker. The chain is built inside ``__iter__``
    from a :class:`PerceptionSpec`, so a source stays a small picklable spec.
    """

    name: str
    kind: str
    uri: str
    topic: str
    total: int | None

    def __iter__(self) -> Iterator[SourceFrame]: ...

    def stats(self) -> dict[str, Any]: ...

    def spec(self) -> dict[str, Any]: ...


def perception_chain(spec: PerceptionSpec) -> PerceptionChain:
    """The chain of ``spec``; DataIOError (the sources' error) when it cannot be built,
    e.g. weights missing on a Ray worker."""
    try:
        return build_chain(spec)
    except PerceptionError as error:
        raise DataIOError(f"the perception chain cannot be built: {error}") from None


class SourceWindow:
    """Frames ``indices`` of a stateless source, perceived with a chain built once by
    the caller: how the ``ray`` engine splits one image folder or dataset among actors
    that each load the models once. A :class:`FrameSource` itself (``first_index``
    keeps ``every_n`` on the source's own frame numbers); its ``stats()`` count only
    this window's reads."""

    stateless = True

    def __init__(self, source: Any, chain: PerceptionChain, indices: range) -> None:
        self.source, self.chain, self.indices = source, chain, indices
        self.name, self.kind, self.uri = source.name, source.kind, source.uri
        self.topic = source.topic
        self.total: int | None = len(indices)
        self.first_index = indices.start
        self._before = dict(source.stats())

    def __iter__(self) -> Iterator[SourceFrame]:
        return self.source.frames(self.chain, self.indices)

    def stats(self) -> dict[str, Any]:
        now = self.source.stats()
        return {key: value - self._before.get(key, 0) for key, value in now.items()
                if isinstance(value, int) and key in WINDOW_COUNTERS}

    def spec(self) -> dict[str, Any]:
        return {**self.source.spec(), "window": [self.indices.start, self.indices.stop]}


#: Reader statistics that count reads (summed over windows); the others describe the
#: whole source and are taken from it.
WINDOW_COUNTERS = ("unreadable",)


def source_name(path: str | Path) -> str:
    """A key-safe name for a bag path: its directory (or file stem) name."""
    path = Path(path)
    stem = path.stem if path.suffix in (".db3", ".mcap") else path.name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "bag"


def required_roles(spec: PerceptionSpec) -> tuple[str, ...]:
    """The optional bag topics (``BagTopics`` roles) a chain cannot do without: depth
    for sensor depth, the instance image and labels for a family whose class says it
    reads them (the simulation detector or segmenter, and plugins extending them)."""
    roles = ("depth",) if spec.depth_estimator == "sensor" else ()
    if needs_instances(spec):  # a plugin that cannot load needs nothing: the chain says why
        roles += ("instances", "labels")
    return roles


class BagSource:
    """The frames of a rosbag2 (sqlite3 or mcap) through the perception chain that
    ``perception`` names (default: the simulation chain, instance image + labels JSON;
    see ``io.bags`` for the topics), looking for ``prompts``, with depth held to the
    range of ``inputs`` (default: the node's) as the node holds it.

    Opening checks that the bag is readable and has the rgb topic (DataIOError). The
    chain is built when iteration starts (once per pass over the bag); a frame that
    lacks a topic the chain needs (:func:`required_roles`) fails with the reason.
    """

    kind = "rosbag2"

    def __init__(self, path: str | Path, topics: BagTopics = BagTopics(),
                 name: str | None = None, *, perception: PerceptionSpec = SIMULATION,
                 prompts: Sequence[str] = (), inputs: InputSettings = DEFAULT_INPUTS
                 ) -> None:
        self.path = Path(path)
        self.topics = topics
        self.perception = perception
        self.prompts = tuple(prompts)
        self.inputs = inputs
        self.name = name or source_name(self.path)
        self.uri = str(self.path.resolve())
        self.topic = topics.rgb
        self._reader = BagFrameReader(self.path, topics)
        summary = bag_topics_summary(self.path)
        self.total: int | None = summary.get(topics.rgb, ("", None))[1]
        listing = ", ".join(sorted(summary)) or "none"
        self._missing = {role: f"topic {getattr(topics, role)} is not in the bag (topics: "
                         f"{listing})" for role in _ROLES if getattr(topics, role) not in summary}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> BagSource:
        return cls(spec["path"], BagTopics(**spec["topics"]), spec["name"],
                   perception=PerceptionSpec.from_dict(spec.get("perception", {})),
                   prompts=spec.get("prompts", ()), inputs=inputs_from_spec(spec))

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.path), "name": self.name,
                "topics": asdict(self.topics), "perception": asdict(self.perception),
                "prompts": list(self.prompts), "inputs": asdict(self.inputs)}

    def stats(self) -> dict[str, Any]:
        return asdict(self._reader.stats)

    def __iter__(self) -> Iterator[SourceFrame]:
        chain = self._chain()
        required = required_roles(self.perception)
        for bag_frame in self._reader:
            missing = [role for role in required
                       if getattr(bag_frame, _ROLES[role][1]) is None]
            if missing:
                yield self._lacking(bag_frame, missing[0])
                continue
            yield self._perceived(chain, bag_frame)

    def _chain(self) -> PerceptionChain:
        return perception_chain(self.perception)

    def _lacking(self, bag_frame: BagFrame, role: str) -> SourceFrame:
        code, _, message = _ROLES[role]
        why = self._missing.get(role) or f"none matched on {getattr(self.topics, role)}"
        return SourceFrame(f"{self.name}/{bag_frame.stamp_ns}", bag_frame.stamp_ns, None,
                           None, bag_frame.warnings, f"{message}: {why}; {_HINTS[role]}", code)

    def _perceived(self, chain: PerceptionChain, bag_frame: BagFrame) -> SourceFrame:
        key = f"{self.name}/{bag_frame.stamp_ns}"
        try:
            perceived = perceive_frame(chain, bag_frame, self.prompts, self.inputs)
        except (CoreError, DataIOError) as error:
            return SourceFrame(key, bag_frame.stamp_ns, None, None, bag_frame.warnings,
                               str(error), "invalid")
        except PerceptionError as error:
            return SourceFrame(key, bag_frame.stamp_ns, None, None, bag_frame.warnings,
                               str(error), "perception")
        return SourceFrame(key, bag_frame.stamp_ns, perceived.capture, perceived.observations,
                           bag_frame.warnings)


def inputs_from_spec(spec: Mapping[str, Any]) -> InputSettings:
    """A source spec's input settings (the default where the spec has none)."""
    return InputSettings(**spec.get("inputs", {}))


def open_bags(bags: Iterable[str | Path], topics: BagTopics, *,
              perception: PerceptionSpec = SIMULATION, prompts: Sequence[str] = (),
              inputs: InputSettings = DEFAULT_INPUTS) -> list[BagSource]:
    """Open every bag first, so a typo fails before anything is written; names must
    be unique (they prefix the keys). The chain is built once here too, so a chain
    that cannot be built (weights missing, a plugin that does not import) raises
    PerceptionError before anything is written; each source builds its own when it
    runs (in a Ray worker, from its spec)."""
    sources = [BagSource(bag, topics, perception=perception, prompts=prompts, inputs=inputs)
               for bag in bags]
    names = [s.name for s in sources]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataIOError(f"bags must have distinct names (they prefix every record id); "
                          f"repeated: {', '.join(repeated)}; rename or copy one of them")
    build_chain(perception)
    return sources

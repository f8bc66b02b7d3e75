"""The settings that decide a dataset's content: :class:`Bag2DatasetConfig`.

Its own module because every other part needs it: the engines rebuild it from its
JSON settings in worker processes, and the writer records the settings in
progress.json and the card (a directory resumes only with the same settings).

The settings carry a version (:data:`SETTINGS_VERSION`); those of an older version are
read as this one spells them (:func:`current_settings`), so a directory written before
a rename still resumes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any

from ...core.pipeline import PipelineConfig
from ...core.relations import Margins
from ...core.vqa import SynthesisConfig
from ...io.bags import BagTopics
from ...io.datasets import IMAGE_FORMATS
from ...io.errors import DataIOError
from ...perception.factories import PerceptionSpec, current_fields
from ...perception.types import InputSettings
from .filters import FrameFilters
from .vocabulary import VocabularySpec

#: The version of :meth:`Bag2DatasetConfig.settings` (key ``settings_version``). 2: the
#: perception keys are the spatial node's parameter names (issue 20). 1 (no key): four
#: of them spelled as before (``depth``, ``runtime``, ``device``, ``score_threshold``;
#: ``perception.factories.OLD_FIELD_NAMES``), still read.
SETTINGS_VERSION = 2


@dataclass(frozen=True)
class Bag2DatasetConfig:
    """Everything that decides a dataset's content (recorded in progress.json and the
    card; a directory resumes only with the same settings).

    ``perception``: the chain every frame goes through (default: the simulation chain,
    recorded depth + instance image + labels), ``prompts`` what it looks for (an empty
    tuple: everything the detector names). ``vocabulary``: for image sources, a
    captioner whose caption phrases are added to each image's prompts (see
    :mod:`.vocabulary`; off by default). ``every_n``: keep every n-th frame of each
    source (the others are not processed at all: the tracker sees the kept frames
    only). Images are written as ``image_format`` ("jpg" at ``jpeg_quality``, or "png").
    ``inputs``: how frames become perception inputs, the valid depth range (default:
    the spatial node's ``depth_min_m`` / ``depth_max_m``); depth outside it, recorded
    or estimated, is invalid and measures nothing.
    """

    synthesis: SynthesisConfig = field(default_factory=SynthesisConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    topics: BagTopics = field(default_factory=BagTopics)
    perception: PerceptionSpec = field(default_factory=PerceptionSpec)
    prompts: tuple[str, ...] = ()
    inputs: InputSettings = field(default_factory=InputSettings)
    vocabulary: VocabularySpec = field(default_factory=VocabularySpec)
    #: Which frames make records (image checks, CLIP tags, floor, object count).
    filters: FrameFilters = field(default_factory=FrameFilters)
    every_n: int = 1
    image_format: str = "jpg"
    jpeg_quality: int = 95
    shard_size: int = 1000

    def __post_init__(self) -> None:
        if isinstance(self.prompts, str) or not all(isinstance(p, str) for p in self.prompts):
            raise DataIOError(f"prompts must be a sequence of strings, got {self.prompts!r}")
        object.__setattr__(self, "prompts", tuple(self.prompts))
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
        # Filters, the vocabulary and the input settings appear only when set, so a
        # dataset written before they existed resumes with the same settings.
        filters = {} if self.filters == FrameFilters() else {
            "filters": {**asdict(self.filters), "include_tags": list(self.filters.include_tags),
                        "exclude_tags": list(self.filters.exclude_tags)}}
        vocabulary = {"vocabulary": asdict(self.vocabulary)} if self.vocabulary.model else {}
        inputs = {} if self.inputs == InputSettings() else {"inputs": asdict(self.inputs)}
        margins = asdict(s.margins)  # the age limit, too, only when set (issue 21)
        if margins["max_detection_age_s"] == Margins().max_detection_age_s:
            del margins["max_detection_age_s"]
        return {
            "settings_version": SETTINGS_VERSION,
            "synthesis": {"category_weights": weights, "qa_per_image": s.qa_per_image,
                          "units": s.units, "qualitative_fraction": s.qualitative_fraction,
                          "seed": s.seed, "multi_turn": s.multi_turn,
                          "margins": margins},
            "pipeline": asdict(self.pipeline),
            "topics": asdict(self.topics),
            "perception": asdict(self.perception),
            "prompts": list(self.prompts),
            "every_n": self.every_n,
            "image_format": self.image_format,
            "jpeg_quality": self.jpeg_quality,
            **filters,
            **vocabulary,
            **inputs,
        }

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], shard_size: int = 1000
                      ) -> Bag2DatasetConfig:
        """The config of :meth:`settings`, of this version or an older one."""
        settings = current_settings(settings)
        s = dict(settings["synthesis"])
        synthesis = SynthesisConfig(
            category_weights=s["category_weights"], qa_per_image=s["qa_per_image"],
            units=s["units"], qualitative_fraction=s["qualitative_fraction"], seed=s["seed"],
            multi_turn=s["multi_turn"], margins=Margins(**s["margins"]))
        return cls(synthesis=synthesis, pipeline=_from_dict(PipelineConfig, settings["pipeline"]),
                   topics=BagTopics(**settings["topics"]),
                   perception=PerceptionSpec(**settings["perception"]),
                   prompts=tuple(settings["prompts"]), every_n=settings["every_n"],
                   vocabulary=_from_dict(VocabularySpec, settings.get("vocabulary", {})),
                   filters=_from_dict(FrameFilters, settings.get("filters", {})),
                   inputs=_from_dict(InputSettings, settings.get("inputs", {})),
                   image_format=settings["image_format"],
                   jpeg_quality=settings["jpeg_quality"], shard_size=shard_size)


def current_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` as this version writes them (see :data:`SETTINGS_VERSION`): an older
    version's upgraded, this version's as they are. DataIOError for a newer version, or
    perception settings that name one field in both spellings."""
    version = settings.get("settings_version", 1)
    if not isinstance(version, int) or not 1 <= version <= SETTINGS_VERSION:
        raise DataIOError(f"settings version {version!r} is not one this spatial_vqa_ros "
                          f"reads (1 to {SETTINGS_VERSION}): use the version that wrote "
                          "them, or a new output directory")
    if version == SETTINGS_VERSION:
        return dict(settings)
    perception = settings.get("perception")
    try:
        perception = current_fields(perception) if isinstance(perception, Mapping) else perception
    except ValueError as error:
        raise DataIOError(f"settings version 1: {error}") from None
    return {**settings, "settings_version": SETTINGS_VERSION, "perception": perception}


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

"""Caption-derived prompts for the image sources (``--vocabulary-model``).

Why: images of unknown scenes come without a label list, and an open-vocabulary
detector finds only what it is asked for. With a vocabulary model (Florence-2: a
registry name such as ``florence2_base``, or a local path) each image's prompts are the
fixed prompts (``--labels``, may be none) followed by the noun phrases of its own
caption (:class:`~spatial_vqa_ros.perception.families.florence2.Florence2Vocabulary`).
The caption, its phrases and the prompts used go into the frame's provenance, so every
record says where its labels came from. An image that ends with no prompt at all is
skipped as ``no_vocabulary`` (counted with the filters' reasons).

The model loads once per source object (in the process that iterates it: once per
Ray actor), from the chain's ``models_dir`` and ``device``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ...core.capture import Observations
from ...io.errors import DataIOError
from ...perception.errors import PerceptionError
from ...perception.factories import PerceptionSpec

__all__ = ["FIXED_PROMPTS_ONLY", "NO_VOCABULARY", "CaptionVocabulary", "VocabularySpec",
           "check_vocabulary_model", "with_vocabulary"]

#: The skip reason of an image that has no prompt (no fixed one, no caption phrase).
NO_VOCABULARY = "no_vocabulary"


@dataclass(frozen=True)
class VocabularySpec:
    """The vocabulary option: ``model`` a registry name or path ("" = off), at most
    ``max_phrases`` caption phrases per image."""

    model: str = ""
    max_phrases: int = 8

    def __post_init__(self) -> None:
        if not isinstance(self.model, str):
            raise DataIOError(f"the vocabulary model must be a name or path, got "
                              f"{self.model!r}")
        if self.max_phrases < 1:
            raise DataIOError(f"the vocabulary's max_phrases must be >= 1, got "
                              f"{self.max_phrases}")


#: No vocabulary model: the fixed prompts only (the default).
FIXED_PROMPTS_ONLY = VocabularySpec()


def check_vocabulary_model(vocabulary: VocabularySpec, perception: PerceptionSpec) -> None:
    """PerceptionError (naming ``spatial-vqa models pull``) when a vocabulary model is set
    but its weights are not there: checked before anything is written."""
    if vocabulary.model:
        from ...perception.models.snapshots import resolve_model_dir

        resolve_model_dir(vocabulary.model, models_dir=perception.models_dir or None)


class CaptionVocabulary:
    """The prompts of each image of a source: ``fixed`` + its caption phrases; with no
    model, the fixed prompts as they are."""

    def __init__(self, spec: VocabularySpec, perception: PerceptionSpec) -> None:
        self.spec = spec
        self.model = spec.model
        self.perception = perception
        self._loaded: Any = None

    def load(self) -> None:
        """Load the model now (once); DataIOError, like the chain's, when it cannot be."""
        if not self.model or self._loaded is not None:
            return
        from ...perception.families.florence2.adapter import Florence2Vocabulary
        from ...perception.models.snapshots import resolve_model_dir

        try:
            directory = resolve_model_dir(self.model,
                                          models_dir=self.perception.models_dir or None)
            self._loaded = Florence2Vocabulary.from_pretrained(
                directory, device=self.perception.perception_device,
                max_phrases=self.spec.max_phrases)
        except PerceptionError as error:
            raise DataIOError(f"the vocabulary model cannot be loaded: {error}") from None

    def prompts(self, rgb: np.ndarray, fixed: Sequence[str]
                ) -> tuple[tuple[str, ...], dict[str, object]]:
        """(prompts, provenance entries) of one image; PerceptionError when the model
        fails on it (the frame fails alone, as when the chain does)."""
        if not self.model:
            return tuple(fixed), {}
        self.load()
        try:
            described = self._loaded.describe(rgb)
        except PerceptionError:
            raise
        except Exception as error:  # a model's own exception: this frame fails, not the run
            raise PerceptionError(f"vocabulary ({self._loaded.name}) failed: "
                                  f"{type(error).__name__}: {error}") from error
        fixed_keys = {p.strip().lower() for p in fixed}
        prompts = (*fixed, *(p for p in described.phrases if p not in fixed_keys))
        return prompts, {"vocabulary_model": self._loaded.name,
                         "caption": described.caption,
                         "caption_phrases": list(described.phrases),
                         "prompts": list(prompts)}


def with_vocabulary(observations: Observations, entries: Mapping[str, object]
                    ) -> Observations:
    """``observations`` with the vocabulary's provenance entries added (if any)."""
    if not entries:
        return observations
    return replace(observations, provenance={**observations.provenance, **entries})

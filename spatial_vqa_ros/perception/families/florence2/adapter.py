"""Florence-2 (``Florence2ForConditionalGeneration``): a per-image vocabulary from a caption.

Why: an open-vocabulary detector (OWLv2, Grounding DINO) finds only what it is asked
for, and an image collection of unknown scenes comes with no label list. Florence-2
captions the image (``<CAPTION>``, or ``<DETAILED_CAPTION>`` for longer ones), then
grounds that caption (``<CAPTION_TO_PHRASE_GROUNDING>``): the phrases it can place in
the image are the things the caption names ("a wooden table", "two chairs"). Those
phrases, normalised by :func:`normalise_phrases`, become the image's prompts.

Both steps are the transformers ``Florence2Processor``'s own prompts and parsing
(``post_process_generation``); generation is deterministic beam search (3 beams, as
the authors' examples), captions capped at 64 new tokens. Markup the model leaves in a
phrase (``<loc_12>``) is not a label and is dropped.

torch and transformers are imported when a model is loaded, not on import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PerceptionError
from ...types import check_rgb
from ..common import load_errors, load_failed, snapshot_config

__all__ = ["CAPTION_TASKS", "HUB_ID", "Florence2Vocabulary", "ImageVocabulary",
           "normalise_phrases"]

#: The native-transformers conversion of microsoft/Florence-2-base (the checkpoint the
#: transformers documentation of Florence2 uses; the microsoft repository needs remote
#: code, which is never run here).
HUB_ID = "florence-community/Florence-2-base"
CAPTION_TASKS = ("<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>")
GROUNDING_TASK = "<CAPTION_TO_PHRASE_GROUNDING>"
#: Leading words dropped from a phrase ("a red mug" -> "red mug").
ARTICLES = frozenset({"a", "an", "the"})
#: What a label may hold after normalisation: a letter first, then letters, digits,
#: spaces, hyphens and apostrophes (anything else is markup or noise).
_LABEL = re.compile(r"[a-z][a-z0-9' -]*")
_MARKUP = re.compile(r"<[^>]*>")


def normalise_phrases(phrases: Iterable[str], max_phrases: int) -> list[str]:
    """Detector prompts from grounded phrases, in order: lower case, outer whitespace and
    punctuation stripped, inner whitespace collapsed, leading articles removed; phrases
    with markup or no letter dropped; each once; at most ``max_phrases``."""
    if max_phrases < 1:
        raise PerceptionError(f"max_phrases must be >= 1, got {max_phrases}")
    kept: dict[str, None] = {}
    for phrase in phrases:
        words = phrase.lower().strip(" \t\n.,;:!?\"'()").split()
        while words and words[0] in ARTICLES:
            words = words[1:]
        label = " ".join(words)
        if label and _LABEL.fullmatch(label):
            kept.setdefault(label)
        if len(kept) == max_phrases:
            break
    return list(kept)


@dataclass(frozen=True)
class ImageVocabulary:
    """What Florence-2 said about one image: its ``caption`` and the normalised
    ``phrases`` of it that were grounded (the prompts; may be empty)."""

    caption: str
    phrases: tuple[str, ...]


class Florence2Vocabulary:
    """Caption -> grounded noun phrases with Florence-2. ``model``: a loaded
    ``Florence2ForConditionalGeneration``; ``processor``: its ``Florence2Processor``;
    ``max_phrases``: the most prompts an image gets; ``caption_task``: one of
    :data:`CAPTION_TASKS`; ``max_new_tokens``: the caption's budget (the grounding
    output, phrases plus four location tokens per box, gets four times as many)."""

    def __init__(self, model: Any, processor: Any, *, name: str = "florence2",
                 device: str = "cpu", max_phrases: int = 8, caption_task: str = "<CAPTION>",
                 max_new_tokens: int = 64, num_beams: int = 3) -> None:
        import torch

        if caption_task not in CAPTION_TASKS:
            raise PerceptionError(f"caption_task must be one of {CAPTION_TASKS}, got "
                                  f"{caption_task!r}")
        if min(max_phrases, max_new_tokens, num_beams) < 1:
            raise PerceptionError(f"max_phrases, max_new_tokens and num_beams must be >= 1, "
                                  f"got {max_phrases}, {max_new_tokens}, {num_beams}")
        self.name = name
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.processor = processor
        self.max_phrases = int(max_phrases)
        self.caption_task = caption_task
        self.max_new_tokens = int(max_new_tokens)
        self.num_beams = int(num_beams)

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu",
                        max_phrases: int = 8, **options: Any) -> Florence2Vocabulary:
        """Load from a local snapshot (never downloads, no remote code). ``device``:
        "auto", "cpu", "cuda[:N]"; ``options``: the constructor's."""
        from ...factories import torch_device

        directory, config = snapshot_config(model_dir, "Florence-2", HUB_ID)
        if config.get("model_type") != "florence2":
            raise PerceptionError(f"{directory} holds a {config.get('model_type')!r} model, "
                                  f"not Florence-2 (model_type 'florence2', e.g. {HUB_ID}; "
                                  "the microsoft/ repositories need remote code: use the "
                                  "florence-community conversion)")
        device = torch_device(device)
        from transformers import Florence2ForConditionalGeneration, Florence2Processor

        try:
            processor = Florence2Processor.from_pretrained(directory, local_files_only=True)
            model = Florence2ForConditionalGeneration.from_pretrained(
                directory, local_files_only=True, dtype="float32")
        except load_errors() as error:
            raise load_failed("Florence-2", directory, HUB_ID, error) from None
        parsers = processor.post_processor_config or {}
        if not {"pure_text", "phrase_grounding"} <= set(parsers):
            raise load_failed("Florence-2", directory, HUB_ID, "its processor_config.json "
                              "has no post_processor_config for captions and grounding")
        options.setdefault("name", f"florence2:{directory.name}")
        return cls(model, processor, device=str(device), max_phrases=max_phrases, **options)

    def describe(self, rgb: np.ndarray) -> ImageVocabulary:
        """The caption of ``rgb`` and its grounded phrases (normalised, at most
        ``max_phrases``; none when the caption is empty or nothing in it was grounded)."""
        from PIL import Image

        check_rgb(rgb)
        image = Image.fromarray(rgb)
        caption = self._generate(image, self.caption_task, "", self.max_new_tokens)
        caption = " ".join(_MARKUP.sub(" ", str(caption)).split())
        if not caption:
            return ImageVocabulary("", ())
        grounded = self._generate(image, GROUNDING_TASK, caption, 4 * self.max_new_tokens)
        labels = grounded.get("labels", []) if isinstance(grounded, dict) else []
        return ImageVocabulary(caption, tuple(normalise_phrases(labels, self.max_phrases)))

    def phrases(self, rgb: np.ndarray) -> list[str]:
        """The prompts Florence-2 gives ``rgb`` (see :meth:`describe`)."""
        return list(self.describe(rgb).phrases)

    def _generate(self, image: Any, task: str, text_input: str, max_new_tokens: int) -> Any:
        """One task's parsed answer (``post_process_generation``)."""
        import torch

        encoded = self.processor(text=task + text_input, images=image, return_tensors="pt")
        with torch.inference_mode():
            ids = self.model.generate(
                input_ids=encoded["input_ids"].to(self.device),
                attention_mask=encoded["attention_mask"].to(self.device),
                pixel_values=encoded["pixel_values"].to(self.device, self.model.dtype),
                max_new_tokens=max_new_tokens, num_beams=self.num_beams, do_sample=False)
        text = self.processor.batch_decode(ids, skip_special_tokens=False)[0]
        return self.processor.post_process_generation(
            text, task=task, image_size=(image.width, image.height))[task]

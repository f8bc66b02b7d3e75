"""Grounding DINO and MM Grounding DINO: open-vocabulary boxes for text prompts.

Why this family: it reads all prompts as one text, fused with the image in every layer,
so multi-word phrases ("a remote control", "the red cup") are grounded as phrases; it is
the other widely used open-vocabulary detector beside OWLv2. MM Grounding DINO (the same
architecture retrained by OpenMMLab, ``model_type`` ``mm-grounding-dino``) loads through
the same code: the model class is chosen from the snapshot's config, and the processor is
``GroundingDinoProcessor`` for both.

How prompts become labels: the prompts are joined as the model was trained, lowercase,
each ending with ``.`` ("a cat. a remote control."), and the processor's
``post_process_grounded_object_detection`` gives boxes and scores. Its phrase text can
come back partial ("remote") or merged ("cat remote control"), so each box is mapped back
by token position instead: a prompt owns the tokens of its words in the joined text, the
box goes to the prompt with the largest share of its tokens above ``text_threshold``
(ties: the higher mean token probability), and a box that lights no prompt's token is
dropped. Scores are the processor's (the best token probability).

The text encoder reads 256 tokens. Longer label lists are split into several passes, each
as many whole prompts as fit (each pass runs the whole model again; some 60 labels of one
or two words fit in one); a single prompt longer than that is refused with a
PerceptionError. Class-wise NMS (off with ``nms_threshold=None``) removes a second box on
the same object and label, as Grounded-SAM does after Grounding DINO.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ...errors import PerceptionError
from ...types import Detections, SensorInputs, check_rgb
from ..common import (
    PromptedDetector,
    check_prompts,
    class_nms,
    load_failed,
    load_snapshot,
    snapshot_config,
)

HUB_ID = "IDEA-Research/grounding-dino-tiny"
#: config ``model_type`` -> (transformers model class, name prefix).
MODEL_CLASSES = {"grounding-dino": ("GroundingDinoForObjectDetection", "grounding_dino"),
                 "mm-grounding-dino": ("MMGroundingDinoForObjectDetection", "mm_grounding_dino")}
# '.' ends a phrase and '?' is a special token to the model: neither may sit inside one.
_SEPARATORS = re.compile(r"[.?]")
#: Token ids the model hard-codes (BERT's [CLS], [SEP], '.'): the tokenizer must agree.
_FIXED_IDS = {"[CLS]": 101, "[SEP]": 102, ".": 1012}


def phrase_of(prompt: str) -> str:
    """A prompt as Grounding DINO reads one: lowercase, no '.' or '?', single spaces."""
    return " ".join(_SEPARATORS.sub(" ", prompt.lower()).split())


class TextPass(NamedTuple):
    """One forward pass's text: the joined phrases, the prompts they came from (indices
    into the label list), and for each token the prompt it belongs to (-1: [CLS], [SEP],
    the '.' separators)."""

    text: str
    prompts: tuple[int, ...]
    token_prompt: np.ndarray


class _Found(NamedTuple):
    xyxy: np.ndarray
    scores: np.ndarray
    prompts: np.ndarray


def assign_prompts(token_probs: np.ndarray, token_prompt: np.ndarray, n_prompts: int,
                   text_threshold: float) -> np.ndarray:
    """(N,) prompt index of each box, -1 for none. ``token_probs``: (N, T) sigmoid token
    probabilities; ``token_prompt``: (T,) the prompt of each token, -1 for none. A box goes
    to the prompt with the largest share of its tokens above ``text_threshold``; ties go to
    the higher mean probability over the prompt's tokens."""
    probs = np.asarray(token_probs, np.float64)
    if not n_prompts or not len(probs):
        return np.full(len(probs), -1, np.int64)
    width = min(probs.shape[1], len(token_prompt))
    probs, owner = probs[:, :width], np.asarray(token_prompt)[:width]
    onehot = (owner[:, None] == np.arange(n_prompts)[None, :]).astype(np.float64)  # (T, P)
    span = np.maximum(onehot.sum(axis=0), 1.0)
    share = ((probs > text_threshold) @ onehot) / span  # (N, P)
    mean = (probs @ onehot) / span
    best = share.max(axis=1)
    tied = np.isclose(share, best[:, None]) & (share > 0)
    chosen = np.where(tied, mean, -1.0).argmax(axis=1)
    return np.where(best > 0, chosen, -1).astype(np.int64)


def model_class_of(directory: Path, config: dict) -> tuple[str, str]:
    """(transformers model class, name prefix) of a snapshot's config; PerceptionError
    for a model of another family."""
    model_type = config.get("model_type")
    if model_type not in MODEL_CLASSES:
        raise PerceptionError(f"{directory} holds a {model_type!r} model, not Grounding "
                              f"DINO (model_type one of {sorted(MODEL_CLASSES)})")
    return MODEL_CLASSES[model_type]


def check_tokenizer(processor: Any, directory: Path) -> None:
    """Refuse a tokenizer that does not give the ids the model hard-codes: without
    tokenizer files transformers builds an empty tokenizer, silently."""
    ids = processor.tokenizer.convert_tokens_to_ids(list(_FIXED_IDS))
    if ids != list(_FIXED_IDS.values()):
        raise load_failed("Grounding DINO", directory, HUB_ID, f"its tokenizer gives "
                          f"{dict(zip(_FIXED_IDS, ids))}, the model needs {_FIXED_IDS}: "
                          "tokenizer files missing?")


class GroundingDinoDetector(PromptedDetector):
    """Text prompts -> boxes with (MM) Grounding DINO. ``model``: a loaded
    ``GroundingDinoForObjectDetection`` or ``MMGroundingDinoForObjectDetection``;
    ``processor``: its ``GroundingDinoProcessor``. ``score_threshold``: the least box score
    kept; ``text_threshold``: the least token probability that ties a box to a prompt
    (the authors' defaults, 0.35 and 0.25); ``nms_threshold``: the IoU above which a
    lower-scored box of the same label is dropped (None: no suppression)."""

    def __init__(self, model: Any, processor: Any, *, name: str = "grounding_dino",
                 device: str = "cpu", score_threshold: float = 0.35, text_threshold: float = 0.25,
                 nms_threshold: float | None = 0.8) -> None:
        super().__init__(model, processor, name=name, device=device,
                         score_threshold=score_threshold, nms_threshold=nms_threshold,
                         thresholds={"text_threshold": text_threshold})
        self.text_threshold = float(text_threshold)
        #: Tokens the text encoder reads ([CLS] and [SEP] included): 256.
        self.max_text_tokens = int(model.config.max_text_len)
        self._plan: tuple[tuple[str, ...], list[TextPass]] | None = None

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu",
                        **options: Any) -> GroundingDinoDetector:
        """Load model and processor from a local snapshot (never downloads); the model
        class follows the config's ``model_type`` (Grounding DINO or MM Grounding DINO).
        ``options`` are the constructor's (name, thresholds)."""
        directory, config = snapshot_config(model_dir, "Grounding DINO", HUB_ID)
        class_name, prefix = model_class_of(directory, config)
        import transformers

        processor, model = load_snapshot(transformers.GroundingDinoProcessor,
                                         getattr(transformers, class_name), directory,
                                         "Grounding DINO", HUB_ID)
        check_tokenizer(processor, directory)
        options.setdefault("name", f"{prefix}:{directory.name}")
        return cls(model, processor, device=device, **options)

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        """Boxes (xyxy pixels, clipped to the image) labelled with the prompts."""
        from PIL import Image

        labels = check_prompts(prompts)
        check_rgb(inputs.rgb)
        height, width = inputs.rgb.shape[:2]
        image = Image.fromarray(inputs.rgb)
        found = [self._run(image, text_pass, (height, width)) for text_pass in self.plan(labels)]
        xyxy = np.concatenate([f.xyxy for f in found])
        scores = np.concatenate([f.scores for f in found])
        prompt = np.concatenate([f.prompts for f in found])
        keep = class_nms(xyxy, scores, prompt, self.nms_threshold)
        return Detections(xyxy[keep].astype(np.float32),
                          tuple(labels[int(k)] for k in prompt[keep]),
                          scores[keep].astype(np.float32)).clipped(width, height)

    def plan(self, labels: tuple[str, ...]) -> list[TextPass]:
        """The passes that look for ``labels``: whole prompts packed in order while the
        joined text fits the text encoder (cached for the last label list)."""
        if self._plan is not None and self._plan[0] == labels:
            return self._plan[1]
        phrases = [phrase_of(label) for label in labels]
        for label, phrase in zip(labels, phrases):
            if not phrase:
                raise PerceptionError(f"label {label!r} has no words to look for")
        groups: list[list[int]] = []
        for k in range(len(phrases)):
            if groups and self._fits([phrases[j] for j in [*groups[-1], k]]):
                groups[-1].append(k)
            elif self._fits([phrases[k]]):
                groups.append([k])
            else:
                raise PerceptionError(
                    f"label {labels[k]!r} is longer than the {self.max_text_tokens} tokens "
                    "Grounding DINO's text encoder reads: shorten it")
        passes = [self._text_pass([phrases[j] for j in group], tuple(group))
                  for group in groups]
        self._plan = (labels, passes)
        return passes

    def _fits(self, phrases: list[str]) -> bool:
        text = ". ".join(phrases) + "."
        return len(self.processor.tokenizer(text)["input_ids"]) <= self.max_text_tokens

    def _text_pass(self, phrases: list[str], prompts: tuple[int, ...]) -> TextPass:
        text = ". ".join(phrases) + "."
        starts = np.cumsum([0] + [len(p) + 2 for p in phrases[:-1]])  # "phrase. " apart
        offsets = np.asarray(self.processor.tokenizer(
            text, return_offsets_mapping=True)["offset_mapping"], np.int64).reshape(-1, 2)
        token_prompt = np.full(len(offsets), -1, np.int64)
        for local, (start, phrase) in enumerate(zip(starts, phrases)):
            inside = ((offsets[:, 0] >= start) & (offsets[:, 1] <= start + len(phrase))
                      & (offsets[:, 1] > offsets[:, 0]))
            token_prompt[inside] = prompts[local]
        return TextPass(text, prompts, token_prompt)

    def _run(self, image: Any, text_pass: TextPass, size_hw: tuple[int, int]) -> _Found:
        import torch

        encoded = self.processor(images=image, text=text_pass.text, return_tensors="pt")
        if encoded["input_ids"].shape[1] != len(text_pass.token_prompt):
            raise PerceptionError("the processor tokenised the prompts differently from the "
                                  "plan: the snapshot's tokenizer is not a BERT WordPiece one")
        with torch.inference_mode():
            outputs = self.model(**{k: v.to(self.device) for k, v in encoded.items()})
            found = self.processor.post_process_grounded_object_detection(
                outputs, encoded["input_ids"], threshold=self.score_threshold,
                text_threshold=self.text_threshold, target_sizes=[size_hw])[0]
            probs = outputs.logits[0].sigmoid()
            kept = probs.max(dim=-1).values > self.score_threshold  # the processor's choice
            token_probs = probs[kept][:, : len(text_pass.token_prompt)].float().cpu().numpy()
        prompt = assign_prompts(token_probs, text_pass.token_prompt,
                                int(text_pass.token_prompt.max(initial=-1)) + 1,
                                self.text_threshold)
        matched = prompt >= 0
        return _Found(found["boxes"].float().cpu().numpy()[matched],
                      found["scores"].float().cpu().numpy()[matched], prompt[matched])


__all__ = ["MODEL_CLASSES", "GroundingDinoDetector", "assign_prompts", "check_tokenizer",
           "model_class_of", "phrase_of"]

"""OWLv2 (``Owlv2ForObjectDetection``): open-vocabulary boxes for text prompts.

Why this family: a robot is asked about things no closed-set detector was trained on
("the blue mug", "the charger"); OWLv2 scores every image patch against every text query,
so any label list works. All prompts of a frame go through ONE forward pass (the queries
are batched, so the image encoder runs once), pre- and post-processing are the
transformers ``Owlv2Processor``'s own, and the labels returned are the prompts.

The trap this adapter exists to get right: the processor pads the image to a square
(bottom and right) before resizing, so the model's boxes are relative to that square of
side ``max(H, W)``, not to the image. They are scaled by the square's side and then
clipped to the real image. Each box gets its best query; boxes under ``score_threshold``
are dropped and class-wise non-maximum suppression keeps one box per object and label.

torch and transformers are imported when a detector is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PerceptionError
from ...types import Detections, SensorInputs
from ..common import (
    PromptedDetector,
    check_prompts,
    class_nms,
    encode_owl_query,
    load_failed,
    load_snapshot,
    snapshot_config,
)

HUB_ID = "google/owlv2-base-patch16-ensemble"


class Owlv2Detector(PromptedDetector):
    """Text prompts -> boxes with OWLv2. ``model``: a loaded ``Owlv2ForObjectDetection``;
    ``processor``: its ``Owlv2Processor``. ``score_threshold``: the least sigmoid score kept
    (OWLv2's scores are low: 0.1 is the usual cut); ``nms_threshold``: the IoU above which
    a lower-scored box of the same label is dropped (None: no suppression)."""

    def __init__(self, model: Any, processor: Any, *, name: str = "owlv2", device: str = "cpu",
                 score_threshold: float = 0.1, nms_threshold: float | None = 0.3) -> None:
        super().__init__(model, processor, name=name, device=device,
                         score_threshold=score_threshold, nms_threshold=nms_threshold)
        #: Tokens one query may have, start and end included (16 for OWLv2).
        self.max_text_tokens = int(model.config.text_config.max_position_embeddings)

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu",
                        **options: Any) -> Owlv2Detector:
        """Load model and processor from a local snapshot (never downloads). ``options``
        are the constructor's (name, score_threshold, nms_threshold)."""
        directory, config = snapshot_config(model_dir, "OWLv2", HUB_ID)
        if config.get("model_type") != "owlv2":
            raise PerceptionError(f"{directory} holds a {config.get('model_type')!r} model, "
                                  f"not OWLv2 (model_type 'owlv2', e.g. {HUB_ID})")
        from transformers import Owlv2ForObjectDetection, Owlv2Processor

        processor, model = load_snapshot(Owlv2Processor, Owlv2ForObjectDetection, directory,
                                         "OWLv2", HUB_ID)
        # Without tokenizer files transformers builds an empty tokenizer, silently. OWLv2
        # needs a query's first id > 0 (else it is padding) and its end token to be the
        # largest id (the text embedding is read there).
        tokenizer = processor.tokenizer
        ids = tokenizer("a")["input_ids"]
        if ids[0] <= 0 or ids[-1] != len(tokenizer) - 1 or len(tokenizer) > int(
                model.config.text_config.vocab_size):
            raise load_failed("OWLv2", directory, HUB_ID, "its tokenizer is not OWLv2's "
                              "CLIP tokenizer: tokenizer files missing?")
        options.setdefault("name", f"owlv2:{directory.name}")
        return cls(model, processor, device=device, **options)

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        """Boxes (xyxy pixels of the image, clipped to it) labelled with the prompts."""
        import torch

        labels, encoded = encode_owl_query(self.processor, inputs.rgb, prompts,
                                           self._check_lengths, "pt")
        height, width = inputs.rgb.shape[:2]
        with torch.inference_mode():
            outputs = self.model(**{k: v.to(self.device) for k, v in encoded.items()})
        return detections_from(self.processor, outputs, labels, (height, width),
                               score_threshold=self.score_threshold,
                               nms_threshold=self.nms_threshold)

    def _check_lengths(self, labels: tuple[str, ...]) -> None:
        check_label_lengths(self.processor.tokenizer, labels, self.max_text_tokens)


def check_label_lengths(tokenizer: Any, labels: tuple[str, ...], max_tokens: int) -> None:
    """PerceptionError naming every label longer than the text encoder reads (OWLv2
    would cut it silently)."""
    lengths = [len(ids) for ids in tokenizer(list(labels))["input_ids"]]
    too_long = [f"{label!r} ({n} tokens)" for label, n in zip(labels, lengths)
                if n > max_tokens]
    if too_long:
        raise PerceptionError(f"OWLv2 reads at most {max_tokens} tokens per label (start and "
                              f"end included): shorten {', '.join(too_long)}")


def detections_from(processor: Any, outputs: Any, labels: tuple[str, ...],
                    size_hw: tuple[int, int], *, score_threshold: float,
                    nms_threshold: float | None) -> Detections:
    """The network's output as Detections: the processor's post-processing on the
    zero-padded square (boxes are relative to it), class-wise NMS, clipped to the image.
    Shared by the torch and the ONNX Runtime adapters."""
    import torch

    height, width = size_hw
    side = max(height, width)
    with torch.inference_mode():
        found = processor.post_process_grounded_object_detection(
            outputs, threshold=score_threshold, target_sizes=[(side, side)])[0]
    xyxy = found["boxes"].float().cpu().numpy()
    scores = found["scores"].float().cpu().numpy()
    classes = found["labels"].cpu().numpy()
    keep = class_nms(xyxy, scores, classes, nms_threshold)
    return Detections(xyxy[keep].astype(np.float32),
                      tuple(labels[int(c)] for c in classes[keep]),
                      scores[keep].astype(np.float32)).clipped(width, height)


__all__ = ["HUB_ID", "Owlv2Detector", "check_label_lengths", "check_prompts", "class_nms",
           "detections_from"]

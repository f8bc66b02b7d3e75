"""OWL-ViT (``OwlViTForObjectDetection``): open-vocabulary boxes for text prompts.

Why this family beside OWLv2: OWL-ViT B/32 sees a 768 px image as 576 patches where
OWLv2 B/16 sees 960 px as 3600, so it is the detector a CPU can afford every frame
(the ``cpu_light`` preset); B/16 is the GPU's fast choice. All prompts of a frame go
through ONE forward pass (the queries are batched, the image encoder runs once); pre-
and post-processing are the snapshot's own ``OwlViTProcessor``.

The geometry differs from OWLv2's, and this is what the adapter must get right: OWL-ViT's
processor does NOT pad to a square; it resizes (squashes) the whole image to the square
input, so a predicted box is relative to the image in each axis and is scaled by
(width, height), not by the longer side. A processor that would crop (a
``shortest_edge`` resize followed by a centre crop) makes boxes relative to the crop:
such a snapshot is refused. Each box gets its best query; boxes under
``score_threshold`` are dropped and class-wise non-maximum suppression keeps one box per
object and label.

The ONNX Runtime adapter (:mod:`.onnx_adapter`) is this class around a stand-in for the
model, so both runtimes share this pre- and post-processing. torch and transformers are
imported when a detector is built.
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
    class_nms,
    encode_owl_query,
    load_errors,
    load_failed,
    snapshot_config,
)

__all__ = ["HUB_ID", "OwlViTDetector", "load_processor", "read_snapshot"]

#: The registry's ``owlvit_base_patch32`` (the cpu_light detector).
HUB_ID = "google/owlvit-base-patch32"
FAMILY = "OWL-ViT"


def read_snapshot(model_dir: str | Path) -> tuple[Path, dict]:
    """The snapshot's directory and config, refused unless it holds an OWL-ViT."""
    directory, config = snapshot_config(model_dir, FAMILY, HUB_ID)
    if config.get("model_type") != "owlvit":
        raise PerceptionError(f"{directory} holds a {config.get('model_type')!r} model, not "
                              f"OWL-ViT (model_type 'owlvit', e.g. {HUB_ID})")
    return directory, config


def load_processor(directory: Path, config: dict) -> Any:
    """The snapshot's ``OwlViTProcessor`` (PIL backend: no torchvision), checked for the
    two ways it can silently give wrong boxes: a tokenizer that is not CLIP's (missing
    tokenizer files make transformers build an empty one; OWL-ViT reads a query's
    embedding at its largest id and treats a first id of 0 as padding) and an image
    processor that crops instead of resizing the whole image."""
    from transformers import OwlViTProcessor

    try:
        processor = OwlViTProcessor.from_pretrained(directory, local_files_only=True,
                                                    backend="pil")
    except load_errors() as error:
        raise load_failed(FAMILY, directory, HUB_ID, error) from None
    tokenizer = processor.tokenizer
    ids = tokenizer("a")["input_ids"]
    vocab_size = int(config.get("text_config", {}).get("vocab_size", 49408))
    if ids[0] <= 0 or ids[-1] != len(tokenizer) - 1 or len(tokenizer) > vocab_size:
        raise load_failed(FAMILY, directory, HUB_ID, "its tokenizer is not OWL-ViT's CLIP "
                          "tokenizer: tokenizer files missing?")
    images = processor.image_processor
    size, crop = dict(images.size or {}), dict(getattr(images, "crop_size", None) or {})
    crops = getattr(images, "do_center_crop", False) and crop != {
        "height": size.get("height"), "width": size.get("width")}
    if not getattr(images, "do_resize", True) or not {"height", "width"} <= set(size) \
            or crops:
        raise PerceptionError(
            f"the image processor of {directory} does not resize the whole image to "
            f"height x width (size {size}, crop {crop if crops else 'none'}): boxes would "
            "be relative to a crop; use the checkpoint's own preprocessor_config.json")
    return processor


class OwlViTDetector(PromptedDetector):
    """Text prompts -> boxes with OWL-ViT. ``model``: a loaded
    ``OwlViTForObjectDetection`` (or a stand-in that is called alike); ``processor``: its
    ``OwlViTProcessor``. ``score_threshold``: the least sigmoid score kept (0.1, the
    authors' cut); ``nms_threshold``: the IoU above which a lower-scored box of the same
    label is dropped (None: no suppression); ``max_text_tokens``: tokens one query may
    have, start and end included (the text encoder's positions, 16)."""

    def __init__(self, model: Any, processor: Any, *, name: str = "owlvit",
                 device: str = "cpu", score_threshold: float = 0.1,
                 nms_threshold: float | None = 0.3, max_text_tokens: int = 16) -> None:
        super().__init__(model, processor, name=name, device=device,
                         score_threshold=score_threshold, nms_threshold=nms_threshold)
        if max_text_tokens < 3:
            raise PerceptionError(f"max_text_tokens must be >= 3, got {max_text_tokens}")
        self.max_text_tokens = int(max_text_tokens)

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu",
                        **options: Any) -> OwlViTDetector:
        """Model and processor from a local snapshot (never downloads). ``options`` are
        the constructor's (name, score_threshold, nms_threshold)."""
        directory, config = read_snapshot(model_dir)
        processor = load_processor(directory, config)
        from transformers import OwlViTForObjectDetection

        try:
            model = OwlViTForObjectDetection.from_pretrained(directory, local_files_only=True)
        except load_errors() as error:
            raise load_failed(FAMILY, directory, HUB_ID, error) from None
        options.setdefault("name", f"owlvit:{directory.name}")
        return cls(model, processor, device=device, max_text_tokens=int(
            model.config.text_config.max_position_embeddings), **options)

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        """Boxes (xyxy pixels of the image, clipped to it) labelled with the prompts,
        best first; every prompt goes through one forward pass."""
        import torch

        labels, encoded = encode_owl_query(self.processor, inputs.rgb, prompts,
                                           self._check_lengths, "pt")
        with torch.inference_mode():
            outputs = self.model(**{k: v.to(self.device) for k, v in encoded.items()})
            found = self.processor.post_process_grounded_object_detection(
                outputs, threshold=self.score_threshold, target_sizes=[inputs.size_hw])[0]
        xyxy = found["boxes"].float().cpu().numpy()
        scores = found["scores"].float().cpu().numpy()
        classes = found["labels"].cpu().numpy()
        keep = class_nms(xyxy, scores, classes, self.nms_threshold)
        height, width = inputs.size_hw
        return Detections(xyxy[keep].astype(np.float32),
                          tuple(labels[int(c)] for c in classes[keep]),
                          scores[keep].astype(np.float32)).clipped(width, height)

    def _check_lengths(self, labels: tuple[str, ...]) -> None:
        """PerceptionError naming every label longer than the text encoder reads (the
        tokenizer would cut it silently)."""
        lengths = [len(ids) for ids in self.processor.tokenizer(list(labels))["input_ids"]]
        too_long = [f"{label!r} ({n} tokens)" for label, n in zip(labels, lengths)
                    if n > self.max_text_tokens]
        if too_long:
            raise PerceptionError(f"OWL-ViT reads at most {self.max_text_tokens} tokens per "
                                  f"label (start and end included): shorten "
                                  f"{', '.join(too_long)}")

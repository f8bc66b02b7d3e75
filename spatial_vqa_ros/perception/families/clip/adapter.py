"""Zero-shot image tags from CLIP: how much an image looks like each text tag.

Why: an image collection holds pictures that make no spatial data (screenshots, close-ups
of text, outdoor panoramas when indoor data is wanted). VQASynth keeps an image when
CLIP says it matches an include tag and drops it when it matches an exclude tag; the
dataset builders here do the same before the expensive perception chain runs.

Probabilities: CLIP's logits are compared across the tags (softmax, as CLIP was trained:
the tags compete, so give more than one). Pre-processing is the checkpoint's own
processor (PIL backend). SigLIP (a sigmoid per tag) is not adapted: its tokenizer is a
SentencePiece model that the tests here cannot build, and untested code is not shipped.

torch and transformers are imported when a model is loaded, not on import.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PerceptionError
from ...types import check_rgb
from ..common import load_errors, load_failed, snapshot_config

__all__ = ["HUB_ID", "ClipTagger"]

HUB_ID = "openai/clip-vit-base-patch32"
#: config model_type -> (model class, processor class).
MODEL_TYPES = {"clip": ("CLIPModel", "CLIPProcessor")}


class ClipTagger:
    """Tag probabilities of an image. ``model``/``processor``: a loaded CLIP model and
    its processor."""

    def __init__(self, model: Any, processor: Any, *, name: str = "clip",
                 device: str = "cpu") -> None:
        self.model = model.to(device).eval()
        self.processor = processor
        self.name = name
        self.device = device

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu") -> ClipTagger:
        """Load from a local snapshot (never downloads, no remote code)."""
        import transformers

        directory, config = snapshot_config(model_dir, "CLIP", HUB_ID)
        model_type = config.get("model_type")
        if model_type not in MODEL_TYPES:
            raise PerceptionError(f"{directory} holds a {model_type!r} model; the image "
                                  f"filter runs {sorted(MODEL_TYPES)} models")
        model_name, processor_name = MODEL_TYPES[model_type]
        try:
            processor = getattr(transformers, processor_name).from_pretrained(
                directory, local_files_only=True, backend="pil")
            model = getattr(transformers, model_name).from_pretrained(directory,
                                                                      local_files_only=True)
        except load_errors() as error:
            raise load_failed("CLIP", directory, HUB_ID, error) from None
        return cls(model, processor, name=f"{model_type}:{directory.name}", device=device)

    def probabilities(self, rgb: np.ndarray, tags: Sequence[str]) -> np.ndarray:
        """(T,) float64: how well ``rgb`` matches each tag (see the module docstring)."""
        import torch

        check_rgb(rgb)
        tags = [t.strip() for t in tags]
        if not tags or not all(tags):
            raise PerceptionError("the image filter needs at least one non-empty tag")
        batch = self.processor(text=tags, images=rgb, return_tensors="pt", padding=True)
        with torch.inference_mode():
            logits = self.model(**batch.to(self.device)).logits_per_image[0].float()
        return torch.softmax(logits, -1).cpu().numpy().astype(np.float64)

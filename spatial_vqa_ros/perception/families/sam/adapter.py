"""Segment Anything (transformers ``SamModel``): a detector's boxes -> one mask per box.

Why this shape: the image encoder (a ViT at 1024 x 1024) costs nearly all the time and
the prompt/mask decoder very little, so a frame is encoded ONCE
(``get_image_embeddings``) and all of its boxes go through ONE decoder call as a
(1, N, 4) batch with ``multimask_output=False`` (one mask per box). The last frame's
embedding is kept: a second call on the same pixels (another prompt set, a re-query)
does not encode again. Pre- and post-processing are the family's own
``SamProcessor`` (the PIL image processor, so no torchvision is needed):
``image_processor`` resizes and pads the frame, and ``post_process_masks`` crops the
padding, resizes to the original size and binarises at its threshold. Only the box
rescale (original pixels -> the resized image) is written here, because the cached
embedding means the processor is not called again for a second box set; it is the
processor's own arithmetic and is tested against it.

SAM2 is its own family (:mod:`.sam2`): its processor needs torchvision, so its
pre-processing is reproduced in :mod:`.processing`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PerceptionError
from ...models.snapshots import corrupt_snapshot, pull_hint
from ...types import SensorInputs, check_masks, check_rgb
from ..common import LastFrameCache, check_boxes
from .input_size import at_input_size, resize_processor

__all__ = ["HUB_ID", "SamSegmenter"]

#: The checkpoint of the registry's ``sam_vit_base`` (ViT-B, Apache-2.0).
HUB_ID = "facebook/sam-vit-base"
_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
            "pytorch_model.bin.index.json")
_PROCESSOR_CONFIGS = ("processor_config.json", "preprocessor_config.json")


def _missing(model_dir: Path) -> str:
    """What a SAM snapshot directory lacks ('' when complete)."""
    if not model_dir.is_dir():
        return "not found"
    if not (model_dir / "config.json").is_file():
        return "incomplete (no config.json)"
    if not any((model_dir / name).is_file() for name in _WEIGHTS):
        return "incomplete (no weights: model.safetensors or pytorch_model.bin)"
    if not any((model_dir / name).is_file() for name in _PROCESSOR_CONFIGS):
        return "incomplete (no preprocessor_config.json)"
    return ""


def _pull_hint(model_dir: Path) -> str:
    return f"at {model_dir}: {pull_hint(model_dir, checkpoints=(HUB_ID,))}"


class SamSegmenter:
    """One mask per box from a loaded ``SamModel`` and its ``SamProcessor``.

    ``mask_threshold``: the logit above which a pixel is in the mask (None: the
    processor's ``post_process_masks`` default, 0.0). ``cache_embedding``: keep the last
    frame's image embedding, keyed on its pixels (a copy is compared, so a camera
    buffer reused in place is never mistaken for the frame it held before).
    """

    def __init__(self, model: Any, processor: Any, *, name: str = "sam", device: str = "cpu",
                 mask_threshold: float | None = None, cache_embedding: bool = True) -> None:
        self.model = model.to(device).eval()
        self.processor = processor
        self.name = name
        self.device = device
        self.mask_threshold = mask_threshold
        self.cache_embedding = cache_embedding
        #: (image embedding, original (H, W), resized (h, w)) of the last frame
        self._cache = LastFrameCache(cache_embedding)
        #: how many times the image encoder ran (for tests and timing reports)
        self.encoder_calls = 0

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu",
                        input_size: int = 0, **options: Any) -> SamSegmenter:
        """Load model + processor from a local snapshot (never downloads, no remote code).
        ``input_size``: the square model input in pixels, 0 for the checkpoint's own
        (:mod:`.input_size`: ``cpu_light`` runs 512). ``options`` go to the constructor
        (``mask_threshold``, ``cache_embedding``)."""
        model_dir = Path(model_dir)
        problem = _missing(model_dir)
        if problem:
            raise PerceptionError(f"SAM model {problem} {_pull_hint(model_dir)}")
        from transformers import SamModel, SamProcessor

        try:
            processor = SamProcessor.from_pretrained(model_dir, local_files_only=True,
                                                     backend="pil")
            model = SamModel.from_pretrained(model_dir, local_files_only=True)
        except Exception as error:  # a corrupt or foreign snapshot: many error types
            raise corrupt_snapshot(model_dir, error, checkpoints=(HUB_ID,)) from None
        name = f"sam:{model_dir.name}"
        if input_size:
            resized = at_input_size(model, input_size)
            if resized is not model:  # the name says the input differs from the checkpoint's
                model, processor = resized, resize_processor(processor, input_size)
                name = f"{name}@{input_size}px"
        return cls(model, processor, name=name, device=device, **options)

    def segment(self, inputs: SensorInputs, xyxy: np.ndarray,
                depth_m: np.ndarray | None) -> np.ndarray:
        """(N, H, W) bool masks for the pixel xyxy boxes of the original image; ``depth_m``
        is not used."""
        check_rgb(inputs.rgb)
        boxes = check_boxes(xyxy)
        height, width = inputs.size_hw
        if not len(boxes):
            return np.zeros((0, height, width), bool)
        import torch

        with torch.inference_mode():
            embedding, original_hw, resized_hw = self._embedding(inputs.rgb)
            input_boxes = torch.from_numpy(self.scale_boxes(boxes, original_hw, resized_hw))
            out = self.model(image_embeddings=embedding,
                             input_boxes=input_boxes[None].to(self.device),
                             multimask_output=False)
            kwargs = {} if self.mask_threshold is None else {"mask_threshold":
                                                             self.mask_threshold}
            masks = self.processor.post_process_masks(
                out.pred_masks.cpu(), [original_hw], [resized_hw], **kwargs)[0]
        return check_masks(masks[:, 0].numpy(), len(boxes), inputs.size_hw)

    @staticmethod
    def scale_boxes(boxes: np.ndarray, original_hw: tuple[int, int],
                    resized_hw: tuple[int, int]) -> np.ndarray:
        """Pixel xyxy of the original image -> of the resized model input, (N, 4) float64:
        ``SamProcessor``'s own arithmetic (float32 boxes, float64 scale per axis)."""
        scale_x = resized_hw[1] / original_hw[1]
        scale_y = resized_hw[0] / original_hw[0]
        return boxes.astype(np.float32).astype(np.float64) * np.array(
            [scale_x, scale_y, scale_x, scale_y])

    def _embedding(self, rgb: np.ndarray) -> tuple[Any, tuple[int, int], tuple[int, int]]:
        """The frame's image embedding (1, C, h, w), encoded once per distinct frame."""
        cached = self._cache.get(rgb)
        if cached is not None:
            return cached
        from PIL import Image

        encoded = self.processor.image_processor(Image.fromarray(rgb), return_tensors="pt")
        embedding = self.model.get_image_embeddings(
            encoded["pixel_values"].to(self.device, self.model.dtype))
        self.encoder_calls += 1
        original_hw = tuple(int(v) for v in encoded["original_sizes"][0])
        resized_hw = tuple(int(v) for v in encoded["reshaped_input_sizes"][0])
        return self._cache.put(rgb, (embedding, original_hw, resized_hw))

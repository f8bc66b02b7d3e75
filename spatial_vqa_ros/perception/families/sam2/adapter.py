"""SAM2 (transformers ``Sam2Model``): a detector's boxes -> one mask per box.

Why SAM2 beside SAM: its Hiera encoder is several times cheaper than SAM's ViT at the
same 1024 x 1024 input (hiera tiny vs ViT-B), with masks at least as good, which is
what a robot's frame budget needs. The transformers-native classes are used, not the
``sam2`` package (a third-party sdist that compiles CUDA code and sets up hydra
globally; see PERCEPTION.md).

As with SAM, a frame is encoded ONCE (``get_image_embeddings``: the three FPN levels the
decoder reads) and all of its boxes go through ONE decoder call as a (1, N, 4) batch
with ``multimask_output=False``; the last frame's encoding is kept for a second box set.

Pre- and post-processing are ``Sam2Processor``'s, reproduced without torchvision
(:mod:`.processing`; tested against the reference's outputs):

- the image is resized to the processor's square ``size`` (1024) without keeping its
  aspect, antialiased, then normalised with ImageNet mean and std;
- boxes scale from original pixels to that square per axis (``_normalize_coordinates``);
- the decoder's low-resolution logits (256 x 256) are resized to the original image
  (bilinear) and thresholded at ``mask_threshold`` (0).

EdgeTAM (``EdgeTamModel``, same interface) is not adapted: its timm backbone imports
torchvision, which does not import beside this machine's CPU torch.

torch and transformers are imported when a model is loaded or run, not on import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PerceptionError
from ...types import SensorInputs, check_masks, check_rgb
from ..common import LastFrameCache, check_boxes, load_checked_model
from ..processing import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageProcessing,
    processing_loader,
    resize_then_normalize,
)

__all__ = ["HUB_ID", "Sam2Segmenter", "load_processing", "scale_boxes"]

#: The checkpoint ``spatial-vqa models pull sam2_hiera_tiny`` fetches (Apache-2.0).
HUB_ID = "facebook/sam2.1-hiera-tiny"
FAMILY = "sam2"
#: The snapshot's SAM2 pre-processing (``Sam2ImageProcessor``'s defaults: ImageNet
#: statistics, 1024 x 1024).
load_processing = processing_loader(FAMILY, default_size_hw=(1024, 1024),
                                    default_mean=IMAGENET_MEAN, default_std=IMAGENET_STD)


def scale_boxes(xyxy: np.ndarray, original_hw: tuple[int, int],
                input_hw: tuple[int, int]) -> np.ndarray:
    """Pixel xyxy of the original image -> of the model's square input, (N, 4) float32:
    ``Sam2Processor``'s arithmetic (float32 boxes times a float scale per axis)."""
    boxes = check_boxes(xyxy)
    scale_x = np.float32(input_hw[1] / original_hw[1])
    scale_y = np.float32(input_hw[0] / original_hw[0])
    return boxes * np.array([scale_x, scale_y, scale_x, scale_y], np.float32)


def upscale_masks(low_res_logits: Any, original_hw: tuple[int, int],
                  mask_threshold: float) -> np.ndarray:
    """(N, 1, h, w) logits -> (N, H, W) bool: ``post_process_masks`` (bilinear to the
    original size, then ``> mask_threshold``)."""
    import torch

    logits = torch.as_tensor(low_res_logits, dtype=torch.float32)
    upscaled = torch.nn.functional.interpolate(logits, size=list(original_hw),
                                               mode="bilinear", align_corners=False)
    return (upscaled > mask_threshold)[:, 0].numpy()


class Sam2Segmenter:
    """One mask per box from a loaded ``Sam2Model``.

    ``processing``: the snapshot's pre-processing (:func:`load_processing`).
    ``mask_threshold``: the logit above which a pixel is in the mask (0.0, the
    processor's default). ``cache_embedding``: keep the last frame's encoding.
    """

    def __init__(self, model: Any, processing: ImageProcessing, *, name: str = FAMILY,
                 device: str = "cpu", mask_threshold: float = 0.0,
                 cache_embedding: bool = True) -> None:
        if not np.isfinite(mask_threshold):
            raise PerceptionError(f"mask_threshold must be finite, got {mask_threshold}")
        self.model = model.to(device).eval()
        self.processing = processing
        self.name = name
        self.device = device
        self.mask_threshold = float(mask_threshold)
        self._cache = LastFrameCache(cache_embedding)
        #: how many times the image encoder ran (for tests and timing reports)
        self.encoder_calls = 0

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu",
                        **options: Any) -> Sam2Segmenter:
        """Load the model and its pre-processing from a local snapshot (never downloads,
        no remote code). ``options`` go to the constructor."""
        directory, processing, model = load_checked_model(
            model_dir, family=FAMILY, label="SAM2", hub_id=HUB_ID, model_class="Sam2Model",
            load_processing=load_processing, runs_note=" (Sam2Model)")
        return cls(model, processing, name=f"{FAMILY}:{directory.name}", device=device,
                   **options)

    def segment(self, inputs: SensorInputs, xyxy: np.ndarray,
                depth_m: np.ndarray | None) -> np.ndarray:
        """(N, H, W) bool masks for the pixel xyxy boxes of the original image; ``depth_m``
        is not used."""
        check_rgb(inputs.rgb)
        original_hw = inputs.size_hw
        boxes = scale_boxes(xyxy, original_hw, self.processing.size_hw)
        if not len(boxes):
            return np.zeros((0, *original_hw), bool)
        import torch

        with torch.inference_mode():
            embeddings = self._embeddings(inputs.rgb)
            logits = self.decode(embeddings, boxes)
        return check_masks(upscale_masks(logits, original_hw, self.mask_threshold),
                           len(boxes), original_hw)

    def decode(self, embeddings: list[Any], boxes: np.ndarray) -> Any:
        """(N, 1, h, w) low-resolution mask logits for boxes in model-input pixels."""
        import torch

        out = self.model(image_embeddings=embeddings,
                         input_boxes=torch.from_numpy(boxes)[None].to(self.device),
                         multimask_output=False)
        return out.pred_masks[0].float().cpu()

    def _embeddings(self, rgb: np.ndarray) -> list[Any]:
        """The frame's three feature levels, encoded once per distinct frame."""
        cached = self._cache.get(rgb)
        if cached is not None:
            return cached
        pixel_values = resize_then_normalize(rgb, self.processing, device=self.device)
        embeddings = self.model.get_image_embeddings(pixel_values.to(self.model.dtype))
        self.encoder_calls += 1
        return self._cache.put(rgb, list(embeddings))

"""SAM 3's outputs as instances: ``Sam3Processor.post_process_instance_segmentation``'s
arithmetic reproduced with torch alone (its processor class needs torchvision; see
../processing.py), then turned into the chain's :class:`~...types.Detections`.

Per prompt (one batch row): score = sigmoid(query logit) x sigmoid(presence logit);
queries scoring above the threshold are kept; their boxes (relative xyxy) are scaled
to the image by (W, H, W, H); their mask logits go through sigmoid, are resized to the
image (bilinear, half-pixel centres) and kept where above ``mask_threshold``. Tested
against the processor's own outputs (``tests/perception/families/golden/``).

Instances whose mask is empty after thresholding are dropped: a mask is what the
chain measures, and an empty one measures nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...types import Detections


@dataclass(frozen=True)
class Instances:
    """One prompt's kept queries: ``scores`` (K,) float32, ``xyxy`` (K, 4) float32
    pixels, ``masks`` (K, H, W) bool, ``queries`` (K,) int64 (which query each was)."""

    scores: np.ndarray
    xyxy: np.ndarray
    masks: np.ndarray
    queries: np.ndarray


def instance_scores(pred_logits: Any, presence_logits: Any | None) -> Any:
    """(P, Q) scores: the query's sigmoid times its prompt's presence sigmoid."""
    scores = pred_logits.float().sigmoid()
    if presence_logits is not None:
        scores = scores * presence_logits.float().sigmoid()
    return scores


def scaled_boxes(pred_boxes: Any, size_hw: tuple[int, int]) -> Any:
    """(P, Q, 4) relative xyxy -> pixels of an image of ``size_hw`` (the processor's
    ``_scale_boxes``: times an integer (W, H, W, H))."""
    import torch

    height, width = size_hw
    scale = torch.tensor([width, height, width, height])[None, None]
    return pred_boxes.float() * scale.to(pred_boxes.device)


def instances(outputs: Any, size_hw: tuple[int, int], *, score_threshold: float,
              mask_threshold: float) -> list[Instances]:
    """Each prompt's instances (see the module docstring), in query order, as the
    processor returns them (empty masks not yet dropped)."""
    import torch

    scores = instance_scores(outputs.pred_logits, outputs.presence_logits)
    boxes = scaled_boxes(outputs.pred_boxes, size_hw)
    found = []
    for prompt in range(scores.shape[0]):
        keep = torch.nonzero(scores[prompt] > score_threshold).flatten()
        probabilities = outputs.pred_masks[prompt, keep].float().sigmoid()
        if len(keep):
            probabilities = torch.nn.functional.interpolate(
                probabilities[None], size=list(size_hw), mode="bilinear",
                align_corners=False)[0]
            masks = (probabilities > mask_threshold).cpu().numpy()
        else:
            masks = np.zeros((0, *size_hw), bool)
        found.append(Instances(scores[prompt, keep].cpu().numpy().astype(np.float32),
                               boxes[prompt, keep].cpu().numpy().astype(np.float32),
                               masks, keep.cpu().numpy().astype(np.int64)))
    return found


def detections_from(found: list[Instances], labels: tuple[str, ...],
                    unknown: tuple[str, ...], size_hw: tuple[int, int]) -> Detections:
    """Every prompt's non-empty instances as one Detections, labelled with their prompt,
    best score first (stable), masks attached."""
    if len(found) != len(labels):
        raise ValueError(f"{len(found)} prompts' instances for {len(labels)} labels")
    scores = np.concatenate([f.scores for f in found] + [np.zeros(0, np.float32)])
    xyxy = np.concatenate([f.xyxy for f in found] + [np.zeros((0, 4), np.float32)])
    masks = np.concatenate([f.masks for f in found] + [np.zeros((0, *size_hw), bool)])
    names = [label for f, label in zip(found, labels) for _ in range(len(f.scores))]
    keep = np.flatnonzero(masks.any(axis=(1, 2)))
    order = keep[np.argsort(-scores[keep], kind="stable")]
    return Detections(xyxy[order], tuple(names[k] for k in order), scores[order], unknown,
                      masks=masks[order])


__all__ = ["Instances", "detections_from", "instance_scores", "instances",
           "scaled_boxes"]

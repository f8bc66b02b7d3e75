"""What the transformers families share: the snapshot check that tells a user how to get
weights, the prompt and threshold checks, and class-wise non-maximum suppression in
numpy (torchvision is not a dependency: see ../shared/PERCEPTION.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PerceptionError
from ..models.registry import is_present
from ..models.snapshots import corrupt_snapshot, pull_hint


def check_prompts(prompts: Sequence[str]) -> tuple[str, ...]:
    """The prompts, stripped, blanks and repeats dropped; PerceptionError when none are
    left (an open-vocabulary detector finds only what it is asked for)."""
    labels = tuple(dict.fromkeys(p.strip() for p in prompts if p and p.strip()))
    if not labels:
        raise PerceptionError("no labels to detect: an open-vocabulary detector looks only "
                              "for the labels it is given; set them (~/set_labels or --labels)")
    return labels


def snapshot_config(model_dir: str | Path, family: str, hub_id: str) -> tuple[Path, dict]:
    """The directory and its ``config.json`` (a JSON object); PerceptionError saying
    how to get the weights when the directory, its config or its weights are missing,
    and naming the snapshot corrupt when its config is not a JSON object."""
    directory = Path(model_dir).expanduser()
    if not is_present(directory):
        what = "incomplete (no config.json or no weights)" if directory.is_dir() else "not found"
        raise PerceptionError(f"{family} model {what} at {directory}: "
                              + pull_hint(directory, checkpoints=(hub_id,)))
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise corrupt_snapshot(directory, f"config.json is unreadable: {error}",
                               checkpoints=(hub_id,)) from None
    if not isinstance(config, dict):
        raise corrupt_snapshot(directory, f"config.json holds a {type(config).__name__}, "
                               "not a JSON object", checkpoints=(hub_id,))
    return directory, config


def load_failed(family: str, directory: Path, hub_id: str,
                error: Exception | str) -> PerceptionError:
    """The error for a snapshot transformers could not load (a missing processor or
    tokenizer file, a truncated weights file): the snapshot is corrupt, pull it again."""
    return corrupt_snapshot(directory, error, checkpoints=(hub_id,))


def load_checked_model(model_dir: str | Path, *, family: str, label: str, hub_id: str,
                       model_class: str, load_processing: Callable[[Path], Any],
                       runs_note: str = "") -> tuple[Path, Any, Any]:
    """(directory, pre-processing, model) of a family whose pre-processing is reproduced
    here and whose weights load into one transformers class (``model_class``, by name:
    transformers is imported only now). In this order, so the most basic fault is the
    one named: the snapshot is there and its ``model_type`` is ``family``; the
    pre-processing reads; the weights load (else :func:`load_failed`'s error). Why one
    place: Depth Pro and SAM2 wrote these steps out alike."""
    directory, config = snapshot_config(model_dir, label, hub_id)
    if config.get("model_type") != family:
        raise PerceptionError(f"{directory} holds a {config.get('model_type')!r} model; "
                              f"the {family} family runs '{family}'{runs_note} snapshots")
    processing = load_processing(directory)
    import transformers

    try:
        model = getattr(transformers, model_class).from_pretrained(directory,
                                                                   local_files_only=True)
    except load_errors() as error:
        raise load_failed(label, directory, hub_id, error) from None
    return directory, processing, model


def class_nms(xyxy: np.ndarray, scores: np.ndarray, classes: np.ndarray,
              iou_threshold: float | None) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression within each class, best score
    first. A box is dropped when its IoU with a better box of its class is above
    ``iou_threshold`` (torchvision's rule); ``None`` keeps every box."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    if iou_threshold is None or len(order) < 2:
        return order
    boxes = np.asarray(xyxy, np.float64)
    # Shift each class into its own region so boxes of different classes never overlap.
    span = boxes.max() - boxes.min() + 1.0
    boxes = boxes + (np.asarray(classes, np.float64) * span)[:, None]
    x0, y0, x1, y1 = boxes.T
    area = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        inter = (np.clip(np.minimum(x1[best], x1[rest]) - np.maximum(x0[best], x0[rest]), 0, None)
                 * np.clip(np.minimum(y1[best], y1[rest]) - np.maximum(y0[best], y0[rest]), 0,
                           None))
        union = area[best] + area[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou <= iou_threshold]
    return np.array(keep, np.int64)


def check_boxes(xyxy: np.ndarray) -> np.ndarray:
    """Box prompts as (N, 4) float32 pixel xyxy (the dtype SAM's and SAM2's processors
    scale them in); PerceptionError for another shape or a non-finite coordinate, which
    the prompt encoder would turn into a garbage mask without a word."""
    boxes = np.asarray(xyxy)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise PerceptionError(f"boxes must be (N, 4) pixel xyxy, got shape {boxes.shape}")
    boxes = boxes.astype(np.float32)
    if not np.isfinite(boxes).all():
        raise PerceptionError("boxes must be finite pixel coordinates")
    return boxes


def check_threshold(name: str, value: float | None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if value is None or not 0.0 <= value <= 1.0:
        raise PerceptionError(f"{name} must be within [0, 1]"
                              + (" or None (off)" if optional else "") + f", got {value}")


def owl_graph_forward(model: Any, pixel_values: Any, input_ids: Any,
                      attention_mask: Any) -> tuple[Any, Any]:
    """The OWL-ViT / OWLv2 call as an exported graph makes it: positional tensors in,
    (logits, pred_boxes) out (``onnx_plumbing.graph_module`` wraps it). Why here: both
    OWL families export the same translation."""
    out = model(pixel_values=pixel_values, input_ids=input_ids,
                attention_mask=attention_mask)
    return out.logits, out.pred_boxes


def encode_owl_query(processor: Any, rgb: Any, prompts: Sequence[str],
                     check_lengths: Callable[[tuple[str, ...]], None],
                     return_tensors: str) -> tuple[tuple[str, ...], Any]:
    """The labels (:func:`check_prompts`) and what the OWL processor makes of ``rgb``
    with them, as ``return_tensors`` ("pt" for torch, "np" for ONNX Runtime), after the
    checks in this order: prompts, image (``check_rgb``), label lengths
    (``check_lengths``). Why here: the torch and ONNX Runtime OWL detectors started
    ``detect`` alike, line for line."""
    from PIL import Image

    from ..types import check_rgb

    labels = check_prompts(prompts)
    check_rgb(rgb)
    check_lengths(labels)
    encoded = processor(text=[list(labels)], images=Image.fromarray(rgb),
                        return_tensors=return_tensors)
    return labels, encoded


class PromptedDetector:
    """Base of the transformers text-prompted detectors (Grounding DINO, OWLv2, OWL-ViT):
    the threshold checks (``score_threshold``, then the family's own ``thresholds``,
    then the optional ``nms_threshold``) and what each holds (the model in eval mode on
    ``device``, its processor, the thresholds as floats). Why one place: the three
    constructors wrote these lines out alike."""

    def __init__(self, model: Any, processor: Any, *, name: str, device: str,
                 score_threshold: float, nms_threshold: float | None,
                 thresholds: dict[str, float] | None = None) -> None:
        import torch

        check_threshold("score_threshold", score_threshold)
        for key, value in (thresholds or {}).items():
            check_threshold(key, value)
        check_threshold("nms_threshold", nms_threshold, optional=True)
        self.name = name
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.processor = processor
        self.score_threshold = float(score_threshold)
        self.nms_threshold = None if nms_threshold is None else float(nms_threshold)


class LastFrameCache:
    """The last frame's encoding, keyed on a copy of its pixels: a segmenter asked twice
    about one frame (another box set, a re-query) encodes it once, and a camera buffer
    reused in place is never mistaken for the frame it held before."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._rgb: np.ndarray | None = None
        self._value: Any = None

    def get(self, rgb: np.ndarray) -> Any:
        """The value stored for these pixels, or None."""
        if (self.enabled and self._rgb is not None and self._rgb.shape == rgb.shape
                and np.array_equal(self._rgb, rgb)):
            return self._value
        return None

    def put(self, rgb: np.ndarray, value: Any) -> Any:
        if self.enabled:
            self._rgb, self._value = rgb.copy(), value
        return value


def load_errors() -> tuple[type[BaseException], ...]:
    """What ``from_pretrained`` raises for a snapshot it cannot read: missing or
    foreign files, and a truncated or corrupt weights file (safetensors' own error)."""
    from safetensors import SafetensorError

    return OSError, ValueError, TypeError, KeyError, AttributeError, SafetensorError


def load_snapshot(processor_class, model_class, directory: Path, family: str,
                  hub_id: str) -> tuple:
    """(processor, model) from a local snapshot (never downloads, no remote code); a
    snapshot transformers cannot read becomes :func:`load_failed`'s error."""
    try:
        processor = processor_class.from_pretrained(directory, local_files_only=True)
        model = model_class.from_pretrained(directory, local_files_only=True)
    except load_errors() as error:
        raise load_failed(family, directory, hub_id, error) from None
    return processor, model


__all__ = ["LastFrameCache", "PromptedDetector", "check_boxes", "check_prompts",
           "check_threshold", "class_nms", "load_checked_model", "load_errors", "load_failed",
           "load_snapshot", "snapshot_config"]

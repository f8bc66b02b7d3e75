"""SAM 3 (transformers ``Sam3Model``): text prompts -> instance masks, boxes and scores
in one pass. The family fills the detector's and the segmenter's roles: its detections
carry their masks (``masks_from_text``), so the chain calls no segmenter on them.

Why: a detector + segmenter chain runs two models and can only segment what the
detector boxed; SAM 3 finds every instance of a concept ("mug") and segments it with
the same features. One frame is encoded once (the vision encoder, cached for a second
call on the same pixels); all prompts of a frame then go through ONE detector/mask
decoder pass as a batch of prompts over the same image features, and the prompts'
text encoding is kept while the prompts stay the same.

Pre- and post-processing are ``Sam3Processor``'s, reproduced with torch alone (its
image processor needs torchvision, which does not import beside this torch: see
../processing.py), tested against the reference's outputs:

- the image is resized to the square ``size`` (1008) without keeping its aspect,
  bilinear with antialias, then normalised with mean and std 0.5;
- prompts are tokenised with the snapshot's CLIP tokenizer, padded to 32 tokens; a
  prompt longer than that cannot be read and is reported in ``unknown_prompts``;
- instances: :mod:`.postprocess`.

It is a segmenter only of its own detections: another detector's boxes would be box
prompts, which transformers runs through torchvision's ``roi_align`` (checked: a
NameError without torchvision), so ``segment`` refuses them and says so.

``Sam3LiteTextModel`` snapshots (a small text encoder distilled from SAM 3's;
``model_type`` "sam3_lite_text") load through the same code.

torch and transformers are imported when a model is loaded or run, not on import.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PerceptionError
from ...types import Detections, SensorInputs, check_rgb
from ..common import (
    LastFrameCache,
    check_prompts,
    check_threshold,
    load_errors,
    load_failed,
    snapshot_config,
)
from ..processing import (
    STANDARD_MEAN,
    STANDARD_STD,
    ImageProcessing,
    processing_loader,
    resize_then_normalize,
)
from .postprocess import detections_from, instances

__all__ = ["HUB_ID", "MODEL_CLASSES", "Sam3Detector", "load_processing", "load_snapshot_parts",
           "tokenize"]

#: The checkpoint ``spatial-vqa models pull sam3`` fetches (gated: SAM License).
HUB_ID = "facebook/sam3"
FAMILY = "sam3"
#: ``Sam3Processor`` pads every prompt to this many tokens (start and end included).
TEXT_TOKENS = 32
#: config.json model_type -> the transformers class that runs it.
MODEL_CLASSES = {"sam3": "Sam3Model", "sam3_lite_text": "Sam3LiteTextModel"}


#: The snapshot's SAM 3 pre-processing (``Sam3ImageProcessor``'s defaults: 1008 x 1008,
#: mean and std 0.5).
load_processing = processing_loader(FAMILY, default_size_hw=(1008, 1008),
                                    default_mean=STANDARD_MEAN, default_std=STANDARD_STD)


def load_snapshot_parts(model_dir: str | Path) -> tuple[Path, str, Any, ImageProcessing]:
    """(directory, transformers class name, tokenizer, pre-processing) of a SAM 3
    snapshot, without building the model: what the torch and the ONNX Runtime adapters
    both read. PerceptionError for a missing snapshot, another model type, or a
    tokenizer that is missing or does not fit the config's vocabulary."""
    directory, config = snapshot_config(model_dir, "SAM 3", HUB_ID)
    class_name = MODEL_CLASSES.get(config.get("model_type"))
    if class_name is None:
        raise PerceptionError(f"{directory} holds a {config.get('model_type')!r} model; "
                              f"the sam3 family runs {' or '.join(map(repr, MODEL_CLASSES))}"
                              f" snapshots ({', '.join(MODEL_CLASSES.values())})")
    processing = load_processing(directory)
    import transformers

    try:  # the config object, not the model: a saved config omits default values
        vocab_size = transformers.AutoConfig.from_pretrained(
            directory, local_files_only=True).text_config.vocab_size
        tokenizer = transformers.AutoTokenizer.from_pretrained(directory,
                                                               local_files_only=True)
    except load_errors() as error:
        raise load_failed("SAM 3", directory, HUB_ID, error) from None
    if not len(tokenizer) or len(tokenizer) > vocab_size:
        raise load_failed("SAM 3", directory, HUB_ID, "its tokenizer does not fit the "
                          "model's vocabulary: tokenizer files missing?")
    return directory, class_name, tokenizer, processing


def tokenize(tokenizer: Any, labels: Sequence[str], max_tokens: int = TEXT_TOKENS
             ) -> tuple[tuple[str, ...], tuple[str, ...], Any, Any]:
    """(readable labels, too-long labels, input_ids (P, 32), attention_mask (P, 32)):
    ``Sam3Processor``'s text call (padding to 32) on the labels that fit."""
    lengths = [len(ids) for ids in tokenizer(list(labels))["input_ids"]]
    kept = tuple(label for label, n in zip(labels, lengths) if n <= max_tokens)
    too_long = tuple(label for label, n in zip(labels, lengths) if n > max_tokens)
    if not kept:
        return kept, too_long, None, None
    encoded = tokenizer(list(kept), return_tensors="pt", padding="max_length",
                        max_length=max_tokens)
    return kept, too_long, encoded["input_ids"], encoded["attention_mask"]


class Sam3Detector:
    """Instances for text prompts from a loaded ``Sam3Model`` (or ``Sam3LiteTextModel``).

    ``tokenizer``: the snapshot's CLIP tokenizer; ``processing``: its image
    pre-processing (:func:`load_processing`). ``score_threshold``: the least instance
    score kept (0.3, ``post_process_instance_segmentation``'s default);
    ``mask_threshold``: the mask probability above which a pixel is in (0.5).
    """

    #: Its detections carry instance masks: it fills the segmenter's role too.
    masks_from_text = True

    def __init__(self, model: Any, tokenizer: Any, processing: ImageProcessing, *,
                 name: str = FAMILY, device: str = "cpu", score_threshold: float = 0.3,
                 mask_threshold: float = 0.5, cache_embedding: bool = True) -> None:
        check_threshold("score_threshold", score_threshold)
        check_threshold("mask_threshold", mask_threshold)
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.processing = processing
        self.name = name
        self.device = device
        self.score_threshold = float(score_threshold)
        self.mask_threshold = float(mask_threshold)
        self._cache = LastFrameCache(cache_embedding)
        self._text: tuple[tuple[str, ...], Any] | None = None
        #: how many times the image encoder / the text encoder ran (tests, timings)
        self.encoder_calls = 0
        self.text_calls = 0

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu",
                        **options: Any) -> Sam3Detector:
        """Load model, tokenizer and pre-processing from a local snapshot (never
        downloads, no remote code). ``options`` go to the constructor."""
        directory, class_name, tokenizer, processing = load_snapshot_parts(model_dir)
        import transformers

        try:
            model = getattr(transformers, class_name).from_pretrained(
                directory, local_files_only=True)
        except load_errors() as error:
            raise load_failed("SAM 3", directory, HUB_ID, error) from None
        options.setdefault("name", f"{FAMILY}:{directory.name}")
        return cls(model, tokenizer, processing, device=device, **options)

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        """Every instance of every prompt: boxes (pixels), labels (the prompts), scores
        and (N, H, W) bool masks, best score first. Prompts too long to read are in
        ``unknown_prompts``; PerceptionError when no prompt is given."""
        labels = check_prompts(prompts)
        check_rgb(inputs.rgb)
        size_hw = inputs.size_hw
        kept, too_long, input_ids, attention_mask = tokenize(self.tokenizer, labels)
        if not kept:
            return Detections.empty(too_long)
        import torch

        with torch.inference_mode():
            vision = self._vision(inputs.rgb)
            text = self._text_features(kept, input_ids, attention_mask)
            outputs = self.model(vision_embeds=_repeated(vision, len(kept)),
                                 text_embeds=text, attention_mask=attention_mask.to(
                                     self.device))
            found = instances(outputs, size_hw, score_threshold=self.score_threshold,
                              mask_threshold=self.mask_threshold)
        return detections_from(found, kept, too_long, size_hw)

    def segment(self, inputs: SensorInputs, xyxy: np.ndarray,
                depth_m: np.ndarray | None) -> np.ndarray:
        """SAM 3 segments what it detects itself (its detections carry their masks, so
        the chain never asks). Another detector's boxes would be box prompts, and
        transformers runs SAM 3's box prompts through torchvision's ``roi_align``, which
        does not import beside this torch: refused, saying what to use instead."""
        raise PerceptionError("sam3 segments only what it detects itself (box prompts need "
                              "torchvision's roi_align, not importable here): use detector "
                              "sam3 too, or another segmenter (sam2, sam, depth_box)")

    def _vision(self, rgb: np.ndarray) -> Any:
        """The frame's vision features, encoded once per distinct frame."""
        cached = self._cache.get(rgb)
        if cached is not None:
            return cached
        pixel_values = resize_then_normalize(rgb, self.processing, device=self.device)
        features = self.model.get_vision_features(pixel_values.to(self.model.dtype))
        self.encoder_calls += 1
        return self._cache.put(rgb, features)

    def _text_features(self, labels: tuple[str, ...], input_ids: Any,
                       attention_mask: Any) -> Any:
        """The prompts' text features, encoded again only when the prompts change."""
        if self._text is not None and self._text[0] == labels:
            return self._text[1]
        text = self.model.get_text_features(input_ids=input_ids.to(self.device),
                                            attention_mask=attention_mask.to(self.device),
                                            return_dict=True)
        self.text_calls += 1
        self._text = (labels, text)
        return text


def _repeated(vision: Any, batch: int) -> Any:
    """The one frame's vision features as a batch of ``batch`` prompts (views, no copy)."""
    return type(vision)(
        last_hidden_state=_expand(vision.last_hidden_state, batch),
        fpn_hidden_states=tuple(_expand(x, batch) for x in vision.fpn_hidden_states),
        fpn_position_encoding=tuple(_expand(x, batch) for x in vision.fpn_position_encoding))


def _expand(tensor: Any, batch: int) -> Any:
    return None if tensor is None else tensor.expand(batch, *tensor.shape[1:])

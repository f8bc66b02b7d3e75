"""OWLv2 on ONNX Runtime: the torch adapter's detector with the network exported.

Why: on a robot the detector runs every frame, and ONNX Runtime (CPU, or CUDA/TensorRT
where the build has them) runs the same graph without the Python model code. Only the
network moves: the ``Owlv2Processor`` of the snapshot still does pre- and
post-processing, with the arguments the torch adapter (:mod:`.adapter`) uses, so the boxes
are scaled by the zero-padded square's side, clipped to the image, thresholded and
suppressed per label the same way (``class_nms``).

The exported graph takes one image at the model's square size (the processor always
resizes to it, so the image size is fixed) and all of a frame's prompts as queries
(``input_ids`` and ``attention_mask`` of shape (Q, 16), Q dynamic), and returns the two
outputs post-processing reads: ``logits`` (1, patches, Q) and ``pred_boxes``
(1, patches, 4), boxes as centre x, centre y, width, height relative to the square.
``export.json`` beside ``model.onnx`` says what was exported from what; it is removed
before and written after the model, so a half-finished export is never loaded.

torch, transformers and onnxruntime are imported when a detector is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PerceptionError
from ...runtime.onnx import OrtSession, create_session, export_onnx
from ...types import Detections, SensorInputs
from ..common import (
    check_threshold,
    encode_owl_query,
    load_failed,
    owl_graph_forward,
    snapshot_config,
)
from ..export_info import (
    EXPORT_HINT,
    EXPORT_INFO,
    export_record,
    read_export_info,
    write_export_info,
)
from ..onnx_plumbing import graph_module
from .adapter import HUB_ID, Owlv2Detector, check_label_lengths, detections_from

MODEL_FILE = "model.onnx"
FAMILY = "owlv2"
INPUTS = ("pixel_values", "input_ids", "attention_mask")
OUTPUTS = ("logits", "pred_boxes")
_EXPORT_AGAIN = f"export it again with {EXPORT_HINT}"


def export(model_dir: str | Path, out_dir: str | Path) -> Path:
    """Export the OWLv2 snapshot in ``model_dir`` to ``out_dir/model.onnx`` (+
    ``export.json``); returns the model's path. The snapshot is loaded and checked by
    the torch adapter's ``from_pretrained``."""
    import torch

    detector = Owlv2Detector.from_pretrained(model_dir)
    directory = Path(model_dir).expanduser()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / EXPORT_INFO).unlink(missing_ok=True)  # no record: not a finished export
    side = int(detector.model.config.vision_config.image_size)
    # Two queries: a size-1 dimension invites exporters to specialise it.
    text = detector.processor(text=[["a", "b"]], return_tensors="pt")
    args = (torch.zeros(1, 3, side, side), text["input_ids"], text["attention_mask"])
    queries = {0: "queries"}
    path = export_onnx(_graph_module(detector.model), args, out_dir / MODEL_FILE,
                       input_names=INPUTS, output_names=OUTPUTS,
                       dynamic_axes={"input_ids": queries, "attention_mask": queries,
                                     "logits": {2: "queries"}})
    record = export_record(FAMILY, directory, image_size=side,
                           max_text_tokens=detector.max_text_tokens, inputs=list(INPUTS),
                           outputs=list(OUTPUTS))
    write_export_info(out_dir, record)
    return path


def _graph_module(model: Any) -> Any:
    """``Owlv2ForObjectDetection`` as a module of positional tensors returning the
    (logits, pred_boxes) pair."""
    return graph_module(model, owl_graph_forward)


class Owlv2OnnxDetector:
    """Text prompts -> boxes with an exported OWLv2 on ONNX Runtime. ``session``: the
    exported graph's :class:`~..runtime.onnx.OrtSession`; ``processor``: the snapshot's
    ``Owlv2Processor``; the thresholds are the torch adapter's
    (:class:`~.adapter.Owlv2Detector`)."""

    def __init__(self, session: OrtSession, processor: Any, *, name: str = "owlv2:onnx",
                 score_threshold: float = 0.1, nms_threshold: float | None = 0.3,
                 max_text_tokens: int = 16) -> None:
        check_threshold("score_threshold", score_threshold)
        check_threshold("nms_threshold", nms_threshold, optional=True)
        self.name = name
        self.session = session
        self.processor = processor
        self.score_threshold = float(score_threshold)
        self.nms_threshold = None if nms_threshold is None else float(nms_threshold)
        #: Tokens one query may have, start and end included (16 for OWLv2).
        self.max_text_tokens = int(max_text_tokens)

    @property
    def provider(self) -> str:
        return self.session.provider

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, onnx_dir: str | Path, *,
                        providers: Sequence[str] | None = None, threads: int = 0,
                        **options: Any) -> Owlv2OnnxDetector:
        """The processor from the snapshot ``model_dir`` (never downloads), the graph
        from ``onnx_dir`` (made by :func:`export`). ``providers``: ONNX Runtime's, tried
        in order (default TensorRT -> CUDA -> CPU); ``options``: the constructor's
        (name, score_threshold, nms_threshold)."""
        directory, config = snapshot_config(model_dir, "OWLv2", HUB_ID)
        if config.get("model_type") != "owlv2":
            raise PerceptionError(f"{directory} holds a {config.get('model_type')!r} model, "
                                  f"not OWLv2 (model_type 'owlv2', e.g. {HUB_ID})")
        onnx_dir = Path(onnx_dir).expanduser()
        sidecar = _read_sidecar(onnx_dir, directory)
        processor = _load_processor(directory, config)
        side = processor.image_processor.size
        if (side.get("height"), side.get("width")) != (sidecar["image_size"],) * 2:
            raise PerceptionError(
                f"the OWLv2 graph in {onnx_dir} takes {sidecar['image_size']} px images but "
                f"the processor of {directory} makes {side}: {_EXPORT_AGAIN} from this "
                "snapshot")
        session = create_session(onnx_dir / MODEL_FILE, providers=providers, threads=threads)
        if session.input_names != list(INPUTS):
            raise PerceptionError(f"{session.path} takes {session.input_names}, not OWLv2's "
                                  f"{list(INPUTS)}: {_EXPORT_AGAIN}")
        options.setdefault("name", f"owlv2:{directory.name}:onnxruntime:{session.provider}")
        return cls(session, processor, max_text_tokens=int(sidecar["max_text_tokens"]),
                   **options)

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        """Boxes (xyxy pixels of the image, clipped to it) labelled with the prompts; all
        prompts go through one run of the graph."""
        import torch
        from transformers.models.owlv2.modeling_owlv2 import Owlv2ObjectDetectionOutput

        labels, encoded = encode_owl_query(self.processor, inputs.rgb, prompts,
                                           self._check_lengths, "np")
        height, width = inputs.rgb.shape[:2]
        raw = self.session.run({"pixel_values": encoded["pixel_values"].astype(np.float32),
                                "input_ids": encoded["input_ids"].astype(np.int64),
                                "attention_mask": encoded["attention_mask"].astype(np.int64)})
        outputs = Owlv2ObjectDetectionOutput(logits=torch.from_numpy(raw["logits"]),
                                             pred_boxes=torch.from_numpy(raw["pred_boxes"]))
        return detections_from(self.processor, outputs, labels, (height, width),
                               score_threshold=self.score_threshold,
                               nms_threshold=self.nms_threshold)

    def _check_lengths(self, labels: tuple[str, ...]) -> None:
        check_label_lengths(self.processor.tokenizer, labels, self.max_text_tokens)


def _read_sidecar(onnx_dir: Path, model_dir: Path) -> dict:
    """The export record, with the fields OWLv2's loader needs checked."""
    if not (onnx_dir / MODEL_FILE).is_file():
        raise PerceptionError(f"no exported OWLv2 at {onnx_dir} ({MODEL_FILE} missing): "
                              f"export it with {EXPORT_HINT}")
    sidecar = read_export_info(onnx_dir, FAMILY, model_dir)
    try:
        sidecar["image_size"] = int(sidecar["image_size"])
        sidecar["max_text_tokens"] = int(sidecar["max_text_tokens"])
    except (ValueError, KeyError, TypeError) as error:
        raise PerceptionError(f"{onnx_dir / EXPORT_INFO} is not an OWLv2 export record "
                              f"({error}): {_EXPORT_AGAIN}") from None
    return sidecar


def _load_processor(directory: Path, config: dict) -> Any:
    """The snapshot's processor, with the torch adapter's tokenizer check (without
    tokenizer files transformers silently builds an empty tokenizer)."""
    from transformers import Owlv2Processor

    try:
        processor = Owlv2Processor.from_pretrained(directory, local_files_only=True)
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise load_failed("OWLv2", directory, HUB_ID, error) from None
    tokenizer = processor.tokenizer
    ids = tokenizer("a")["input_ids"]
    vocab_size = int(config.get("text_config", {}).get("vocab_size", 49408))
    if ids[0] <= 0 or ids[-1] != len(tokenizer) - 1 or len(tokenizer) > vocab_size:
        raise load_failed("OWLv2", directory, HUB_ID, "its tokenizer is not OWLv2's "
                          "CLIP tokenizer: tokenizer files missing?")
    return processor


__all__ = ["MODEL_FILE", "Owlv2OnnxDetector", "export"]

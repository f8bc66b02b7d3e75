"""OWL-ViT on ONNX Runtime: the torch adapter's detector with the network exported.

Why: the detector runs every frame, and on a CPU ONNX Runtime runs the same graph
faster than eager torch (the ``cpu_light`` preset). Only the network moves:
:class:`OwlViTOnnxDetector` IS the torch adapter (:class:`~.adapter.OwlViTDetector`)
around a stand-in for its model, so the snapshot's processor, the per-axis box scaling,
the threshold and the per-label suppression are the same code on both runtimes. The
ONNX path reads the snapshot's config and processor only and never builds the
transformers model.

The graph (``model.onnx``) takes one image at the processor's fixed square size (every
frame is resized to it) and all of a frame's prompts as queries (``input_ids`` and
``attention_mask`` (Q, 16), Q dynamic), and returns what post-processing reads:
``logits`` (1, patches, Q) and ``pred_boxes`` (1, patches, 4). ``export.json`` beside it
records the input size, so a processor changed since the export is refused
(:func:`~..onnx_plumbing.open_fixed_input_export`).

torch, transformers and onnxruntime are imported when a detector is exported or built.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...runtime.int8 import check_precision
from ...runtime.onnx import OrtSession, export_onnx
from ..common import owl_graph_forward
from ..export_info import EXPORT_INFO, export_record, write_export_info
from ..onnx_plumbing import (
    OrtModelShim,
    graph_module,
    open_fixed_input_export,
    open_or_export,
)
from .adapter import OwlViTDetector, load_processor, read_snapshot

__all__ = ["MODEL_FILE", "OwlViTOnnxDetector", "export"]

MODEL_FILE = "model.onnx"
FAMILY = "owlvit"
INPUTS = ("pixel_values", "input_ids", "attention_mask")
OUTPUTS = ("logits", "pred_boxes")


def _pixel_size_hw(processor: Any) -> tuple[int, int]:
    """The model input size the processor makes of any frame."""
    from PIL import Image

    encoded = processor.image_processor(Image.new("RGB", (8, 6)), return_tensors="pt")
    return tuple(int(v) for v in encoded["pixel_values"].shape[-2:])


def _graph(model: Any) -> Any:
    """``OwlViTForObjectDetection`` as a module of positional tensors returning the
    (logits, pred_boxes) pair."""
    return graph_module(model, owl_graph_forward)


def export(model_dir: str | Path, out_dir: str | Path, *,
           size_hw: tuple[int, int] | None = None) -> list[Path]:
    """Export the OWL-ViT snapshot at ``model_dir`` to ``out_dir``: ``model.onnx`` and
    ``export.json``; returns both paths. ``size_hw`` is not used (the processor resizes
    every camera size to one input) and is accepted so that every family exports
    alike. The snapshot is loaded and checked by the torch adapter."""
    import torch

    del size_hw
    detector = OwlViTDetector.from_pretrained(model_dir)
    model_dir, out_dir = Path(model_dir).expanduser(), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / EXPORT_INFO).unlink(missing_ok=True)  # no record: not a finished export
    pixel_hw = _pixel_size_hw(detector.processor)
    # Two queries: a size-1 dimension invites exporters to specialise it.
    text = detector.processor(text=[["a", "b"]], return_tensors="pt")
    args = (torch.zeros(1, 3, *pixel_hw), text["input_ids"], text["attention_mask"])
    queries = {0: "queries"}
    path = export_onnx(_graph(detector.model), args, out_dir / MODEL_FILE,
                       input_names=INPUTS, output_names=OUTPUTS,
                       dynamic_axes={"input_ids": queries, "attention_mask": queries,
                                     "logits": {2: "queries"}})
    record = export_record(FAMILY, model_dir, pixel_size_hw=list(pixel_hw),
                           max_text_tokens=detector.max_text_tokens, inputs=list(INPUTS),
                           outputs=list(OUTPUTS))
    return [path, write_export_info(out_dir, record)]


class _OrtOwlViTModel(OrtModelShim):
    """The graph in the place of ``OwlViTForObjectDetection``: called with the
    processor's tensors, returns the model's output type."""

    def __init__(self, session: OrtSession) -> None:
        self.session = session

    def __call__(self, pixel_values: Any, input_ids: Any, attention_mask: Any) -> Any:
        import torch
        from transformers.models.owlvit.modeling_owlvit import OwlViTObjectDetectionOutput

        raw = self.session.run({
            "pixel_values": pixel_values.cpu().numpy().astype(np.float32),
            "input_ids": input_ids.cpu().numpy().astype(np.int64),
            "attention_mask": attention_mask.cpu().numpy().astype(np.int64)})
        return OwlViTObjectDetectionOutput(logits=torch.from_numpy(raw["logits"]),
                                           pred_boxes=torch.from_numpy(raw["pred_boxes"]))


class OwlViTOnnxDetector(OwlViTDetector):
    """Text prompts -> boxes with an exported OWL-ViT on ONNX Runtime: the torch
    adapter around the graph (``session``). Build with :meth:`from_pretrained`."""

    @property
    def session(self) -> OrtSession:
        return self.model.session

    @property
    def provider(self) -> str:
        return self.model.session.provider

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, onnx_dir: str | Path | None = None, *,
                        providers: Sequence[str] | None = None, threads: int = 0,
                        export_missing: bool = False, device: str = "cpu",
                        precision: str = "fp32", **options: Any) -> OwlViTOnnxDetector:
        """The processor from the snapshot ``model_dir`` (weights are not read), the
        graph from ``onnx_dir`` (default ``model_dir/onnx``, made by :func:`export`).
        ``providers``: ONNX Runtime's, tried in order (default TensorRT -> CUDA -> CPU);
        ``export_missing``: export (needs the weights) when the export is missing, stale
        or for another input size, instead of refusing; ``precision``: "int8" runs the
        graph's int8 version (:mod:`~...runtime.int8`); ``options``: the constructor's
        (name, score_threshold, nms_threshold). ``device`` is ignored: the provider
        places the work."""
        del device
        directory, config = read_snapshot(model_dir)
        onnx_dir = directory / "onnx" if onnx_dir is None else Path(onnx_dir).expanduser()
        processor = load_processor(directory, config)
        record, (session,) = open_or_export(
            lambda: open_fixed_input_export(
                directory, onnx_dir, family=FAMILY, label="OWL-ViT",
                pixel_size_hw=_pixel_size_hw(processor), graphs=(MODEL_FILE,),
                providers=providers, threads=threads,
                int8=(MODEL_FILE,) if check_precision(precision) == "int8" else ()),
            lambda: export(directory, onnx_dir), export_missing=export_missing)
        options.setdefault("name", f"owlvit:{directory.name}:onnxruntime:{session.provider}"
                           + (":int8" if precision == "int8" else ""))
        return cls(_OrtOwlViTModel(session), processor,
                   max_text_tokens=int(record.get("max_text_tokens", 16)), **options)

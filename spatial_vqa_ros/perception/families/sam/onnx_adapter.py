"""Segment Anything on ONNX Runtime: image encoder and prompt/mask decoder, two graphs.

Why two: the encoder (a ViT at the processor's padded 1024 x 1024) is nearly all the
cost and runs once per frame; the decoder is cheap and runs once per box set. The
export follows PERCEPTION.md: TorchScript exporter (dynamo decoders are wrong for
batch > 1), one image per call, the boxes of a frame through the decoder's box batch
``N`` (dynamic), ``multimask_output=False`` (one mask per box):

- ``image_encoder.onnx``: ``pixel_values`` (1, 3, S, S) -> ``image_embeddings``
- ``mask_decoder.onnx``: ``image_embeddings`` + ``input_boxes`` (1, N, 4) float64
  (pixels of the resized image) -> ``pred_masks`` (1, N, 1, 256, 256) low-res logits,
  ``iou_scores`` (1, N, 1)
- ``export.json``: family, input size, opset, source snapshot, torch/transformers
  versions (:mod:`..export_info`).

The graphs do not depend on the camera size (the processor resizes and pads every
frame to S x S). Pre- and post-processing, the box rescale, the per-frame embedding
cache and the mask threshold are the torch adapter's own code:
:class:`~.adapter.SamSegmenter` is built around an ONNX stand-in for its ``SamModel``.
The boxes stay float64, as the torch adapter passes them: the prompt encoder
normalises them in float64 and casts to float32 only then. Boxes fed as float32 differ
by ~3e-4 relative in the real-size (ViT-B) logits, because SAM's Fourier box features
multiply the normalised coordinates by ~128 x 2 pi; in float64 the graph matches torch
to ~1e-6. TensorRT has no float64: those few box ops run on CUDA or the CPU.

torch and transformers are imported when a model is exported or loaded, not on import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PerceptionError
from ...models.snapshots import corrupt_snapshot
from ...runtime.onnx import OrtSession, export_onnx
from ..export_info import EXPORT_INFO, export_record, write_export_info
from ..onnx_plumbing import (
    DECODER_FILE,
    ENCODER_FILE,
    BoxSegmenterOnnx,
    EncoderDecoderShim,
    adopt_shim,
    check_encoder_input,
    graph_module,
)
from .adapter import HUB_ID, SamSegmenter, _pull_hint
from .input_size import resize_processor

__all__ = ["SamOnnxSegmenter", "export"]

FAMILY = "sam"
#: Boxes traced through the decoder: not 1, so the box axis is not specialised to 1.
_TRACE_BOXES = 3


def _graphs(model: Any) -> tuple[Any, Any]:
    """The encoder and the decoder of ``model`` as modules of plain tensors."""

    def decode(model: Any, image_embeddings: Any, input_boxes: Any) -> tuple[Any, Any]:
        out = model(image_embeddings=image_embeddings, input_boxes=input_boxes,
                    multimask_output=False)
        return out.pred_masks, out.iou_scores

    return (graph_module(model, lambda model, pixels: model.get_image_embeddings(pixels)),
            graph_module(model, decode))


def export(model_dir: str | Path, out_dir: str | Path, *,
           size_hw: tuple[int, int] | None = None, input_size: int = 0) -> list[Path]:
    """Export the SAM snapshot at ``model_dir`` to ``out_dir``: the encoder, the decoder
    and ``export.json``; returns the three paths. ``size_hw`` is not used (the graphs
    take every camera size) and is accepted so that every family exports alike;
    ``input_size``: the model input, as the adapter's option (0: the checkpoint's)."""
    import torch

    del size_hw
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    torch_adapter = SamSegmenter.from_pretrained(model_dir, input_size=input_size)
    model = torch_adapter.model
    (out_dir / EXPORT_INFO).unlink(missing_ok=True)  # a half-done export never looks whole
    pixel_hw = _pixel_size_hw(torch_adapter.processor)
    generator = torch.Generator().manual_seed(0)
    pixel_values = torch.randn(1, 3, *pixel_hw, generator=generator)
    with torch.no_grad():
        embedding = model.get_image_embeddings(pixel_values)
    boxes = torch.rand(1, _TRACE_BOXES, 2, generator=generator) * min(pixel_hw) / 2
    boxes = torch.cat([boxes, boxes + min(pixel_hw) / 4], dim=-1).double()
    encoder, decoder = _graphs(model)
    by_box = {1: "boxes"}
    paths = [
        export_onnx(encoder, (pixel_values,), out_dir / ENCODER_FILE,
                    input_names=["pixel_values"], output_names=["image_embeddings"]),
        export_onnx(decoder, (embedding, boxes), out_dir / DECODER_FILE,
                    input_names=["image_embeddings", "input_boxes"],
                    output_names=["pred_masks", "iou_scores"],
                    dynamic_axes={"input_boxes": by_box, "pred_masks": by_box,
                                  "iou_scores": by_box})]
    record = export_record(FAMILY, model_dir, pixel_size_hw=list(pixel_hw),
                           embedding_shape=list(embedding.shape), multimask_output=False)
    return [*paths, write_export_info(out_dir, record)]


def _pixel_size_hw(processor: Any) -> tuple[int, int]:
    """The padded model input size the processor makes of any frame."""
    from PIL import Image

    encoded = processor.image_processor(Image.new("RGB", (8, 6)), return_tensors="pt")
    return tuple(int(v) for v in encoded["pixel_values"].shape[-2:])


class _OrtSamModel(EncoderDecoderShim):
    """The two graphs in the place of ``SamModel`` inside SamSegmenter: the calls it
    makes (``get_image_embeddings``, the decoder call with embeddings and boxes)."""

    def get_image_embeddings(self, pixel_values: Any) -> np.ndarray:
        check_encoder_input(pixel_values, self.pixel_size_hw, self.encoder)
        return self.encoder.run({"pixel_values": pixel_values.cpu().numpy()})[
            "image_embeddings"]

    def __call__(self, *, image_embeddings: np.ndarray, input_boxes: Any,
                 multimask_output: bool) -> Any:
        import torch
        from transformers.models.sam.modeling_sam import SamImageSegmentationOutput

        if multimask_output:
            raise PerceptionError("the SAM decoder is exported with one mask per box "
                                  "(multimask_output=False)")
        out = self.decoder.run({"image_embeddings": image_embeddings,
                                "input_boxes": input_boxes.cpu().numpy().astype(np.float64)})
        self.decoder_calls += 1
        return SamImageSegmentationOutput(iou_scores=torch.from_numpy(out["iou_scores"]),
                                          pred_masks=torch.from_numpy(out["pred_masks"]))


class SamOnnxSegmenter(BoxSegmenterOnnx):
    """One mask per box, SAM's encoder and decoder run by ONNX Runtime.

    ``encoder``, ``decoder``: sessions of the exported graphs; ``processor``: the source
    snapshot's ``SamProcessor``; ``record``: its ``export.json``. ``mask_threshold`` and
    ``cache_embedding`` as :class:`~.adapter.SamSegmenter`. ``name`` is
    ``"sam:<dir>@onnxruntime:<provider>"`` (the encoder's provider; ``providers`` has
    both). Build with :meth:`from_pretrained`; ``depth_m`` is not used.
    """

    family = FAMILY
    label = "SAM"
    input_options = ("input_size",)
    export = staticmethod(export)

    def __init__(self, encoder: OrtSession, decoder: OrtSession, processor: Any,
                 record: dict[str, Any], *, name: str = "sam",
                 mask_threshold: float | None = None, cache_embedding: bool = True) -> None:
        model = _OrtSamModel(encoder, decoder, record)
        adopt_shim(self, model, SamSegmenter(model, processor, name=name,
                                             mask_threshold=mask_threshold,
                                             cache_embedding=cache_embedding),
                   record, encoder)
        self.processor = processor
        self.providers = (encoder.provider, decoder.provider)
        self.name = f"{name}@onnxruntime:{encoder.provider}"

    @staticmethod
    def _preprocessing(model_dir: Path, input_size: int = 0) -> tuple[Any, tuple[int, int]]:
        processor = _load_processor(model_dir)
        if input_size:
            processor = resize_processor(processor, input_size)
        return processor, _pixel_size_hw(processor)

    @classmethod
    def _create(cls, sessions: tuple[OrtSession, ...], processor: Any, model_dir: Path,
                record: dict[str, Any], options: dict[str, Any]) -> SamOnnxSegmenter:
        return cls(*sessions, processor, record, name=_name(model_dir, record), **options)


def _name(model_dir: Path, record: dict[str, Any]) -> str:
    """``sam:<dir>``, with ``@<S>px`` when the export's input is not the checkpoint's
    (the torch adapter's name for the same run)."""
    try:
        vision = json.loads((model_dir / "config.json").read_text())["vision_config"]
        native = int(vision.get("image_size", 1024))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        native = 0  # said by the processor's load already, or not a SAM snapshot
    size = int(record["pixel_size_hw"][0])
    return f"sam:{model_dir.name}" + (f"@{size}px" if native and size != native else "")


def _load_processor(model_dir: Path) -> Any:
    from transformers import SamProcessor

    if not model_dir.is_dir():
        raise PerceptionError(f"SAM model not found {_pull_hint(model_dir)}")
    try:
        return SamProcessor.from_pretrained(model_dir, local_files_only=True, backend="pil")
    except Exception as error:  # a missing or foreign processor config: many error types
        raise corrupt_snapshot(model_dir, f"its SAM processor cannot be loaded: "
                               f"{type(error).__name__}: {error}", checkpoints=(HUB_ID,)
                               ) from None



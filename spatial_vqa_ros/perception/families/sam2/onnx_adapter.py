"""SAM2 on ONNX Runtime: image encoder and prompt/mask decoder, two graphs.

As for SAM (:mod:`.sam_onnx`): the encoder is nearly all the cost and runs once per
frame, the decoder once per box set; TorchScript exporter, one image per call, the
boxes of a frame through the decoder's box axis ``N`` (dynamic),
``multimask_output=False``:

- ``image_encoder.onnx``: ``pixel_values`` (1, 3, S, S) -> ``high_res_0``,
  ``high_res_1`` (the two FPN levels the mask decoder upsamples with) and
  ``image_embeddings`` (the coarsest level, with the no-memory embedding added);
- ``mask_decoder.onnx``: those three + ``input_boxes`` (1, N, 4) float32 pixels of the
  S x S input -> ``pred_masks`` (1, N, 1, 4S/16, 4S/16) logits, ``iou_scores`` (1, N, 1);
- ``export.json`` (:mod:`..export_info`).

The graphs take any camera size (every frame is resized to S x S). Pre- and
post-processing, the box scaling, the per-frame cache and the mask threshold are the
torch adapter's own code: :class:`~.adapter.Sam2Segmenter` is built around an ONNX
stand-in for its ``Sam2Model``.

torch and transformers are imported when a model is exported or loaded, not on import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PerceptionError
from ...models.snapshots import pull_hint
from ...runtime.onnx import OrtSession, export_onnx
from ..export_info import (
    export_record,
    write_export_info,
)
from ..onnx_plumbing import (
    DECODER_FILE,
    BoxSegmenterOnnx,
    EncoderDecoderShim,
    adopt_shim,
    begin_square_export,
    check_encoder_input,
    graph_module,
)
from .adapter import FAMILY, HUB_ID, Sam2Segmenter, load_processing

__all__ = ["Sam2OnnxSegmenter", "export"]

EMBEDDINGS = ("high_res_0", "high_res_1", "image_embeddings")
#: Boxes traced through the decoder: not 1, so the box axis is not specialised to 1.
_TRACE_BOXES = 3


def _graphs(model: Any) -> tuple[Any, Any]:
    """The encoder and the decoder of ``model`` as modules of plain tensors."""

    def decode(model: Any, high_res_0: Any, high_res_1: Any, image_embeddings: Any,
               input_boxes: Any) -> tuple[Any, Any]:
        out = model(image_embeddings=[high_res_0, high_res_1, image_embeddings],
                    input_boxes=input_boxes, multimask_output=False)
        return out.pred_masks, out.iou_scores

    return (graph_module(model, lambda model, pixels: tuple(model.get_image_embeddings(pixels))),
            graph_module(model, decode))


def export(model_dir: str | Path, out_dir: str | Path, *,
           size_hw: tuple[int, int] | None = None) -> list[Path]:
    """Export the SAM2 snapshot at ``model_dir`` to ``out_dir``: encoder, decoder and
    ``export.json``; returns the three paths (``size_hw``: see
    :func:`begin_square_export`)."""
    import torch

    start = begin_square_export(Sam2Segmenter.from_pretrained, model_dir, out_dir, size_hw)
    with torch.no_grad():
        embeddings = tuple(start.model.get_image_embeddings(start.pixel_values))
    corners = torch.rand(1, _TRACE_BOXES, 2, generator=start.generator) * min(start.side_hw) / 2
    boxes = torch.cat([corners, corners + min(start.side_hw) / 4], dim=-1)
    encoder, decoder = _graphs(start.model)
    by_box = {1: "boxes"}
    paths = [
        start.export_encoder(encoder, EMBEDDINGS),
        export_onnx(decoder, (*embeddings, boxes), start.out_dir / DECODER_FILE,
                    input_names=[*EMBEDDINGS, "input_boxes"],
                    output_names=["pred_masks", "iou_scores"],
                    dynamic_axes={"input_boxes": by_box, "pred_masks": by_box,
                                  "iou_scores": by_box})]
    record = export_record(FAMILY, start.model_dir, pixel_size_hw=list(start.side_hw),
                           embedding_shapes=[list(e.shape) for e in embeddings],
                           multimask_output=False)
    return [*paths, write_export_info(start.out_dir, record)]


class _OrtSam2Model(EncoderDecoderShim):
    """The two graphs in the place of ``Sam2Model`` inside Sam2Segmenter: the calls it
    makes (``get_image_embeddings``, the decoder call with embeddings and boxes)."""

    def get_image_embeddings(self, pixel_values: Any) -> list[np.ndarray]:
        check_encoder_input(pixel_values, self.pixel_size_hw, self.encoder)
        out = self.encoder.run({"pixel_values": pixel_values.cpu().numpy()})
        return [out[name] for name in EMBEDDINGS]

    def __call__(self, *, image_embeddings: list[np.ndarray], input_boxes: Any,
                 multimask_output: bool) -> Any:
        import torch
        from transformers.models.sam2.modeling_sam2 import Sam2ImageSegmentationOutput

        if multimask_output:
            raise PerceptionError("the SAM2 decoder is exported with one mask per box "
                                  "(multimask_output=False)")
        feeds = dict(zip(EMBEDDINGS, image_embeddings))
        feeds["input_boxes"] = input_boxes.cpu().numpy().astype(np.float32)
        out = self.decoder.run(feeds)
        self.decoder_calls += 1
        return Sam2ImageSegmentationOutput(iou_scores=torch.from_numpy(out["iou_scores"]),
                                           pred_masks=torch.from_numpy(out["pred_masks"]))


class Sam2OnnxSegmenter(BoxSegmenterOnnx):
    """One mask per box, SAM2's encoder and decoder run by ONNX Runtime. ``name`` is
    ``"sam2:<dir>@onnxruntime:<provider>"``. Build with :meth:`from_pretrained`."""

    family = FAMILY
    label = "SAM2"
    export = staticmethod(export)

    def __init__(self, encoder: OrtSession, decoder: OrtSession, model_dir: Path,
                 record: dict[str, Any], *, mask_threshold: float = 0.0,
                 cache_embedding: bool = True) -> None:
        model = _OrtSam2Model(encoder, decoder, record)
        adopt_shim(self, model, Sam2Segmenter(model, load_processing(model_dir),
                                              mask_threshold=mask_threshold,
                                              cache_embedding=cache_embedding),
                   record, encoder)
        self.providers = (encoder.provider, decoder.provider)
        self.name = f"{FAMILY}:{model_dir.name}@onnxruntime:{encoder.provider}"

    @staticmethod
    def _preprocessing(model_dir: Path) -> tuple[None, tuple[int, int]]:
        if not model_dir.is_dir():
            raise PerceptionError(f"SAM2 model not found at {model_dir}: "
                                  + pull_hint(model_dir, checkpoints=(HUB_ID,)))
        return None, load_processing(model_dir).size_hw

    @classmethod
    def _create(cls, sessions: tuple[OrtSession, ...], preprocessing: None,
                model_dir: Path, record: dict[str, Any], options: dict[str, Any]
                ) -> Sam2OnnxSegmenter:
        return cls(*sessions, model_dir, record, **options)

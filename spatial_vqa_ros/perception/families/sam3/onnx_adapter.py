"""SAM 3 on ONNX Runtime: image encoder, text encoder and prompt/mask decoder, three
graphs (TorchScript exporter, opset 18).

Why three, not two: the torch adapter encodes the frame once and the prompts once
while they stay the same (:class:`~.adapter.Sam3Detector`); keeping the text encoder
its own graph keeps both caches on ONNX Runtime, so a frame costs one image encoder
run and one decoder run over all prompts.

- ``image_encoder.onnx``: ``pixel_values`` (1, 3, S, S) -> ``fpn_0`` .. ``fpn_2`` and
  ``pos_0`` .. ``pos_2``, the three FPN levels the decoders read and their position
  encodings (the coarsest, fourth level is not read by the model's decoders and is
  left out);
- ``text_encoder.onnx``: ``input_ids``, ``attention_mask`` (P, 32) int64 ->
  ``text_features`` (P, 32, D), the projected CLIP states (``pooler_output``);
- ``decoder.onnx``: the six vision tensors (batch 1), ``text_features`` and
  ``attention_mask`` -> ``pred_logits`` (P, Q), ``pred_boxes`` (P, Q, 4) relative
  xyxy, ``pred_masks`` (P, Q, S/14*4, S/14*4) logits and ``presence_logits`` (P, 1):
  DETR encoder and decoder, scoring and mask decoder, the frame's features shared by
  the P prompts inside the graph;
- ``export.json`` (:mod:`..export_info`).

The prompt count P is dynamic in the text encoder and the decoder; S is the snapshot's
square input, fixed in the graphs (the processor resizes every camera size to it).
Box prompts (``input_boxes``) are not exported: transformers runs them through
torchvision's ``roi_align``, which does not import here, and the torch adapter does
not take them either.

Pre- and post-processing, the tokenizer, thresholds and both caches are the torch
adapter's own code: :class:`~.adapter.Sam3Detector` is built around an ONNX stand-in
for its model. The transformers model is never constructed here; torch and
transformers (the tokenizer) are imported when a model is exported or loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from ...runtime.onnx import OrtSession, export_onnx
from ...types import Detections, SensorInputs
from ..export_info import export_record, write_export_info
from ..onnx_plumbing import (
    OrtModelShim,
    begin_square_export,
    check_encoder_input,
    graph_module,
    open_fixed_input_export,
    open_or_export,
)
from .adapter import FAMILY, TEXT_TOKENS, Sam3Detector, load_snapshot_parts

__all__ = ["Sam3OnnxDetector", "export"]

ENCODER_FILE = "image_encoder.onnx"
TEXT_FILE = "text_encoder.onnx"
DECODER_FILE = "decoder.onnx"
#: The FPN levels the decoders read (of four), and their position encodings.
LEVELS = 3
FEATURES = tuple(f"fpn_{i}" for i in range(LEVELS))
POSITIONS = tuple(f"pos_{i}" for i in range(LEVELS))
OUTPUTS = ("pred_logits", "pred_boxes", "pred_masks", "presence_logits")
#: Prompts traced through the graphs: not 1, so the prompt axis is not specialised to 1.
_TRACE_PROMPTS = 2


@dataclass(frozen=True)
class VisionFeatures:
    """The image encoder's outputs as the torch adapter handles them (the fields of
    ``Sam3VisionEncoderOutput`` it reads): torch tensors, batch first."""

    last_hidden_state: Any
    fpn_hidden_states: tuple[Any, ...]
    fpn_position_encoding: tuple[Any, ...]


def _graphs(model: Any) -> tuple[Any, Any, Any]:
    """The image encoder, text encoder and decoder of ``model`` as modules of plain
    tensors."""
    from transformers.models.sam3.modeling_sam3 import Sam3VisionEncoderOutput

    def encode_image(model: Any, pixel_values: Any) -> tuple[Any, ...]:
        vision = model.get_vision_features(pixel_values)
        return (*vision.fpn_hidden_states[:LEVELS], *vision.fpn_position_encoding[:LEVELS])

    def encode_text(model: Any, input_ids: Any, attention_mask: Any) -> Any:
        return model.get_text_features(input_ids=input_ids, attention_mask=attention_mask,
                                       return_dict=True).pooler_output

    def decode(model: Any, *inputs: Any) -> tuple[Any, ...]:
        # FEATURES, POSITIONS (batch 1), then text_features and attention_mask
        levels, positions = inputs[:LEVELS], inputs[LEVELS:2 * LEVELS]
        text_features, attention_mask = inputs[2 * LEVELS:]
        prompts = text_features.shape[0]

        def shared(tensors):  # the fourth level is one the model drops ([:-1])
            return tuple(x.expand(prompts, -1, -1, -1) for x in (*tensors, tensors[-1]))

        vision = Sam3VisionEncoderOutput(last_hidden_state=None,
                                         fpn_hidden_states=shared(levels),
                                         fpn_position_encoding=shared(positions))
        out = model(vision_embeds=vision,
                    text_embeds=SimpleNamespace(pooler_output=text_features),
                    attention_mask=attention_mask)
        return tuple(getattr(out, name) for name in OUTPUTS)

    return (graph_module(model, encode_image), graph_module(model, encode_text),
            graph_module(model, decode))


def export(model_dir: str | Path, out_dir: str | Path, *,
           size_hw: tuple[int, int] | None = None) -> list[Path]:
    """Export the SAM 3 snapshot at ``model_dir`` to ``out_dir``: the three graphs and
    ``export.json``; returns the four paths (``size_hw``: see
    :func:`begin_square_export`)."""
    import torch

    start = begin_square_export(Sam3Detector.from_pretrained, model_dir, out_dir, size_hw)
    input_ids = torch.randint(0, len(start.torch_adapter.tokenizer),
                              (_TRACE_PROMPTS, TEXT_TOKENS), generator=start.generator)
    attention_mask = torch.ones(_TRACE_PROMPTS, TEXT_TOKENS, dtype=torch.long)
    attention_mask[:, TEXT_TOKENS // 3:] = 0
    encoder, text_encoder, decoder = _graphs(start.model)
    with torch.no_grad():
        vision = encoder(start.pixel_values)
        text_features = text_encoder(input_ids, attention_mask)
    by_prompt = {0: "prompts"}
    paths = [
        start.export_encoder(encoder, [*FEATURES, *POSITIONS]),
        export_onnx(text_encoder, (input_ids, attention_mask), start.out_dir / TEXT_FILE,
                    input_names=["input_ids", "attention_mask"],
                    output_names=["text_features"],
                    dynamic_axes={name: by_prompt for name in (
                        "input_ids", "attention_mask", "text_features")}),
        export_onnx(decoder, (*vision, text_features, attention_mask),
                    start.out_dir / DECODER_FILE,
                    input_names=[*FEATURES, *POSITIONS, "text_features",
                                 "attention_mask"],
                    output_names=list(OUTPUTS),
                    dynamic_axes={name: by_prompt for name in (
                        "text_features", "attention_mask", *OUTPUTS)})]
    record = export_record(FAMILY, start.model_dir, pixel_size_hw=list(start.side_hw),
                           text_tokens=TEXT_TOKENS,
                           feature_shapes=[list(v.shape) for v in vision[:LEVELS]])
    return [*paths, write_export_info(start.out_dir, record)]


class _OrtSam3Model(OrtModelShim):
    """The three graphs in the place of ``Sam3Model`` inside Sam3Detector: the calls it
    makes (``get_vision_features``, ``get_text_features``, the decoder call with
    vision features, text features and the prompts' attention mask)."""

    def __init__(self, encoder: OrtSession, text_encoder: OrtSession, decoder: OrtSession,
                 record: dict[str, Any]) -> None:
        self.encoder = encoder
        self.text_encoder = text_encoder
        self.decoder = decoder
        self.pixel_size_hw = tuple(record["pixel_size_hw"])
        # the exporter drops inputs a graph never reads (the decoder reads one position
        # encoding; Sam3LiteTextModel's text encoder reads no attention mask)
        self._decoder_inputs = tuple(decoder.input_names)
        self._text_inputs = tuple(text_encoder.input_names)
        #: how many times the decoder graph ran (for tests and timing reports)
        self.decoder_calls = 0

    def get_vision_features(self, pixel_values: Any) -> VisionFeatures:
        import torch

        check_encoder_input(pixel_values, self.pixel_size_hw, self.encoder)
        out = self.encoder.run({"pixel_values": pixel_values.cpu().numpy()})
        return VisionFeatures(None, tuple(torch.from_numpy(out[k]) for k in FEATURES),
                              tuple(torch.from_numpy(out[k]) for k in POSITIONS))

    def get_text_features(self, *, input_ids: Any, attention_mask: Any,
                          return_dict: bool = True) -> SimpleNamespace:
        import torch

        feeds = {"input_ids": _int64(input_ids), "attention_mask": _int64(attention_mask)}
        out = self.text_encoder.run({name: feeds[name] for name in self._text_inputs})
        return SimpleNamespace(pooler_output=torch.from_numpy(out["text_features"]))

    def __call__(self, *, vision_embeds: VisionFeatures, text_embeds: Any,
                 attention_mask: Any) -> SimpleNamespace:
        import torch

        # the torch adapter hands the frame's features as a batch of views, one per
        # prompt: the graph takes the one frame and shares it itself
        vision = dict(zip((*FEATURES, *POSITIONS),
                          (*vision_embeds.fpn_hidden_states[:LEVELS],
                           *vision_embeds.fpn_position_encoding[:LEVELS])))
        feeds = {name: vision[name][:1].cpu().numpy()
                 for name in self._decoder_inputs if name in vision}
        feeds["text_features"] = text_embeds.pooler_output.cpu().numpy()
        feeds["attention_mask"] = _int64(attention_mask)
        out = self.decoder.run(feeds)
        self.decoder_calls += 1
        return SimpleNamespace(**{name: torch.from_numpy(out[name]) for name in OUTPUTS})


def _int64(tensor: Any) -> np.ndarray:
    return tensor.cpu().numpy().astype(np.int64)


class Sam3OnnxDetector:
    """Instances for text prompts, SAM 3's graphs run by ONNX Runtime; the torch
    adapter's thresholds (``score_threshold``, ``mask_threshold``) as options. ``name``
    is ``"sam3:<dir>@onnxruntime:<provider>"``. Build with :meth:`from_pretrained`."""

    #: Its detections carry instance masks: it fills the segmenter's role too.
    masks_from_text = True

    def __init__(self, sessions: tuple[OrtSession, OrtSession, OrtSession], model_dir: Path,
                 record: dict[str, Any], *, tokenizer: Any, processing: Any,
                 **options: Any) -> None:
        encoder, text_encoder, decoder = sessions
        self.model = _OrtSam3Model(encoder, text_encoder, decoder, record)
        self.provider = encoder.provider
        self.providers = (encoder.provider, text_encoder.provider, decoder.provider)
        self.name = f"{FAMILY}:{model_dir.name}@onnxruntime:{encoder.provider}"
        self.record = record
        self._torch_adapter = Sam3Detector(self.model, tokenizer, processing,
                                           name=self.name, **options)

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, onnx_dir: str | Path, *,
                        providers: list[str] | None = None, export_missing: bool = False,
                        threads: int = 0, **options: Any) -> Sam3OnnxDetector:
        """The snapshot's tokenizer and pre-processing from ``model_dir`` (weights are
        not read), the graphs from ``onnx_dir``. ``export_missing``: export (needs the
        weights) when the export is missing, unreadable or stale, instead of refusing."""
        directory, _, tokenizer, processing = load_snapshot_parts(model_dir)
        onnx_dir = Path(onnx_dir)
        record, sessions = open_or_export(
            lambda: open_fixed_input_export(directory, onnx_dir, family=FAMILY,
                                            label="SAM 3", pixel_size_hw=processing.size_hw,
                                            graphs=(ENCODER_FILE, TEXT_FILE, DECODER_FILE),
                                            providers=providers, threads=threads),
            lambda: export(directory, onnx_dir), export_missing=export_missing)
        return cls(sessions, directory, record, tokenizer=tokenizer, processing=processing,
                   **options)

    @property
    def encoder_calls(self) -> int:
        """How many times the image encoder ran (once per distinct frame when cached)."""
        return self._torch_adapter.encoder_calls

    @property
    def text_calls(self) -> int:
        """How many times the text encoder ran (once per distinct prompt list)."""
        return self._torch_adapter.text_calls

    def detect(self, inputs: SensorInputs, prompts: Any) -> Detections:
        """As :meth:`.adapter.Sam3Detector.detect`: every instance of every prompt,
        with its mask."""
        return self._torch_adapter.detect(inputs, prompts)

    def segment(self, inputs: SensorInputs, xyxy: np.ndarray,
                depth_m: np.ndarray | None) -> np.ndarray:
        """Refused as by the torch adapter (box prompts are not exported either)."""
        return self._torch_adapter.segment(inputs, xyxy, depth_m)

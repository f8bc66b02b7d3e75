"""Grounding DINO and MM Grounding DINO on ONNX Runtime: the torch adapter's detector with
the network exported.

Why: on a robot the detector runs every frame, and ONNX Runtime (TensorRT -> CUDA -> CPU,
the provider reported in ``name``) runs the same graph without the Python model code.
Only the network moves: text passes, the processor's pre- and post-processing, the
token -> prompt assignment and class-wise NMS are the torch adapter's own code
(:class:`~.adapter.GroundingDinoDetector` is built around an ONNX stand-in for
its model), so the two paths cannot drift apart.

``model.onnx``: ``pixel_values`` (B, 3, H, W), ``pixel_mask`` (B, H, W), ``input_ids``,
``token_type_ids``, ``attention_mask`` (B, T) -> ``logits`` (B, queries, 256; the
tokens past T are -inf, as in torch) and ``pred_boxes`` (B, queries, 4; centre x, centre
y, width, height relative to the image). B and T (up to the text encoder's 256 tokens)
are dynamic; H x W is fixed. ``export.json`` beside it (:mod:`..export_info`) records the
camera size and the model input size it was exported for, the source snapshot and the
versions; it is removed before and written after the model, so a half-finished export is
never loaded.

Why one input size: the exported graph fixes the pixel size (PERCEPTION.md), and the
``GroundingDinoProcessor`` resizes keeping the aspect ratio (shortest side 800, longest
1333 for the released checkpoints), so the model input depends on the camera size.
:func:`export` therefore exports at what the processor makes of ONE camera size
(``size_hw``, default 640x480 -> 1066x800 for the released processor) and a frame whose
model input differs is refused, saying to export again with ``--size``. Camera sizes of
the same aspect ratio often give the same input and then all work.

Why the dynamo exporter: the TorchScript tracer exports this model without an error and
gives logits 20-100 % wrong (PERCEPTION.md). torch.export + onnxscript is right (~1e-6),
but only with these changes, made for the export alone by :func:`exportable`, which
restores the originals after (checked with torch 2.13 / transformers 5.23):

- ``generate_masks_with_special_tokens_and_transfer_map`` (the text self-attention mask
  and position ids between the hard-coded special tokens 101/102/1012/1029) is replaced
  by :func:`text_masks`, equal and made of convertible ops: ``torch.isin`` decomposes to
  ``aten.searchsorted``, which has no ONNX function ("No ONNX function found for
  aten.searchsorted.Tensor"), so it becomes a compare-and-any; ``cummax``/``cummin`` (the
  previous / next special token) have none either, so they become a max / min over a
  (T, T) mask of the earlier / later positions; the boolean ``eye`` becomes an
  ``arange`` comparison (torch 2.13 converts it either way; PERCEPTION.md lists it
  among the ops to patch, and the comparison costs nothing). Grounding DINO and MM
  Grounding DINO each have their own copy of the function in transformers: both are
  replaced.
- ``TRANSFORMERS_DISABLE_TORCH_CHECK=1``: transformers' shape check in the deformable
  attention becomes ``aten._is_all_true`` under torch.export, which has no ONNX function
  ("No ONNX function found for aten._is_all_true"); the shapes it checks are fixed in the
  exported graph.

:func:`export` then runs the written graph on ONNX Runtime (CPU) at a second shape
(batch 1, a shorter prompt; the trace is batch 2 with two prompt lengths, as torch.export
specialises what it sees as 1) against the unpatched torch model, refuses an export that
disagrees, and records the agreement (``parity``). It compares query by query and asks
95 % of them to agree, not all: the queries are the encoder's top 900 of ~18000
proposals, ordered by score, and at full size neighbours can score within float rounding
of each other (a random full-size model had two 2e-5 apart while ORT and torch scores
differ by up to 8e-5), so ORT may take them in swapped order; each query index has its
own learned content embedding, so the swapped queries' logits and boxes differ wholly
(in that model 2 of 900: max relative error 0.58, the other 898 within 3e-6). A wrong
export (TorchScript's) differs in nearly every query. The same rounding separates torch
on two devices; a detection near such a tie may differ between the runtimes.

The export is slow and needs ``onnxscript``: about 50 s for the tiny test model on 2
cores; 335 s and 4.4 GB of memory for the full-size architecture (grounding-dino-tiny's,
172 M parameters, random weights, 1066x800), about a minute of it the check.

torch, transformers and onnxruntime are imported when a detector is built or exported.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from ...errors import PerceptionError
from ...runtime.onnx import OrtSession, create_session, export_onnx
from ...types import Detections, SensorInputs
from ..common import load_errors, load_failed, snapshot_config
from ..export_info import (
    EXPORT_HINT,
    EXPORT_INFO,
    export_record,
    read_export_info,
    write_export_info,
)
from ..onnx_plumbing import OrtModelShim, check_size, open_or_export
from .adapter import HUB_ID, GroundingDinoDetector, check_tokenizer, model_class_of

__all__ = ["DEFAULT_SIZE_HW", "GroundingDinoOnnxDetector", "export", "exportable",
           "pixel_size_hw", "query_errors", "relative_error", "text_masks"]

FAMILY = "grounding_dino"
MODEL_FILE = "model.onnx"
INPUTS = ("pixel_values", "pixel_mask", "input_ids", "token_type_ids", "attention_mask")
OUTPUTS = ("logits", "pred_boxes")
#: The camera size exported for when none is given (H, W).
DEFAULT_SIZE_HW = (480, 640)
#: A query agrees with torch when its logits and box are within this relative error (to
#: the output's largest finite value): a right export is ~1e-6, a wrong one ~1e-1.
QUERY_TOLERANCE = 1e-4
#: The share of queries that must agree for :func:`export` to keep the graph (not all:
#: see the module docstring on near-tied proposals).
MIN_QUERIES_AGREEING = 0.95
#: Texts traced (batch 2, padded: neither dimension is 1) and checked (batch 1, shorter).
_TRACE_TEXTS = ["a cat. a remote control.", "book."]
_CHECK_TEXTS = ["a."]
_TORCH_CHECK = "TRANSFORMERS_DISABLE_TORCH_CHECK"
_MASKS = "generate_masks_with_special_tokens_and_transfer_map"


def text_masks(input_ids: Any, special_tokens: Any) -> tuple[Any, Any]:
    """transformers' ``generate_masks_with_special_tokens_and_transfer_map`` in ops both
    exporters convert: (B, T, T) text self-attention mask (a token sees the tokens of its
    phrase, and itself) and (B, T) position ids (distance from the phrase start)."""
    import torch

    batch_size, seq_len = input_ids.shape
    special = (input_ids[..., None] == special_tokens.to(input_ids.device)).any(-1)  # isin
    position = torch.arange(seq_len, device=input_ids.device)
    earlier = position[None, :] < position[:, None]  # (i, j): j before i
    # the last special token before each position (cummax), the first at or after (cummin)
    prev_special = torch.where(special[:, None, :] & earlier, position, -1).amax(-1)
    next_special = torch.where(special[:, None, :] & ~earlier, position, seq_len).amin(-1)
    valid_block = (next_special != 0) & (next_special != seq_len - 1) & (next_special != seq_len)
    attention_mask = ((next_special[:, :, None] == next_special[:, None, :])
                      & valid_block[:, None, :])
    attention_mask = attention_mask | (position[:, None] == position[None, :])  # bool eye
    position_ids = position[None, :].expand(batch_size, -1) - prev_special - 1
    position_ids = torch.where(valid_block, position_ids, torch.zeros_like(position_ids))
    return attention_mask, position_ids.clamp(min=0).to(torch.long)


@contextlib.contextmanager
def exportable() -> Iterator[None]:
    """While inside: Grounding DINO's forward in ops the dynamo exporter converts (the
    module docstring says which and why); the originals are restored on the way out."""
    from transformers.models.grounding_dino import modeling_grounding_dino
    from transformers.models.mm_grounding_dino import modeling_mm_grounding_dino

    modules = (modeling_grounding_dino, modeling_mm_grounding_dino)
    saved = [getattr(module, _MASKS) for module in modules]
    check = os.environ.get(_TORCH_CHECK)
    try:
        for module in modules:
            setattr(module, _MASKS, text_masks)
        os.environ[_TORCH_CHECK] = "1"
        yield
    finally:
        for module, original in zip(modules, saved):
            setattr(module, _MASKS, original)
        if check is None:
            os.environ.pop(_TORCH_CHECK, None)
        else:
            os.environ[_TORCH_CHECK] = check


def _graph(model: Any) -> Any:
    """The model as a module of plain tensors returning (logits, pred_boxes)."""
    import torch

    class GroundingDinoGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, pixel_values, pixel_mask, input_ids, token_type_ids,
                    attention_mask):
            out = self.model(pixel_values=pixel_values, pixel_mask=pixel_mask,
                             input_ids=input_ids, token_type_ids=token_type_ids,
                             attention_mask=attention_mask)
            return out.logits, out.pred_boxes

    return GroundingDinoGraph().eval()


def _encode(processor: Any, size_hw: tuple[int, int], texts: list[str]) -> dict:
    """What the processor makes of random camera images of ``size_hw`` with ``texts``."""
    rng = np.random.default_rng(len(texts))
    images = [rng.integers(0, 256, (*size_hw, 3), np.uint8) for _ in texts]
    return dict(processor(images=images, text=texts, padding=True, return_tensors="pt"))


def pixel_size_hw(processor: Any, size_hw: tuple[int, int]) -> tuple[int, int]:
    """The model input (H, W) the processor makes of a camera image of ``size_hw``."""
    encoded = processor.image_processor(np.zeros((*size_hw, 3), np.uint8),
                                        return_tensors="pt")
    return tuple(int(v) for v in encoded["pixel_values"].shape[-2:])


def query_errors(got: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                 names: Sequence[str] = OUTPUTS) -> np.ndarray:
    """(B * queries,) each query's relative error: the largest over ``names`` of its max
    |difference| / the output's max |expected|, over finite values (inf where the
    logits' -inf padding is not -inf in both, or the shapes differ)."""
    errors = []
    for name in names:
        a, b = np.asarray(got[name], np.float64), np.asarray(expected[name], np.float64)
        if a.shape != b.shape:
            return np.full(1, np.inf)
        finite = np.isfinite(b)
        scale = max(float(np.abs(b[finite]).max(initial=0.0)), 1e-12)
        diff = np.abs(np.where(finite, a, 0.0) - np.where(finite, b, 0.0)) / scale
        diff[np.isfinite(a) != finite] = np.inf
        errors.append(diff.reshape(a.shape[0] * a.shape[1], -1).max(axis=1))
    return np.max(errors, axis=0)


def relative_error(got: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                   names: Sequence[str] = OUTPUTS) -> float:
    """The largest of :func:`query_errors`: max |difference| / max |expected|."""
    return float(query_errors(got, expected, names).max())


def export(model_dir: str | Path, out_dir: str | Path, *,
           size_hw: tuple[int, int] | None = None) -> list[Path]:
    """Export the (MM) Grounding DINO snapshot at ``model_dir`` for camera images of
    ``size_hw`` (H, W; default :data:`DEFAULT_SIZE_HW`): ``out_dir/model.onnx`` at the
    processor's input size for that camera, checked against torch at a second shape,
    and ``out_dir/export.json``. Returns both paths."""
    import torch

    size_hw = check_size(DEFAULT_SIZE_HW if size_hw is None else size_hw)
    model_dir, out_dir = Path(model_dir).expanduser(), Path(out_dir).expanduser()
    adapter = GroundingDinoDetector.from_pretrained(model_dir)  # the torch adapter's checks
    model, processor = adapter.model, adapter.processor
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / EXPORT_INFO).unlink(missing_ok=True)  # a half-done export never looks whole
    example = _encode(processor, size_hw, _TRACE_TEXTS)
    batch = torch.export.Dim("batch", min=1, max=64)
    tokens = torch.export.Dim("tokens", min=2, max=adapter.max_text_tokens)
    dynamic = {"pixel_values": {0: batch}, "pixel_mask": {0: batch},
               **{name: {0: batch, 1: tokens} for name in INPUTS[2:]}}
    with exportable(), warnings.catch_warnings():
        # torch.export's notes on its own internals and on axis names: not ours to act on
        warnings.filterwarnings("ignore", category=FutureWarning, module="copyreg")
        warnings.filterwarnings("ignore", message=".*axis name", category=UserWarning)
        path = export_onnx(_graph(model), tuple(example[name] for name in INPUTS),
                           out_dir / MODEL_FILE, input_names=INPUTS, output_names=OUTPUTS,
                           dynamo=True, dynamic_shapes=dynamic)
    check = _encode(processor, size_hw, _CHECK_TEXTS)
    with torch.inference_mode():
        expected = model(**check)
    # on the CPU: this checks the graph (an accelerator's own rounding is not the export's)
    got = create_session(path, providers=["CPUExecutionProvider"]).run(
        {name: check[name].numpy() for name in INPUTS})
    errors = query_errors(got, {"logits": expected.logits.numpy(),
                                "pred_boxes": expected.pred_boxes.numpy()})
    parity = {"tolerance": QUERY_TOLERANCE,
              "queries_agreeing": float(np.mean(errors <= QUERY_TOLERANCE)),
              "max_relative_error": float(errors.max())}
    if parity["queries_agreeing"] < MIN_QUERIES_AGREEING:
        path.unlink(missing_ok=True)
        raise PerceptionError(
            f"the Grounding DINO graph exported from {model_dir} disagrees with torch "
            f"({parity['queries_agreeing']:.0%} of the queries within {QUERY_TOLERANCE} "
            f"relative): not written; the installed torch {torch.__version__} / "
            "transformers export it wrongly")
    record = export_record(FAMILY, model_dir, model_type=model.config.model_type,
                           camera_size_hw=list(size_hw),
                           pixel_size_hw=list(example["pixel_values"].shape[-2:]),
                           max_text_tokens=adapter.max_text_tokens, inputs=list(INPUTS),
                           outputs=list(OUTPUTS), exporter="dynamo", parity=parity)
    return [path, write_export_info(out_dir, record)]


class _InputSizeError(PerceptionError):
    """The processor made a model input of another size than the graph's."""


class _OrtGroundingDinoModel(OrtModelShim):
    """The graph in the place of the transformers model inside GroundingDinoDetector:
    called with the processor's tensors, returns the outputs post-processing reads."""

    def __init__(self, session: OrtSession, record: dict[str, Any]) -> None:
        self.session = session
        self.pixel_size_hw = tuple(record["pixel_size_hw"])
        self.config = SimpleNamespace(max_text_len=int(record["max_text_tokens"]),
                                      model_type=record.get("model_type"))

    def __call__(self, **encoded: Any) -> Any:
        import torch

        got_hw = tuple(encoded["pixel_values"].shape[-2:])
        if got_hw != self.pixel_size_hw:
            raise _InputSizeError(f"model input {got_hw}, graph {self.pixel_size_hw}")
        out = self.session.run({name: encoded[name].cpu().numpy() for name in INPUTS})
        return SimpleNamespace(logits=torch.from_numpy(out["logits"]),
                               pred_boxes=torch.from_numpy(out["pred_boxes"]))


class GroundingDinoOnnxDetector:
    """Text prompts -> boxes with an exported (MM) Grounding DINO on ONNX Runtime.
    ``session``: the exported graph's; ``processor``: the snapshot's
    ``GroundingDinoProcessor``; ``record``: its ``export.json``; ``options``: the torch
    adapter's (name, score_threshold, text_threshold, nms_threshold). ``name`` is
    ``"<prefix>:<dir>@onnxruntime:<provider>"``. Build with :meth:`from_pretrained`."""

    def __init__(self, session: OrtSession, processor: Any, record: dict[str, Any],
                 **options: Any) -> None:
        self.model = _OrtGroundingDinoModel(session, record)
        self._torch_adapter = GroundingDinoDetector(self.model, processor, **options)
        self.session = session
        self.processor = processor
        self.record = record
        self.provider = session.provider
        self.camera_size_hw: tuple[int, int] = tuple(record["camera_size_hw"])
        self.pixel_size_hw: tuple[int, int] = self.model.pixel_size_hw
        self.name = f"{self._torch_adapter.name}@onnxruntime:{session.provider}"

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, onnx_dir: str | Path, *,
                        providers: Sequence[str] | None = None,
                        size_hw: tuple[int, int] | None = None, export_missing: bool = False,
                        threads: int = 0, **options: Any) -> GroundingDinoOnnxDetector:
        """The processor from the snapshot ``model_dir`` (never downloads), the graph
        from ``onnx_dir`` (made by :func:`export`). ``providers``: ONNX Runtime's, tried in
        order (default TensorRT -> CUDA -> CPU). ``size_hw``: the camera's (H, W), when
        known: an export whose input size differs is refused now rather than at the first
        frame. ``export_missing``: export (at ``size_hw``, default
        :data:`DEFAULT_SIZE_HW`; needs the weights) when the export is missing,
        unreadable, stale or for another input size, instead of refusing."""
        directory, config = snapshot_config(model_dir, "Grounding DINO", HUB_ID)
        _, prefix = model_class_of(directory, config)
        processor = _load_processor(directory)
        onnx_dir = Path(onnx_dir).expanduser()
        size_hw = None if size_hw is None else check_size(size_hw)
        where = {"size_hw": size_hw, "providers": providers, "threads": threads}
        record, session = open_or_export(
            lambda: _open(directory, onnx_dir, processor, **where),
            lambda: export(directory, onnx_dir, size_hw=size_hw),
            export_missing=export_missing)
        options.setdefault("name", f"{prefix}:{directory.name}")
        return cls(session, processor, record, **options)

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        """Boxes (xyxy pixels, clipped to the image) labelled with the prompts; a frame
        the processor makes another model input of than the export's is refused."""
        try:
            return self._torch_adapter.detect(inputs, prompts)
        except _InputSizeError:
            height, width = inputs.rgb.shape[:2]
            (ch, cw), (ph, pw) = self.camera_size_hw, self.pixel_size_hw
            raise PerceptionError(
                f"{self.name} was exported for {cw}x{ch} camera images ({pw}x{ph} model "
                f"input) and this frame is {width}x{height}, which the processor resizes "
                "to another input size: export again at this camera's size with "
                f"'spatial-vqa models export --size {width}x{height}' (the graph's input "
                "size is fixed when it is exported)") from None


def _load_processor(directory: Path) -> Any:
    """The snapshot's processor with the torch adapter's tokenizer check."""
    from transformers import GroundingDinoProcessor

    try:
        processor = GroundingDinoProcessor.from_pretrained(directory, local_files_only=True)
    except load_errors() as error:
        raise load_failed("Grounding DINO", directory, HUB_ID, error) from None
    check_tokenizer(processor, directory)
    return processor


def _open(model_dir: Path, onnx_dir: Path, processor: Any, *,
          size_hw: tuple[int, int] | None, providers: Sequence[str] | None,
          threads: int) -> tuple[dict[str, Any], OrtSession]:
    """The export record (checked) and a session on its graph."""
    record = read_export_info(onnx_dir, FAMILY, model_dir)
    try:
        camera = check_size(record["camera_size_hw"])
        pixel = check_size(record["pixel_size_hw"])
        int(record["max_text_tokens"])
    except (KeyError, TypeError, ValueError, PerceptionError):
        raise PerceptionError(f"{onnx_dir / EXPORT_INFO} is not a Grounding DINO export "
                              f"record: export again with {EXPORT_HINT}") from None
    if size_hw is not None and pixel_size_hw(processor, size_hw) != pixel:
        raise PerceptionError(
            f"the Grounding DINO export at {onnx_dir} is for {camera[1]}x{camera[0]} camera "
            f"images ({pixel[1]}x{pixel[0]} model input), the camera gives "
            f"{size_hw[1]}x{size_hw[0]}: export again at the camera's size with "
            f"'spatial-vqa models export --size {size_hw[1]}x{size_hw[0]}'")
    session = create_session(onnx_dir / MODEL_FILE, providers=providers, threads=threads)
    if session.input_names != list(INPUTS):
        raise PerceptionError(f"{session.path} takes {session.input_names}, not Grounding "
                              f"DINO's {list(INPUTS)}: export again with {EXPORT_HINT}")
    return record, session

"""What every family's ONNX Runtime / TensorRT adapter shares: the camera-size check,
export-if-missing, the ``export.json`` check of a fixed-input export, and the base of
the stand-ins that take the torch model's place inside a torch adapter.

Why one place: the six ``onnx_adapter.py`` modules repeated these blocks with one word
changed; a fix to one (say, what counts as a stale export) has to reach all of them.
The stand-ins (:class:`OrtModelShim`) hold sessions, never a model: the ONNX Runtime and
TensorRT paths read the snapshot's config and processor only, and never construct the
transformers model (tested with model construction patched to raise).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..errors import PerceptionError
from ..runtime.int8 import check_precision, int8_graph
from ..runtime.onnx import OrtSession, create_session, export_onnx
from .export_info import EXPORT_HINT, EXPORT_INFO, read_export_info

__all__ = ["DECODER_FILE", "ENCODER_FILE", "BoxSegmenterOnnx", "EncoderDecoderShim",
           "ExportStart", "OrtModelShim", "adopt_shim", "begin_square_export",
           "check_encoder_input",
           "check_size", "graph_module", "open_fixed_input_export", "open_or_export"]

Opened = TypeVar("Opened")
#: The two graphs of a promptable box segmenter (:class:`BoxSegmenterOnnx`).
ENCODER_FILE = "image_encoder.onnx"
DECODER_FILE = "mask_decoder.onnx"


def check_size(size_hw: Any) -> tuple[int, int]:
    """``size_hw`` as a positive (height, width) of ints; PerceptionError otherwise."""
    try:
        height, width = (int(v) for v in size_hw)
    except (TypeError, ValueError):
        raise PerceptionError(f"size_hw must be (height, width), got {size_hw!r}") from None
    if height < 1 or width < 1:
        raise PerceptionError(f"size_hw must be positive, got {size_hw!r}")
    return height, width


@dataclass(frozen=True)
class ExportStart:
    """What an image-encoder export starts from: the torch adapter (loaded, so its own
    checks ran), the snapshot and output directories, the seeded generator the trace
    inputs come from, and one random (1, 3, H, W) image of the snapshot's input size."""

    torch_adapter: Any
    model_dir: Path
    out_dir: Path
    generator: Any
    pixel_values: Any

    @property
    def model(self) -> Any:
        """The torch adapter's transformers model, the one the graphs are traced from."""
        return self.torch_adapter.model

    @property
    def side_hw(self) -> tuple[int, int]:
        """The square input size the snapshot's pre-processing makes of every frame."""
        return self.torch_adapter.processing.size_hw

    def export_encoder(self, encoder: Any, output_names: Sequence[str]) -> Path:
        """Export ``encoder(pixel_values)`` to ``out_dir/image_encoder.onnx``."""
        return export_onnx(encoder, (self.pixel_values,), self.out_dir / ENCODER_FILE,
                           input_names=["pixel_values"], output_names=list(output_names))


def begin_square_export(load: Callable[[Path], Any], model_dir: str | Path,
                        out_dir: str | Path, size_hw: Any = None) -> ExportStart:
    """Load the torch adapter with ``load(model_dir)``, remove ``out_dir``'s
    ``export.json`` (a half-done export never looks whole) and draw the trace image at
    the adapter's ``processing.size_hw`` (the graphs take that one size). ``size_hw``,
    the camera size, is not used: the graphs take every camera size; every family's
    ``export`` accepts it so that all export alike."""
    import torch

    del size_hw
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    torch_adapter = load(model_dir)
    (out_dir / EXPORT_INFO).unlink(missing_ok=True)
    generator = torch.Generator().manual_seed(0)
    pixel_values = torch.randn(1, 3, *torch_adapter.processing.size_hw, generator=generator)
    return ExportStart(torch_adapter, model_dir, out_dir, generator, pixel_values)


def check_encoder_input(pixel_values: Any, pixel_size_hw: tuple[int, ...],
                        encoder: OrtSession) -> None:
    """PerceptionError saying to export again when the pre-processing made an image of
    another size than the exported ``encoder`` takes."""
    got_hw = tuple(pixel_values.shape[-2:])
    if got_hw != tuple(pixel_size_hw):
        raise PerceptionError(
            f"the pre-processing made a {got_hw[1]}x{got_hw[0]} image, the ONNX encoder at "
            f"{encoder.path} takes {pixel_size_hw[1]}x{pixel_size_hw[0]} (the pre-processing "
            f"config changed since the export?): export again with {EXPORT_HINT}")


def graph_module(model: Any, forward: Callable[..., Any]) -> Any:
    """An eval-mode torch module whose ``forward(*tensors)`` is ``forward(model,
    *tensors)``, holding ``model`` as its submodule ``model`` (so the exporter writes its
    weights as the graph's initialisers). Why: a graph takes and returns plain tensors,
    while the transformers call takes keyword arguments and returns an output object;
    each family writes only that translation, not one more wrapper class."""
    import torch

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            return forward(self.model, *tensors)

    return Graph().eval()


def open_or_export(open_export: Callable[[], Opened], export: Callable[[], Any], *,
                   export_missing: bool) -> Opened:
    """``open_export()``; when it refuses (missing, unreadable, stale or mismatched
    export) and ``export_missing`` is set, ``export()`` (which needs the weights) and
    open again. Without ``export_missing`` the refusal, which says to export, stands."""
    try:
        return open_export()
    except PerceptionError:
        if not export_missing:
            raise
        export()
        return open_export()


def open_fixed_input_export(model_dir: Path, onnx_dir: Path, *, family: str, label: str,
                            pixel_size_hw: tuple[int, int], graphs: Sequence[str],
                            providers: Sequence[str] | None, threads: int,
                            int8: Collection[str] = ()
                            ) -> tuple[dict[str, Any], tuple[OrtSession, ...]]:
    """The record and sessions of an export whose graphs take one fixed image size
    (``pixel_size_hw`` in its record): PerceptionError saying to export again when the
    record is missing, of another family or snapshot, has no size, or a size other than
    the one the snapshot's pre-processing makes now. The graphs named in ``int8`` run
    as their int8 versions (:func:`~..runtime.int8.int8_graph`, made on first use)."""
    record = read_export_info(onnx_dir, family, model_dir)
    shape = record.get("pixel_size_hw")
    if not (isinstance(shape, list) and len(shape) == 2
            and all(isinstance(v, int) and v > 0 for v in shape)):
        raise PerceptionError(f"{onnx_dir / EXPORT_INFO} is not a {label} export record: "
                              f"export again with {EXPORT_HINT}")
    if tuple(shape) != tuple(pixel_size_hw):
        raise PerceptionError(f"the {label} export at {onnx_dir} takes {shape[1]}x{shape[0]} "
                              f"images, the snapshot at {model_dir} makes "
                              f"{pixel_size_hw[1]}x{pixel_size_hw[0]}: export again with "
                              f"{EXPORT_HINT}")
    paths = [int8_graph(onnx_dir / name) if name in int8 else onnx_dir / name
             for name in graphs]
    return record, tuple(create_session(path, providers=providers, threads=threads)
                         for path in paths)


class OrtModelShim:
    """Base of an exported graph standing in for the torch model inside the family's
    torch adapter, so pre- and post-processing run the same code on both runtimes. What
    the adapters ask of a model besides calling it: ``to`` and ``eval`` (no-ops: inputs
    stay on the CPU, the provider places the work), ``device`` and ``dtype``."""

    device = "cpu"

    @property
    def dtype(self) -> Any:
        import torch

        return torch.float32

    def to(self, *args: Any, **kwargs: Any) -> OrtModelShim:
        return self

    def eval(self) -> OrtModelShim:
        return self


def adopt_shim(adapter: Any, shim: OrtModelShim, torch_adapter: Any,
               record: dict[str, Any], session: OrtSession) -> None:
    """Give an ONNX Runtime adapter what every one of them holds: its stand-in model
    (``model``), the torch adapter built around that stand-in (``_torch_adapter``, which
    runs the pre- and post-processing), its export record (``record``) and the provider
    of its first graph (``provider``). Why one place: the adapters' constructors set
    these four alike, line for line."""
    adapter.model = shim
    adapter._torch_adapter = torch_adapter
    adapter.record = record
    adapter.provider = session.provider


class EncoderDecoderShim(OrtModelShim):
    """Base of the stand-ins for a promptable segmenter (SAM, SAM2): an image encoder
    run once per frame, a prompt/mask decoder once per box set, and the image size
    both were exported at (``record["pixel_size_hw"]``)."""

    def __init__(self, encoder: OrtSession, decoder: OrtSession,
                 record: dict[str, Any]) -> None:
        self.encoder = encoder
        self.decoder = decoder
        self.pixel_size_hw = tuple(record["pixel_size_hw"])
        #: how many times the decoder graph ran (for tests and timing reports)
        self.decoder_calls = 0


class BoxSegmenterOnnx:
    """Base of the box segmenters whose ``image_encoder.onnx`` and ``mask_decoder.onnx``
    run inside their torch adapter (``_torch_adapter``, built by the subclass around an
    :class:`EncoderDecoderShim`): one way to open (or export) the two graphs, and the
    calls passed through. Why one place: SAM and SAM2 opened, exported and delegated
    alike, line for line.

    A subclass sets ``family`` and ``label`` (the name in messages) and defines
    ``export(model_dir, onnx_dir, **input_options)``, ``_preprocessing(model_dir,
    **input_options)`` -> (what its constructor takes, the encoder's input size) and
    ``_create(sessions, preprocessing, model_dir, record, options)``; ``input_options``
    names the options that shape the graphs' input (SAM's ``input_size``), which go to
    the export and the pre-processing, not the constructor."""

    family = ""
    label = ""
    input_options: tuple[str, ...] = ()
    _torch_adapter: Any

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, onnx_dir: str | Path, *,
                        providers: list[str] | None = None, export_missing: bool = False,
                        threads: int = 0, precision: str = "fp32", **options: Any) -> Any:
        """The snapshot's pre-processing from ``model_dir`` (weights are not read), the
        graphs from ``onnx_dir``. ``export_missing``: export (needs the weights) when the
        export is missing, unreadable, stale or for another input, instead of refusing.
        ``precision``: "int8" runs the image encoder, nearly all the cost, as its int8
        graph (:mod:`~..runtime.int8`; the decoder stays float). The options named in
        ``input_options`` shape the export; the others go to the constructor
        (``mask_threshold``, ``cache_embedding``)."""
        model_dir, onnx_dir = Path(model_dir), Path(onnx_dir)
        int8 = (ENCODER_FILE,) if check_precision(precision) == "int8" else ()
        shaping = {k: options.pop(k) for k in cls.input_options if k in options}
        preprocessing, pixel_hw = cls._preprocessing(model_dir, **shaping)
        record, sessions = open_or_export(
            lambda: open_fixed_input_export(model_dir, onnx_dir, family=cls.family,
                                            label=cls.label, pixel_size_hw=pixel_hw,
                                            graphs=(ENCODER_FILE, DECODER_FILE),
                                            providers=providers, threads=threads,
                                            int8=int8),
            lambda: cls.export(model_dir, onnx_dir, **shaping),
            export_missing=export_missing)
        adapter = cls._create(sessions, preprocessing, model_dir, record, options)
        if int8:  # the provenance says which graph ran
            adapter.name = f"{adapter.name}:int8"
        return adapter

    @property
    def encoder_calls(self) -> int:
        """How many times the image encoder ran (once per distinct frame when cached)."""
        return self._torch_adapter.encoder_calls

    def segment(self, inputs: Any, xyxy: Any, depth_m: Any) -> Any:
        """(N, H, W) bool masks for the pixel xyxy boxes of the original image, by the
        torch adapter's pre- and post-processing around the graphs."""
        return self._torch_adapter.segment(inputs, xyxy, depth_m)

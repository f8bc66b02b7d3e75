"""Depth Anything V2 metric and Prompt Depth Anything on ONNX Runtime.

Why: on a robot the torch eager path is the slow one; an exported graph runs on ONNX
Runtime (TensorRT -> CUDA -> CPU, the provider reported in ``name``) without torch's
per-call overhead. The graph is the model alone: pre- and post-processing stay the
checkpoint's own transformers processor, run by the SAME code as the torch adapter
(:class:`~.adapter.DepthAnythingDepth` is built around an ONNX stand-in for its
model), so prompts, hole filling, bicubic resize and NaN rules cannot drift apart.

Export trap (see PERCEPTION.md): the head resizes to ``int(patch_h * patch_size)``, so a
traced graph fixes its output H x W. :func:`export` therefore traces at the processed
input size of ONE camera size and records it, with the source snapshot and versions, in
``export.json`` beside ``model.onnx``. A frame of another size is refused with what to
do; ``from_pretrained(..., size_hw=...)`` refuses at start, or re-exports when
``export_missing=True``. Prompt Depth Anything exports with its prompt as a second input
(the sensor depth at the camera size): such an export needs sensor depth on every frame
(the torch adapter's unprompted fallback is not metric and is refused here).

The export record (``export.json``) is :mod:`..export_info`'s.

torch and transformers are imported when a model is exported or loaded, not on import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PerceptionError
from ...runtime.onnx import OrtSession, create_session, export_onnx
from ...types import DepthResult, SensorInputs, check_rgb
from ..export_info import (
    EXPORT_HINT,
    EXPORT_INFO,
    export_record,
    read_export_info,
    write_export_info,
)
from ..onnx_plumbing import (
    OrtModelShim,
    adopt_shim,
    check_size,
    graph_module,
    open_or_export,
)
from .adapter import FAMILY, DepthAnythingDepth, _corrupt, _missing

__all__ = ["DepthAnythingOnnxDepth", "export"]

MODEL_FILE = "model.onnx"


# --- Depth Anything -----------------------------------------------------------------

def _input_names(prompted: bool) -> list[str]:
    return ["pixel_values", "prompt_depth"] if prompted else ["pixel_values"]


def _example_inputs(processor: Any, size_hw: tuple[int, int], prompted: bool) -> dict:
    """What the processor makes of a camera image of ``size_hw`` (and a prompt)."""
    height, width = size_hw
    rgb = np.random.default_rng(0).integers(0, 256, (height, width, 3), np.uint8)
    kwargs: dict[str, Any] = {}
    if prompted:
        rows = np.linspace(1.0, 3.0, height, dtype=np.float32)[:, None]
        kwargs = {"prompt_depth": np.repeat(rows, width, 1), "prompt_scale_to_meter": 1.0}
    return dict(processor(images=rgb, return_tensors="pt", **kwargs))


def _depth_graph(model: Any) -> Any:
    """``model`` as a module of plain tensors: (pixel_values[, prompt_depth]) -> depth."""

    def forward(model: Any, pixel_values: Any, prompt_depth: Any = None) -> Any:
        extra = {} if prompt_depth is None else {"prompt_depth": prompt_depth}
        return model(pixel_values=pixel_values, **extra).predicted_depth

    return graph_module(model, forward)


def export(model_dir: str | Path, out_dir: str | Path, *,
           size_hw: tuple[int, int], input_size: int = 0) -> list[Path]:
    """Export the snapshot at ``model_dir`` for camera images of ``size_hw`` (H, W):
    ``out_dir/model.onnx`` at the processor's input size for that camera (its short
    side ``input_size`` when given, as the adapter's option), and ``out_dir/export.json``
    recording it. Returns both paths."""

    size_hw = check_size(size_hw)
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    adapter = DepthAnythingDepth.from_pretrained(  # the torch adapter's checks
        model_dir, input_size=input_size)
    (out_dir / EXPORT_INFO).unlink(missing_ok=True)  # a half-done export never looks whole
    names = _input_names(adapter.prompted)
    example = _example_inputs(adapter.processor, size_hw, adapter.prompted)
    path = export_onnx(_depth_graph(adapter.model), tuple(example[n] for n in names),
                       out_dir / MODEL_FILE, input_names=names,
                       output_names=["predicted_depth"])
    record = export_record(FAMILY, model_dir, model_type=adapter.model.config.model_type,
                           camera_size_hw=list(size_hw),
                           input_size_hw=list(example["pixel_values"].shape[-2:]),
                           inputs=names)
    return [path, write_export_info(out_dir, record)]


class _OrtDepthModel(OrtModelShim):
    """The exported graph in the place of the torch model inside DepthAnythingDepth:
    called with the processor's tensors, returns what the model returns."""

    def __init__(self, session: OrtSession, config: Any, record: dict[str, Any]) -> None:
        self.session = session
        self.config = config
        self.input_size_hw = tuple(record["input_size_hw"])
        self.camera_size_hw = tuple(record["camera_size_hw"])
        self.prompted = "prompt_depth" in record["inputs"]

    def __call__(self, pixel_values: Any, prompt_depth: Any = None) -> Any:
        import torch
        from transformers.modeling_outputs import DepthEstimatorOutput

        got_hw = tuple(pixel_values.shape[-2:])
        if got_hw != self.input_size_hw:
            raise PerceptionError(
                f"the processor made a {got_hw[1]}x{got_hw[0]} model input, the ONNX model "
                f"at {self.session.path} takes {self.input_size_hw[1]}x"
                f"{self.input_size_hw[0]} (the processor config changed since the export?): "
                f"export again with {EXPORT_HINT}")
        feeds = {"pixel_values": pixel_values.cpu().numpy()}
        if self.prompted:
            if prompt_depth is None:
                raise PerceptionError(
                    "this Prompt Depth Anything export takes the sensor depth as its prompt "
                    "and the frame has none: unprompted output is not metric; give it depth "
                    "or use a metric Depth Anything V2 model")
            feeds["prompt_depth"] = prompt_depth.cpu().numpy()
        depth = self.session.run(feeds)["predicted_depth"]
        return DepthEstimatorOutput(predicted_depth=torch.from_numpy(depth))


def _load_config_and_processor(model_dir: Path) -> tuple[Any, Any]:
    """The snapshot's config and image processor (no weights needed)."""
    from transformers import AutoConfig, AutoImageProcessor

    if not (model_dir / "config.json").is_file():
        raise _missing(model_dir, "model (config.json)")
    try:
        config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
        processor = AutoImageProcessor.from_pretrained(model_dir, local_files_only=True)
    except Exception as error:  # OSError for missing files, others for bad fields
        raise _corrupt(model_dir, f"its config or processor cannot be loaded: "
                       f"{type(error).__name__}: {error}") from None
    return config, processor


class DepthAnythingOnnxDepth:
    """Depth Anything behind the DepthEstimator seam, the model run by ONNX Runtime.

    ``session``: the exported ``model.onnx``; ``processor`` and ``config``: the source
    snapshot's; ``record``: its ``export.json``. ``name`` is
    ``"<model_type>:<dir>@onnxruntime:<provider>"``; ``model_id`` is the torch
    adapter's (the snapshot's directory name). Build with :meth:`from_pretrained`.
    """

    def __init__(self, session: OrtSession, processor: Any, config: Any,
                 record: dict[str, Any], *, model_id: str = "",
                 min_prompt_span_m: float = 1e-3, input_size: int = 0) -> None:
        model = _OrtDepthModel(session, config, record)
        adopt_shim(self, model, DepthAnythingDepth(model, processor, model_id=model_id,
                                                   min_prompt_span_m=min_prompt_span_m,
                                                   input_size=input_size), record, session)
        self.processor = processor
        self.model_id = self._torch_adapter.model_id
        self.prompted = self._torch_adapter.prompted
        self.camera_size_hw: tuple[int, int] = self.model.camera_size_hw
        self.name = f"{self._torch_adapter.name}@onnxruntime:{session.provider}"

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, onnx_dir: str | Path, *,
                        providers: list[str] | None = None,
                        size_hw: tuple[int, int] | None = None, export_missing: bool = False,
                        threads: int = 0, **options: Any) -> DepthAnythingOnnxDepth:
        """The snapshot's processor and config from ``model_dir`` (weights are not read),
        the export from ``onnx_dir``. ``size_hw``: the camera's (H, W); an export for
        another size is refused. ``export_missing``: export (needs ``size_hw`` and the
        weights) when the export is missing, unreadable, stale or for another size,
        instead of refusing. ``options`` go to the constructor."""
        model_dir, onnx_dir = Path(model_dir), Path(onnx_dir)
        config, processor = _load_config_and_processor(model_dir)
        if size_hw is not None:
            size_hw = check_size(size_hw)
        elif export_missing:
            raise PerceptionError("export_missing needs the camera's size_hw to export at")
        record, session = open_or_export(
            lambda: _open(model_dir, onnx_dir, size_hw, providers, threads),
            lambda: export(model_dir, onnx_dir, size_hw=size_hw,
                           input_size=options.get("input_size", 0)),
            export_missing=export_missing)
        return cls(session, processor, config, record, model_id=model_dir.name, **options)

    def estimate(self, inputs: SensorInputs) -> DepthResult:
        """Metric depth (H, W) float32 at the rgb size, NaN where invalid; frames of
        another size than the export's are refused."""
        check_rgb(inputs.rgb)
        if inputs.size_hw != self.camera_size_hw:
            (height, width), (h, w) = self.camera_size_hw, inputs.size_hw
            raise PerceptionError(
                f"{self.name} was exported for {width}x{height} images and this frame is "
                f"{w}x{h}: export again at this camera's size with {EXPORT_HINT} (Depth "
                "Anything's output size is fixed when it is exported)")
        return self._torch_adapter.estimate(inputs)


def _open(model_dir: Path, onnx_dir: Path, size_hw: tuple[int, int] | None,
          providers: list[str] | None, threads: int) -> tuple[dict[str, Any], OrtSession]:
    record = read_export_info(onnx_dir, FAMILY, model_dir)
    try:
        camera = check_size(record["camera_size_hw"])
        check_size(record["input_size_hw"])
        inputs = list(record["inputs"])
    except (KeyError, TypeError, PerceptionError):
        inputs = []
    if not inputs or not set(inputs) <= {"pixel_values", "prompt_depth"}:
        raise PerceptionError(f"{onnx_dir / EXPORT_INFO} is not a Depth Anything export "
                              f"record: export again with {EXPORT_HINT}")
    if size_hw is not None and camera != size_hw:
        raise PerceptionError(
            f"the Depth Anything export at {onnx_dir} is for {camera[1]}x{camera[0]} "
            f"images, the camera gives {size_hw[1]}x{size_hw[0]}: export again at the "
            f"camera's size with {EXPORT_HINT}")
    return record, create_session(onnx_dir / MODEL_FILE, providers=providers,
                                  threads=threads)

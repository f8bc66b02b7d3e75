"""Depth Pro on ONNX Runtime: one graph, the model alone.

``model.onnx``: ``pixel_values`` (1, 3, S, S) -> ``predicted_depth`` (1, S, S) canonical
inverse depth and, with the field-of-view head, ``field_of_view`` (1,) degrees. The
model's input is fixed (S = 1536 for the released weights) and every camera frame is
resized to it, so one export serves every camera size. TorchScript exporter at batch 1
(it fails when the batch changes; one frame per call is what a robot does).
Pre- and post-processing, the CameraInfo-or-estimate rule and the NaN rules are the
torch adapter's own code: :class:`~.adapter.DepthProDepth` is built around an ONNX
stand-in for its model.

torch and transformers are imported when a model is exported or loaded, not on import.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ...errors import PerceptionError
from ...models.snapshots import pull_hint
from ...runtime.onnx import OrtSession, export_onnx
from ...types import DepthResult, SensorInputs
from ..export_info import (
    EXPORT_INFO,
    export_record,
    write_export_info,
)
from ..onnx_plumbing import (
    OrtModelShim,
    graph_module,
    open_fixed_input_export,
    open_or_export,
)
from .adapter import FAMILY, HUB_ID, DepthProDepth, load_processing

__all__ = ["DepthProOnnxDepth", "export"]

MODEL_FILE = "model.onnx"


def _graph(model: Any, fov_head: bool) -> Any:
    """``model`` as a module of plain tensors: pixel_values -> predicted_depth (and
    field_of_view with the field-of-view head)."""

    def forward(model: Any, pixel_values: Any) -> Any:
        out = model(pixel_values=pixel_values)
        if fov_head:
            return out.predicted_depth, out.field_of_view
        return out.predicted_depth

    return graph_module(model, forward)


def export(model_dir: str | Path, out_dir: str | Path, *,
           size_hw: tuple[int, int] | None = None) -> list[Path]:
    """Export the Depth Pro snapshot at ``model_dir`` to ``out_dir``: ``model.onnx`` and
    ``export.json``. ``size_hw`` is not used (the model input is fixed; every camera
    size is resized to it) and is accepted so that every family exports alike."""
    import torch

    del size_hw
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    torch_adapter = DepthProDepth.from_pretrained(model_dir)  # the torch adapter's checks
    (out_dir / EXPORT_INFO).unlink(missing_ok=True)
    side_hw = torch_adapter.processing.size_hw
    fov_head = torch_adapter.has_fov_head
    pixel_values = torch.randn(1, 3, *side_hw, generator=torch.Generator().manual_seed(0))
    outputs = ["predicted_depth", "field_of_view"] if fov_head else ["predicted_depth"]
    path = export_onnx(_graph(torch_adapter.model, fov_head), (pixel_values,),
                       out_dir / MODEL_FILE, input_names=["pixel_values"],
                       output_names=outputs)
    record = export_record(FAMILY, model_dir, pixel_size_hw=list(side_hw),
                           field_of_view=fov_head)
    return [path, write_export_info(out_dir, record)]


class _OrtDepthProModel(OrtModelShim):
    """The graph in the place of ``DepthProForDepthEstimation`` inside DepthProDepth."""

    def __init__(self, session: OrtSession, record: dict[str, Any]) -> None:
        self.session = session
        self.pixel_size_hw = tuple(record["pixel_size_hw"])
        self.config = SimpleNamespace(use_fov_model=bool(record.get("field_of_view")))

    def __call__(self, *, pixel_values: Any) -> Any:
        import torch

        out = self.session.run({"pixel_values": pixel_values.cpu().numpy()})
        fov = out.get("field_of_view")
        return SimpleNamespace(predicted_depth=torch.from_numpy(out["predicted_depth"]),
                               field_of_view=None if fov is None else torch.from_numpy(fov))


class DepthProOnnxDepth:
    """Depth Pro behind the DepthEstimator seam on ONNX Runtime; ``name`` is
    ``"depth_pro:<dir>@onnxruntime:<provider>"``."""

    def __init__(self, session: OrtSession, model_dir: Path, record: dict[str, Any]) -> None:
        self._torch_adapter = DepthProDepth(_OrtDepthProModel(session, record),
                                            load_processing(model_dir),
                                            model_id=model_dir.name)
        self.provider = session.provider
        self.model_id = model_dir.name
        self.name = f"{FAMILY}:{model_dir.name}@onnxruntime:{session.provider}"

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, onnx_dir: str | Path, *,
                        providers: list[str] | None = None, export_missing: bool = False,
                        threads: int = 0) -> DepthProOnnxDepth:
        """The snapshot's pre-processing from ``model_dir``, the graph from ``onnx_dir``;
        ``export_missing`` exports (needs the weights) instead of refusing."""
        model_dir, onnx_dir = Path(model_dir), Path(onnx_dir)
        if not model_dir.is_dir():
            raise PerceptionError(f"Depth Pro model not found at {model_dir}: "
                                  + pull_hint(model_dir, checkpoints=(HUB_ID,)))
        side_hw = load_processing(model_dir).size_hw
        record, (session,) = open_or_export(
            lambda: open_fixed_input_export(model_dir, onnx_dir, family=FAMILY,
                                            label="Depth Pro", pixel_size_hw=side_hw,
                                            graphs=(MODEL_FILE,), providers=providers,
                                            threads=threads),
            lambda: export(model_dir, onnx_dir), export_missing=export_missing)
        return cls(session, model_dir, record)

    def estimate(self, inputs: SensorInputs) -> DepthResult:
        return self._torch_adapter.estimate(inputs)



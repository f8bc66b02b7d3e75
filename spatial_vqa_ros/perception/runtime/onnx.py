"""ONNX: one way to export a family's torch module, and one way to run the result.

Export goes through ``torch.onnx.export`` (the TorchScript exporter, opset 18: fast, and
right for the families exported here; see ../shared/PERCEPTION.md for the ones where it
is silently wrong), is checked with ``onnx.checker``, and lands atomically, so a killed
export never leaves a half-written model that a later start would load. A session tries
the accelerated providers first and says which one it got: a robot that silently fell
back to CPU is the failure people notice last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PerceptionError

#: Providers in the order they are tried; only those the installed build has are used.
PROVIDER_ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider",
                  "CPUExecutionProvider")
OPSET = 18


def export_onnx(module: Any, args: tuple, path: str | Path, *, input_names: Sequence[str],
                output_names: Sequence[str],
                dynamic_axes: Mapping[str, Mapping[int, str]] | None = None) -> Path:
    """Export ``module(*args)`` to ``path`` (atomic), check the graph, return the path."""
    import onnx
    import torch

    from ...io.atomic import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.export")
    try:
        with torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(module, args, str(scratch), input_names=list(input_names),
                              output_names=list(output_names),
                              dynamic_axes=dict(dynamic_axes or {}), opset_version=OPSET,
                              dynamo=False)
        model = onnx.load(str(scratch))
        onnx.checker.check_model(model)
        atomic_write(path, model.SerializeToString())
    except Exception as error:  # the exporter's own errors are long: keep the first line
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise PerceptionError(f"ONNX export to {path} failed: {type(error).__name__}: "
                              f"{first}") from error
    finally:
        scratch.unlink(missing_ok=True)
    return path


@dataclass
class OrtSession:
    """An ONNX Runtime session and the provider it runs on."""

    session: Any
    provider: str
    path: Path

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.session.get_inputs()]

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self.session.run(None, dict(feeds))
        return {o.name: value for o, value in zip(self.session.get_outputs(), outputs)}


def create_session(path: str | Path, *, providers: Sequence[str] | None = None,
                   threads: int = 0) -> OrtSession:
    """A session on the first provider of ``providers`` (default :data:`PROVIDER_ORDER`)
    that this onnxruntime build has; PerceptionError for a missing or corrupt file,
    saying how to make it again."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise PerceptionError(f"no ONNX model at {path}: export it with 'spatial-vqa "
                              "models export'")
    available = set(ort.get_available_providers())
    chosen = [p for p in (providers or PROVIDER_ORDER) if p in available]
    if not chosen:
        raise PerceptionError(f"none of the providers {list(providers or PROVIDER_ORDER)} "
                              f"is in this onnxruntime build ({sorted(available)})")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=chosen)
    except Exception as error:  # onnxruntime raises its own Fail/InvalidProtobuf types
        raise PerceptionError(f"ONNX model {path} cannot be loaded ({type(error).__name__}: "
                              f"{str(error).strip()[:200]}): delete it and export it again "
                              "with 'spatial-vqa models export'") from None
    return OrtSession(session, session.get_providers()[0], path)


__all__ = ["OPSET", "PROVIDER_ORDER", "OrtSession", "create_session", "export_onnx"]

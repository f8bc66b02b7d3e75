"""ONNX: one way to export a family's torch module, and one way to run the result.

Export goes through ``torch.onnx.export`` (the TorchScript exporter, opset 18: fast, and
right for the families exported here; see ../shared/PERCEPTION.md for the ones where it
is silently wrong; those take ``dynamo=True``: torch.export + onnxscript, slower), is
checked with ``onnx.checker``, and lands atomically, so a killed export never leaves a
half-written model that a later start would load. A session tries the accelerated
providers first and says which one it got: a robot that silently fell back to CPU is the
failure people notice last.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import PerceptionError

if TYPE_CHECKING:
    from .engine_session import EngineSession

#: Providers in the order they are tried; only those the installed build has are used.
PROVIDER_ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider",
                  "CPUExecutionProvider")
OPSET = 18
#: Threads of each session when the caller gives none (0 or unset: ONNX Runtime's own
#: default, every physical core). The ray engine sets it per actor, so that actors
#: sharing a machine do not each take all of its cores.
THREADS_ENV = "SPATIAL_VQA_ORT_THREADS"


def default_threads() -> int:
    """$SPATIAL_VQA_ORT_THREADS as a count (0 when unset); PerceptionError naming the
    variable for anything but a whole number >= 0."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return 0
    if not text.isdigit():
        raise PerceptionError(f"{THREADS_ENV} must be a whole number >= 0, got {text!r}")
    return int(text)


def export_onnx(module: Any, args: tuple, path: str | Path, *, input_names: Sequence[str],
                output_names: Sequence[str],
                dynamic_axes: Mapping[str, Mapping[int, str]] | None = None,
                dynamo: bool = False, dynamic_shapes: Mapping[str, Any] | None = None) -> Path:
    """Export ``module(*args)`` to ``path`` (atomic), check the graph, return the path.
    ``dynamo``: the torch.export exporter (needs ``onnxscript``), for graphs the
    TorchScript tracer gets wrong; its dynamic dimensions are ``dynamic_shapes``
    (torch.export's ``Dim`` by input name; ``dynamic_axes`` is the tracer's). Weights
    over :data:`MAX_INLINE_BYTES` (Depth Pro's 3.8 GB) go to ``<name>.data`` beside the
    graph (the TorchScript path; the dynamo path keeps them inside, up to 2 GB).

    The tracer's warnings are silenced here, once for every family: they note shape
    arithmetic it records as constants, which each family's parity tests at two sizes
    check instead."""
    if (dynamic_shapes and not dynamo) or (dynamic_axes and dynamo):
        raise ValueError("dynamic_shapes go with dynamo=True, dynamic_axes with dynamo=False")
    exporter: dict[str, Any] = (
        {"dynamo": True, "dynamic_shapes": dict(dynamic_shapes or {}) or None,
         "external_data": False, "verbose": False} if dynamo
        else {"dynamo": False, "dynamic_axes": dict(dynamic_axes or {})})
    import onnx
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A directory of its own: an exporter may write a large model's tensors as files
    # beside the graph, and none of them may land in (or clutter) the output directory.
    scratch_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    scratch = scratch_dir / path.name
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(module, args, str(scratch), input_names=list(input_names),
                              output_names=list(output_names), opset_version=OPSET,
                              **exporter)
        onnx.checker.check_model(str(scratch))  # by path: works beyond 2 GB too
        _place(onnx.load(str(scratch)), path, scratch_dir)
    except Exception as error:  # the exporter's own errors are long: keep the first line
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise PerceptionError(f"ONNX export to {path} failed: {type(error).__name__}: "
                              f"{first}") from error
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    return path


#: Weights beyond this stay outside the graph file (protobuf cannot hold 2 GB).
MAX_INLINE_BYTES = 1_800_000_000


def _weight_bytes(model: Any) -> int:
    return sum(len(t.raw_data) for t in model.graph.initializer)


def _place(model: Any, path: Path, scratch_dir: Path) -> None:
    """Write ``model`` to ``path``: one file, or (past :data:`MAX_INLINE_BYTES`) the
    graph plus ``<name>.data`` holding its weights, the data renamed into place first.
    A stale data file of an earlier, larger export is removed."""
    import onnx

    from ...io.atomic import atomic_write

    data = path.with_name(f"{path.name}.data")
    if _weight_bytes(model) <= MAX_INLINE_BYTES:
        atomic_write(path, model.SerializeToString())
        data.unlink(missing_ok=True)
        return
    staged = scratch_dir / "staged" / path.name
    staged.parent.mkdir()
    onnx.save_model(model, str(staged), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=data.name, size_threshold=0)
    os.replace(staged.parent / data.name, data)
    os.replace(staged, path)


def provider_settings(providers: Sequence[str]) -> list[Any]:
    """The providers as ONNX Runtime takes them: TensorRT with its engine and timing
    caches in the engine cache directory (``<engines>/onnxruntime``, kept across
    restarts and rebuilt by TensorRT when the graph or the GPU changes) and fp16 on;
    the others by name."""
    from .engine_cache import default_engines_dir

    settings: list[Any] = []
    for provider in providers:
        if provider == "TensorrtExecutionProvider":
            cache = str(default_engines_dir() / "onnxruntime")
            settings.append((provider, {"trt_engine_cache_enable": True,
                                        "trt_engine_cache_path": cache,
                                        "trt_timing_cache_enable": True,
                                        "trt_timing_cache_path": cache,
                                        "trt_fp16_enable": True}))
        else:
            settings.append(provider)
    return settings


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
                   threads: int = 0) -> OrtSession | EngineSession:
    """A session on the first provider of ``providers`` (default :data:`PROVIDER_ORDER`)
    that this onnxruntime build has; PerceptionError for a missing or corrupt file,
    saying how to make it again. With ``"TensorRT-native"`` first
    (:data:`~.engine_session.NATIVE_TENSORRT`): an :class:`~.engine_session.EngineSession`
    running native TensorRT engines, served by a session on the remaining providers
    (not ONNX Runtime's own TensorRT one: its engine would build twice) while they build."""
    from .engine_session import NATIVE_TENSORRT, open_engine_session

    if providers and providers[0] == NATIVE_TENSORRT:
        rest = [p for p in providers[1:] if p != "TensorrtExecutionProvider"] or \
            ["CUDAExecutionProvider", "CPUExecutionProvider"]
        return open_engine_session(path, lambda: create_session(path, providers=rest,
                                                                threads=threads))
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
    threads = threads or default_threads()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), sess_options=options,
                                       providers=provider_settings(chosen))
    except Exception as error:  # onnxruntime raises its own Fail/InvalidProtobuf types
        raise PerceptionError(f"ONNX model {path} cannot be loaded ({type(error).__name__}: "
                              f"{str(error).strip()[:200]}): delete it and export it again "
                              "with 'spatial-vqa models export'") from None
    return OrtSession(session, session.get_providers()[0], path)


__all__ = ["OPSET", "PROVIDER_ORDER", "THREADS_ENV", "OrtSession", "create_session",
           "default_threads", "export_onnx"]

"""Native TensorRT engines from the exported ONNX graphs: the machine facts an engine
depends on, and the build (TensorRT 10's Python API).

The build and the environment probe run only where TensorRT and a CUDA GPU are; this
development machine has neither, so they are **unverified here**, written against
TensorRT 10's documented API (``Builder``, ``OnnxParser``, ``IBuilderConfig`` with the
FP16 flag, one optimization profile, ``build_serialized_network``; running with
``set_input_shape`` / ``set_tensor_address`` / ``execute_async_v3``). Every name used
was checked to exist in the TensorRT 11.4 Python bindings too; 11 dropped the FP16
flag (strongly typed networks only), so there fp32 is the default
(:func:`default_precision`).
What can be checked without a GPU is checked: the cache (:mod:`.engine_cache`), the
keys made from the facts below, the L4T release read from its file, and the clear
error where TensorRT is missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PerceptionError
from .engine_cache import EngineKey, file_sha256

__all__ = ["PRECISIONS", "Environment", "TrtRunner", "build_engine", "default_precision",
           "engine_key", "environment", "l4t_release"]

PRECISIONS = ("fp32", "fp16")
L4T_RELEASE_FILE = Path("/etc/nv_tegra_release")


@dataclass(frozen=True)
class Environment:
    """The machine facts in an engine's key."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    l4t_release: str


def l4t_release(path: Path = L4T_RELEASE_FILE) -> str:
    """"R36.2.0" on a Jetson (from ``# R36 (release), REVISION: 2.0, ...``), else ""."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    match = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    return f"R{match.group(1)}.{match.group(2)}" if match else ""


def environment() -> Environment:
    """TensorRT's version and the GPU's name and compute capability (from torch's CUDA
    view); PerceptionError naming what is missing."""
    try:
        import tensorrt
    except ImportError:
        raise PerceptionError("TensorRT is not installed: install it (JetPack on a Jetson; "
                              "the tensorrt wheels or the docker/Dockerfile.gpu image on "
                              "x86_64), or use runtime onnxruntime") from None
    import torch

    if not torch.cuda.is_available():
        raise PerceptionError("TensorRT needs a CUDA GPU, and torch sees none")
    major, minor = torch.cuda.get_device_capability(0)
    return Environment(tensorrt.__version__, torch.cuda.get_device_name(0),
                       f"{major}.{minor}", l4t_release())


def engine_key(checkpoint_dir: Path, onnx_path: Path, profile: Mapping[str, Sequence[int]],
               precision: str, env: Environment) -> EngineKey:
    """The cache key of one graph's engine: the snapshot's config and weights, the graph,
    the input shapes, the precision and the machine."""
    if precision not in PRECISIONS:
        raise PerceptionError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    weights = sorted(p for p in checkpoint_dir.glob("*.safetensors")) + \
        sorted(checkpoint_dir.glob("*.bin"))
    checkpoint = "|".join(file_sha256(p) for p in [checkpoint_dir / "config.json", *weights]
                          if p.is_file())
    shapes = ";".join(f"{name}:{'x'.join(str(d) for d in dims)}"
                      for name, dims in sorted(profile.items()))
    return EngineKey(checkpoint_sha256=checkpoint, onnx_sha256=file_sha256(onnx_path),
                     input_profile=shapes, precision=precision,
                     tensorrt_version=env.tensorrt_version, gpu_name=env.gpu_name,
                     compute_capability=env.compute_capability,
                     l4t_release=env.l4t_release)


def default_precision() -> str:
    """fp16 where the builder lowers an fp32 graph to fp16 (TensorRT 10's FP16 flag);
    fp32 on TensorRT 11 and later, whose networks are strongly typed (the graph's own
    types are the engine's; its FP16 flag is gone)."""
    import tensorrt as trt

    return "fp16" if hasattr(trt.BuilderFlag, "FP16") else "fp32"


def build_engine(onnx_path: Path, profile: Mapping[str, Sequence[int]], precision: str,
                 workspace_bytes: int = 4 << 30) -> bytes:
    """A serialized engine of the graph for these input shapes (min = opt = max: the
    shapes the node feeds) and precision. Unverified here (no TensorRT)."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise PerceptionError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    if precision == "fp16":
        if not hasattr(trt.BuilderFlag, "FP16"):
            raise PerceptionError(f"TensorRT {trt.__version__} builds strongly typed "
                                  "networks only (no FP16 flag): an fp16 engine needs a "
                                  "graph exported in fp16; build fp32 (--precision fp32)")
        config.set_flag(trt.BuilderFlag.FP16)
    # A profile for the inputs the graph leaves dynamic (-1 dims), fixed to the shapes
    # fed; static inputs need none.
    dynamic = [network.get_input(i) for i in range(network.num_inputs)
               if any(d < 0 for d in tuple(network.get_input(i).shape))]
    if dynamic:
        optimization = builder.create_optimization_profile()
        for tensor in dynamic:
            if tensor.name not in profile:
                raise PerceptionError(f"no shape for the dynamic input {tensor.name} of "
                                      f"{onnx_path}")
            dims = tuple(profile[tensor.name])
            optimization.set_shape(tensor.name, dims, dims, dims)
        config.add_optimization_profile(optimization)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise PerceptionError(f"TensorRT could not build an engine for {onnx_path} "
                              f"({precision}, {dict(profile)})")
    return bytes(serialized)


class TrtRunner:
    """Runs one deserialized engine, as :class:`~.onnx.OrtSession` runs a graph (numpy
    feeds in, numpy outputs out): host buffers are pinned (page-locked, so the copies
    are asynchronous DMA), device buffers are reused while the shapes stay, and all of
    a call's work (copies in, the engine, copies out) goes on this runner's own CUDA
    stream, so two stages (depth, segmentation) on two runners overlap on the GPU.
    Unverified here (no TensorRT)."""

    def __init__(self, engine_path: Path, device_index: int = 0) -> None:
        import tensorrt as trt
        import torch

        self._torch = torch
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self._engine = runtime.deserialize_cuda_engine(Path(engine_path).read_bytes())
        if self._engine is None:
            raise PerceptionError(f"TensorRT cannot load the engine {engine_path}: "
                                  "delete it and it is rebuilt")
        self._context = self._engine.create_execution_context()
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        self.input_names = [n for n in names
                            if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.output_names = [n for n in names if n not in self.input_names]
        self._dtypes = {n: np.dtype(trt.nptype(self._engine.get_tensor_dtype(n)))
                        for n in names}
        self._device = torch.device("cuda", device_index)
        self._stream = torch.cuda.Stream(self._device)
        self._buffers: dict[str, tuple[Any, Any]] = {}

    def _buffers_for(self, name: str, shape: tuple[int, ...]) -> tuple[Any, Any]:
        """The pinned host and device buffers of a tensor, reallocated (and its address
        given to the context again) only when its shape changes."""
        held = self._buffers.get(name)
        if held is None or tuple(held[0].shape) != shape:
            torch = self._torch
            dtype = torch.from_numpy(np.empty(0, self._dtypes[name])).dtype
            held = (torch.empty(shape, dtype=dtype, pin_memory=True),
                    torch.empty(shape, dtype=dtype, device=self._device))
            self._buffers[name] = held
            self._context.set_tensor_address(name, held[1].data_ptr())
        return held

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise PerceptionError(f"the engine needs the inputs {missing}")
        with self._torch.cuda.stream(self._stream):
            for name in self.input_names:
                array = np.ascontiguousarray(feeds[name], dtype=self._dtypes[name])
                self._context.set_input_shape(name, array.shape)
                host, device = self._buffers_for(name, array.shape)
                host.numpy()[...] = array
                device.copy_(host, non_blocking=True)
            for name in self.output_names:
                shape = tuple(self._context.get_tensor_shape(name))
                if any(d < 0 for d in shape):
                    raise PerceptionError(f"the engine's output {name} has a data-"
                                          f"dependent shape {shape}: not supported")
                self._buffers_for(name, shape)
            if not self._context.execute_async_v3(self._stream.cuda_stream):
                raise PerceptionError("TensorRT failed to run the engine")
            for name in self.output_names:
                host, device = self._buffers[name]
                host.copy_(device, non_blocking=True)
        self._stream.synchronize()
        return {name: self._buffers[name][0].numpy().copy() for name in self.output_names}

"""Native TensorRT engines from the exported ONNX graphs: the machine facts an engine
depends on, and the build (TensorRT 10's Python API).

The build and the environment probe run only where TensorRT and a CUDA GPU are; this
development machine has neither, so they are **unverified here**, written against
TensorRT 10's documented API (``Builder``, ``OnnxParser``, ``IBuilderConfig`` with the
FP16 flag, one optimization profile per dynamic input, ``build_serialized_network``).
What can be checked without a GPU is checked: the cache (:mod:`.engine_cache`), the
keys made from the facts below, the L4T release read from its file, and the clear
error where TensorRT is missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import PerceptionError
from .engine_cache import EngineKey, file_sha256

__all__ = ["PRECISIONS", "Environment", "build_engine", "engine_key", "environment",
           "l4t_release"]

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
        config.set_flag(trt.BuilderFlag.FP16)
    optimization = builder.create_optimization_profile()
    for name, dims in profile.items():
        optimization.set_shape(name, tuple(dims), tuple(dims), tuple(dims))
    config.add_optimization_profile(optimization)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise PerceptionError(f"TensorRT could not build an engine for {onnx_path} "
                              f"({precision}, {dict(profile)})")
    return bytes(serialized)

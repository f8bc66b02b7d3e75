"""int8 graphs for ONNX Runtime on the CPU: dynamic quantisation of an exported graph.

Why: a ViT's time on a CPU is mostly its linear layers, and CPUs with VNNI (AVX-512
VNNI, AVX-VNNI; Arm's dot-product instructions) multiply int8 several times faster
than float32. ONNX Runtime's dynamic quantisation stores the weights of MatMul / Gemm
as int8 and quantises each activation on the fly per call, so it needs no calibration
data, which this package cannot have for a user's scenes. Measured on this 2-core CPU
(``bench_presets``): OWL-ViT B/32's graph 485 -> 198 ms. Precision is lost: the
outputs move by about 1-3% of their range (tested against the float graph); what that
does to a real checkpoint's boxes and masks cannot be measured here (no weights).

The int8 graph is made from the exported float graph on first use and kept beside it
(``<name>.int8.onnx``) with a note of the float graph it came from (size and
modification time): a new export makes it again. Writes are atomic, so a killed
quantisation never leaves a graph a later start would load. GPU providers run the
float graph (their own fp16 / TensorRT precision is their business): int8 here is for
``CPUExecutionProvider``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import PerceptionError

__all__ = ["PRECISIONS", "check_precision", "int8_graph"]

#: What a family's ONNX Runtime adapter takes as ``precision``.
PRECISIONS = ("fp32", "int8")


def check_precision(precision: object) -> str:
    if precision not in PRECISIONS:
        raise PerceptionError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return str(precision)


def _source_note(graph: Path) -> dict[str, int | str]:
    stat = graph.stat()
    return {"source": graph.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def int8_graph(graph: str | Path) -> Path:
    """The int8 version of the exported float graph ``graph``: made (minutes for a large
    graph, seconds for the presets' ones) unless a current one is beside it."""
    graph = Path(graph)
    if not graph.is_file():
        raise PerceptionError(f"no ONNX model at {graph}: export it with 'spatial-vqa "
                              "models export'")
    target = graph.with_name(f"{graph.stem}.int8.onnx")
    note_path = target.with_name(f"{target.name}.json")
    note = _source_note(graph)
    try:
        if target.is_file() and json.loads(note_path.read_text()) == note:
            return target
    except (OSError, ValueError):
        pass  # no note, or an unreadable one: quantise again
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from ...io.atomic import atomic_write

    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=graph.parent))
    try:
        staged = scratch / target.name
        quantize_dynamic(str(graph), str(staged), weight_type=QuantType.QInt8)
        note_path.unlink(missing_ok=True)  # the note is written last: it vouches for target
        os.replace(staged, target)
        atomic_write(note_path, json.dumps(note).encode())
    except PerceptionError:
        raise
    except Exception as error:  # onnxruntime's quantiser raises many types
        raise PerceptionError(f"int8 quantisation of {graph} failed ({type(error).__name__}: "
                              f"{str(error).strip()[:200]}): run with precision fp32, or "
                              "export again") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target

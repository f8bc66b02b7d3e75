"""The record beside every ONNX export (``export.json``): what was exported, from which
snapshot, with which versions.

Why one record for every family: a robot that loads a graph exported from another
snapshot, or a half-written export, gives wrong numbers with no error. The record is
written LAST (atomically), so an export without it is unfinished; it names the source
snapshot's config hash and weight sizes, so a re-pulled or replaced snapshot makes the
export stale, and the loader says to export again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import PerceptionError
from ..models.registry import WEIGHT_FILES
from ..runtime.onnx import OPSET

__all__ = ["EXPORT_HINT", "EXPORT_INFO", "export_record", "read_export_info",
           "write_export_info"]

EXPORT_INFO = "export.json"
EXPORT_HINT = "'spatial-vqa models export'"


def _source_files(model_dir: Path) -> dict[str, str | int]:
    """What identifies a snapshot: config.json's sha256 and the weight files' sizes."""
    files: dict[str, str | int] = {}
    config = model_dir / "config.json"
    if config.is_file():
        files["config.json"] = hashlib.sha256(config.read_bytes()).hexdigest()
    for name in WEIGHT_FILES:
        if (model_dir / name).is_file():
            files[name] = (model_dir / name).stat().st_size
    return files


def export_record(family: str, model_dir: Path, **fields: Any) -> dict[str, Any]:
    """The export's record: family, ``fields``, opset, source snapshot, versions."""
    import torch
    import transformers

    return {"family": family, **fields, "opset": OPSET, "source": str(model_dir.resolve()),
            "source_files": _source_files(model_dir), "torch": torch.__version__,
            "transformers": transformers.__version__}


def write_export_info(out_dir: Path, record: dict[str, Any]) -> Path:
    """Write ``export.json`` (atomic; written last, so it marks a finished export)."""
    from ...io.atomic import atomic_write

    path = out_dir / EXPORT_INFO
    atomic_write(path, (json.dumps(record, indent=2) + "\n").encode())
    return path


def read_export_info(onnx_dir: Path, family: str, model_dir: Path) -> dict[str, Any]:
    """The record of the export in ``onnx_dir``; PerceptionError saying to export again
    when it is missing, unreadable, of another family or from another snapshot."""
    path = onnx_dir / EXPORT_INFO
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PerceptionError(f"no {family} ONNX export at {onnx_dir} ({EXPORT_INFO} "
                              f"missing): export it with {EXPORT_HINT}") from None
    except (OSError, ValueError) as error:
        raise PerceptionError(f"{path} is unreadable ({error}): export again with "
                              f"{EXPORT_HINT}") from None
    if not isinstance(record, dict) or record.get("family") != family:
        got = record.get("family") if isinstance(record, dict) else None
        raise PerceptionError(f"{onnx_dir} holds an export of {got!r}, not {family}: export "
                              f"{family} there with {EXPORT_HINT}")
    now = _source_files(model_dir)
    recorded = record.get("source_files") or {}
    changed = sorted(name for name in recorded if name in now and now[name] != recorded[name])
    if changed:
        raise PerceptionError(f"the ONNX export at {onnx_dir} was made from another snapshot "
                              f"than {model_dir} ({', '.join(changed)} differ; exported from "
                              f"{record.get('source')}): export again with {EXPORT_HINT}")
    return record

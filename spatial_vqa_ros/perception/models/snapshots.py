"""A model's snapshot on disk: which directory a model name or path means
(:func:`resolve_model_dir`), whether the snapshot is sound, and the one
``spatial-vqa models pull NAME`` that mends it.

Every hint the package gives to fetch weights is written here, and NAME is always an
entry of the model registry: the snapshot directory's own name when it is registered,
else the registered entry of the same checkpoint or family. A family never names
itself ("pull sam" names nothing), and a path's directory name is not a model name.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from ..errors import PerceptionError
from .registry import ModelRegistry, is_present, load_registry, models_dir_of

#: The largest safetensors header read (the format's own limit is 100 MB).
MAX_HEADER_BYTES = 100_000_000
#: Where huggingface_hub's ``snapshot_download(local_dir=...)`` records each file it wrote.
DOWNLOAD_RECORDS = Path(".cache") / "huggingface" / "download"


def resolve_model_dir(name_or_path: str, *, models_dir: str | Path | None = None,
                      registry: ModelRegistry | None = None) -> Path:
    """The local directory a model name (or path) means; PerceptionError naming the pull
    command when a registered model is not there yet."""
    if not name_or_path:
        raise PerceptionError("no model named: set the family's model parameter to a "
                              "registry name (spatial-vqa models list) or a local path")
    candidate = Path(name_or_path).expanduser()
    if candidate.is_dir() or os.sep in name_or_path or name_or_path.startswith("."):
        if not is_present(candidate):
            raise PerceptionError(f"model weights not found at {candidate}: a transformers "
                                  "snapshot (config.json and model.safetensors) is needed")
        return candidate
    registry = registry or load_registry()
    entry = registry.get(name_or_path)
    directory = models_dir_of(models_dir) / entry.name
    if not is_present(directory):
        raise PerceptionError(f"model {entry.name} not found at {directory}: "
                              + pull_hint(directory, registry=registry))
    return directory


def registered_name(directory: Path, *, checkpoints: tuple[str, ...] = (), family: str = "",
                    registry: ModelRegistry | None = None) -> str:
    """The registry entry ``directory`` stands for: its own name when registered, else
    the first entry of one of ``checkpoints``, else the first entry of ``family``; ""
    when none is (a test keeps every family and checkpoint registered)."""
    registry = registry or load_registry()
    if directory.name in registry.entries:
        return directory.name
    rows = list(registry.entries.values())
    for entry in rows:
        if entry.checkpoint in checkpoints:
            return entry.name
    return next((entry.name for entry in rows if entry.family == family), "")


def pull_hint(directory: Path, *, checkpoints: tuple[str, ...] = (), family: str = "",
              again: bool = False, registry: ModelRegistry | None = None) -> str:
    """"run 'spatial-vqa models pull NAME' ..." for a snapshot expected at ``directory``
    (``again``: it is there but broken)."""
    directory, registry = Path(directory), registry or load_registry()
    name = registered_name(directory, checkpoints=checkpoints, family=family,
                           registry=registry)
    if not name:
        return "pick a model of its family in 'spatial-vqa models list' and pull it"
    pulled = f"run 'spatial-vqa models pull {name}'" + (" again" if again else
                                                       " on a machine with network")
    checkpoint = registry.get(name).checkpoint
    if name == directory.name:
        return f"{pulled}, or copy a whole snapshot of {checkpoint} there"
    return (f"{pulled} and name the model {name}, or copy a whole snapshot of {checkpoint} "
            f"to {directory}")


def choose_hint(family: str, setting: str, registry: ModelRegistry | None = None) -> str:
    """What to set when ``family`` was chosen without a model: ``setting`` (the option
    that names it) and the registry's models of the family, with the pull of the first."""
    registry = registry or load_registry()
    names = [entry.name for entry in registry.entries.values() if entry.family == family]
    if not names:
        return f"set {setting} to the path of a local snapshot"
    others = f" (or {', '.join(names[1:])})" if names[1:] else ""
    return (f"set {setting} to a registry name, e.g. {names[0]}{others}, fetched with "
            f"'spatial-vqa models pull {names[0]}', or to the path of a local snapshot")


def corrupt_snapshot(directory: Path, error: BaseException | str, *,
                     checkpoints: tuple[str, ...] = (), family: str = "") -> PerceptionError:
    """The error for a snapshot that is there but cannot be loaded (a truncated or
    garbage weights file, a config that is not a JSON object, a missing processor
    file): what was wrong, and the pull that replaces it."""
    text = str(error).strip()
    reason = text.splitlines()[0] if text else ""
    if isinstance(error, BaseException):
        reason = f"{type(error).__name__}: {reason}" if reason else type(error).__name__
    return PerceptionError(f"the snapshot at {directory} is corrupt ({reason}): "
                           + pull_hint(directory, checkpoints=checkpoints, family=family,
                                       again=True))


def snapshot_problem(directory: Path) -> str | None:
    """What is wrong with a snapshot on disk, cheaply (no model library): a
    ``config.json`` that is not a JSON object, a ``.safetensors`` file whose header is
    unreadable or whose tensors run past its end, a file the download recorded that is
    gone. None when nothing is found (the loader may still refuse it)."""
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"config.json is unreadable: {error}"
    if not isinstance(config, dict):
        return f"config.json holds a {type(config).__name__}, not a JSON object"
    for weights in sorted(directory.glob("*.safetensors")):
        problem = _safetensors_problem(weights)
        if problem:
            return f"{weights.name} {problem}"
    records = directory / DOWNLOAD_RECORDS
    for record in sorted(records.rglob("*.metadata")) if records.is_dir() else ():
        relative = record.relative_to(records).with_suffix("")
        if not (directory / relative).is_file():
            return f"{relative} was downloaded but is gone"
    return None


def _safetensors_problem(path: Path) -> str | None:
    """Why ``path`` is not a whole safetensors file, from its header alone."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        prefix = stream.read(8)
        if len(prefix) < 8:
            return "is truncated (no header)"
        (length,) = struct.unpack("<Q", prefix)
        if length > min(size - 8, MAX_HEADER_BYTES):
            return "is not safetensors or is truncated (header larger than the file)"
        try:
            header = json.loads(stream.read(length))
        except ValueError:
            return "is not safetensors (unreadable header)"
    if not isinstance(header, dict):
        return "is not safetensors (header is not a JSON object)"
    try:
        end = max((int(entry["data_offsets"][1]) for key, entry in header.items()
                   if key != "__metadata__"), default=0)
    except (TypeError, KeyError, IndexError, ValueError):
        return "is not safetensors (a tensor without data offsets)"
    if end > size - 8 - length:
        return "is truncated (its tensors run past the end of the file)"
    return None


__all__ = ["choose_hint", "corrupt_snapshot", "pull_hint", "registered_name",
           "resolve_model_dir", "snapshot_problem"]

"""``config/models.yaml``, the model registry: model names -> role, family, checkpoint.

A robot names models, not files: ``-p detector:=owlv2 -p detector_model:=
owlv2_base_ensemble``. The name resolves to ``<models_dir>/<name>``, a local snapshot
of the checkpoint put there ahead of time (``spatial-vqa models pull``); a path resolves
to itself (:func:`.snapshots.resolve_model_dir`, which can say what to pull when it is
not there). Nothing here downloads, and nothing here imports the snapshot checks.

How a model runs is not the registry's business: the runtime and the device are the
node's ``perception_runtime`` and ``perception_device`` parameters (and the commands'
matching options), one for the whole chain; a TensorRT engine's precision is chosen
when the engine is built. Older registries carried ``runtime`` and ``precision`` keys
that nothing read: they are still accepted, and ignored (:data:`RETIRED_KEYS`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import PerceptionError

ROLES = ("depth", "detector", "segmenter", "tracker", "tagger", "captioner")
#: Row keys of older registries that never had an effect: read past, not kept.
RETIRED_KEYS = ("runtime", "precision")
#: Environment variables that move the registry file and the weights directory.
REGISTRY_ENV, MODELS_ENV = "SPATIAL_VQA_MODEL_REGISTRY", "SPATIAL_VQA_MODELS"
#: Files whose presence means a transformers snapshot holds weights.
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")


@dataclass(frozen=True)
class ModelEntry:
    """One row of the registry."""

    name: str
    role: str
    family: str
    checkpoint: str
    licence: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise PerceptionError(f"model {self.name!r}: role must be one of {ROLES}, "
                                  f"got {self.role!r}")
        if not self.checkpoint or not self.family:
            raise PerceptionError(f"model {self.name!r} needs a family and a checkpoint")


@dataclass(frozen=True)
class ModelRegistry:
    """The registry's entries by name, and the file they came from."""

    entries: dict[str, ModelEntry]
    path: Path

    def get(self, name: str) -> ModelEntry:
        entry = self.entries.get(name)
        if entry is None:
            raise PerceptionError(f"no model called {name!r} in {self.path}; known: "
                                  f"{', '.join(sorted(self.entries))}")
        return entry


def default_registry_path() -> Path:
    """``$SPATIAL_VQA_MODEL_REGISTRY``, else the package's ``config/models.yaml`` (source
    tree, or the ROS share directory of an installed package)."""
    if os.environ.get(REGISTRY_ENV):
        return Path(os.environ[REGISTRY_ENV])
    source = Path(__file__).resolve().parents[3] / "config" / "models.yaml"
    if source.exists():
        return source
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("spatial_vqa_ros")) / "config" / "models.yaml"
    except (ImportError, LookupError):
        return source


def default_models_dir() -> Path:
    """``$SPATIAL_VQA_MODELS``, else ``~/.cache/spatial_vqa_ros/models``."""
    return models_dir_of(None)


def models_dir_of(given: str | Path | None) -> Path:
    """The models directory: ``given`` (--models-dir, parameter models_dir), else
    ``$SPATIAL_VQA_MODELS``, else ``~/.cache/spatial_vqa_ros/models``. PerceptionError
    when the one chosen is a file: every name would be "not found" there, and a pull
    would fail, neither saying why."""
    if given:
        directory, what = Path(given).expanduser(), "the models directory"
    elif os.environ.get(MODELS_ENV):
        directory, what = Path(os.environ[MODELS_ENV]).expanduser(), f"${MODELS_ENV}"
    else:
        return Path.home() / ".cache" / "spatial_vqa_ros" / "models"
    if directory.exists() and not directory.is_dir():
        raise PerceptionError(f"{what} is {directory}, which is not a directory: point it "
                              "at the folder that holds one snapshot folder per model name "
                              "(or unset it for ~/.cache/spatial_vqa_ros/models)")
    return directory


def load_registry(path: str | Path | None = None) -> ModelRegistry:
    """The registry at ``path`` (default: :func:`default_registry_path`)."""
    path = Path(path) if path is not None else default_registry_path()
    try:
        rows = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models") or {}
    except OSError as error:
        raise PerceptionError(f"cannot read the model registry {path}: {error}") from None
    except (yaml.YAMLError, AttributeError) as error:
        raise PerceptionError(f"model registry {path} is not a YAML mapping with "
                              f"'models:': {error}") from None
    try:
        entries = {name: ModelEntry(name=name, **_current(fields))
                   for name, fields in rows.items()}
    except TypeError as error:
        raise PerceptionError(f"model registry {path}: {error}") from None
    return ModelRegistry(entries, path)


def _current(fields: dict) -> dict:
    """A row without the keys :data:`RETIRED_KEYS` names (a row that is not a mapping
    is passed on, for ModelEntry to refuse)."""
    if not isinstance(fields, dict):
        return fields
    return {key: value for key, value in fields.items() if key not in RETIRED_KEYS}


def is_present(model_dir: Path) -> bool:
    """Whether a directory holds a transformers snapshot with weights."""
    return (model_dir / "config.json").is_file() and any(
        (model_dir / name).is_file() for name in WEIGHT_FILES)


__all__ = ["ModelEntry", "ModelRegistry", "default_models_dir", "default_registry_path",
           "is_present", "load_registry", "models_dir_of"]

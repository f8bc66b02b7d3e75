"""The model registry and local weights: which checkpoint a name means, where its files
are, whether they are there, and how they get there (``spatial-vqa models``)."""

from .registry import ModelEntry, ModelRegistry, default_models_dir, load_registry
from .snapshots import resolve_model_dir

__all__ = ["ModelEntry", "ModelRegistry", "default_models_dir", "load_registry",
           "resolve_model_dir"]

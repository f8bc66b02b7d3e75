"""Putting weights in the models directory, ahead of time and on purpose.

The only code in the package that reaches the network: ``spatial-vqa models pull`` on a
machine that has it. Without a network it fails at once with what to copy where, so a
robot can be provisioned by hand.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import PerceptionError
from .registry import ModelEntry, is_present


def pull(entry: ModelEntry, models_dir: str | Path) -> Path:
    """A snapshot of ``entry``'s checkpoint in ``<models_dir>/<name>``; PerceptionError
    when the hub cannot be reached (offline, no such repository, no access)."""
    target = Path(models_dir) / entry.name
    if is_present(target):
        return target
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise PerceptionError("pulling models needs huggingface_hub (pip install "
                              "huggingface_hub)") from None
    try:
        snapshot_download(repo_id=entry.checkpoint, local_dir=target)
    except Exception as error:  # offline, 404, 401, a proxy: all mean the same to a user
        raise PerceptionError(
            f"could not fetch {entry.checkpoint} ({type(error).__name__}: {error}). On a "
            f"machine with network run 'huggingface-cli download {entry.checkpoint} "
            f"--local-dir <dir>' and copy <dir> to {target}") from None
    if not is_present(target):
        raise PerceptionError(f"{entry.checkpoint} was fetched to {target} but holds no "
                              "transformers weights (config.json + model.safetensors)")
    return target


__all__ = ["pull"]

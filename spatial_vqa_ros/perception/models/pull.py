"""Putting weights in the models directory, ahead of time and on purpose.

The only code in the package that reaches the network: ``spatial-vqa models pull`` on a
machine that has it. Without a network it fails at once with what to copy where, so a
robot can be provisioned by hand.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import PerceptionError
from .registry import ModelEntry, is_present, models_dir_of
from .snapshots import snapshot_problem


def pull(entry: ModelEntry, models_dir: str | Path) -> Path:
    """A whole snapshot of ``entry``'s checkpoint in ``<models_dir>/<name>``.

    A snapshot already there is checked against the hub too (missing or edited files
    are fetched again), and fetched whole when :func:`snapshot_problem` finds it broken,
    so "pull it again" mends a corrupt one. Without the hub, a sound snapshot is
    returned as it is. PerceptionError when the hub cannot be reached (offline, no such
    repository, no access) and the snapshot is absent or broken, or when what arrived
    is still broken."""
    target = models_dir_of(models_dir) / entry.name
    problem = snapshot_problem(target) if is_present(target) else "absent"
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        if problem is None:
            return target
        raise PerceptionError("pulling models needs huggingface_hub (pip install "
                              "huggingface_hub)") from None
    try:
        snapshot_download(repo_id=entry.checkpoint, local_dir=target,
                          force_download=problem not in (None, "absent"))
    except Exception as error:  # offline, 404, 401, a proxy: all mean the same to a user
        if problem is None:
            return target
        raise PerceptionError(
            f"could not fetch {entry.checkpoint} ({type(error).__name__}: {error}). On a "
            f"machine with network run 'huggingface-cli download {entry.checkpoint} "
            f"--local-dir <dir>' and copy <dir> to {target}") from None
    if not is_present(target):
        raise PerceptionError(f"{entry.checkpoint} was fetched to {target} but holds no "
                              "transformers weights (config.json + model.safetensors)")
    problem = snapshot_problem(target)
    if problem is not None:  # offline, the hub hands back the broken folder as it was
        raise PerceptionError(f"the snapshot at {target} is still corrupt after pulling "
                              f"({problem}): on a machine with network run 'huggingface-cli "
                              f"download {entry.checkpoint} --local-dir <dir>' and copy "
                              f"<dir> to {target}")
    return target


__all__ = ["pull"]

"""Putting weights in the models directory, ahead of time and on purpose.

The only code in the package that reaches the network: ``spatial-vqa models pull`` on a
machine that has it. Without a network it fails at once with what to copy where, so a
robot can be provisioned by hand.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import PerceptionError
from .registry import ModelEntry, is_present, models_dir_of
from .snapshots import snapshot_problem

#: Where a hub token is read from, in this order (huggingface_hub's names).
TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def hub_token() -> str | None:
    """The hub token the environment gives (:data:`TOKEN_VARIABLES`), or None."""
    for variable in TOKEN_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    return None


def is_gated(entry: ModelEntry) -> bool:
    """Whether a family descriptor marks ``entry``'s checkpoint gated on the hub."""
    from ..families import descriptors

    family = descriptors().get(entry.family)
    return family is not None and any(c.gated and c.hub_id == entry.checkpoint
                                      for c in family.checkpoints)


def pull(entry: ModelEntry, models_dir: str | Path) -> Path:
    """A whole snapshot of ``entry``'s checkpoint in ``<models_dir>/<name>``.

    A snapshot already there is checked against the hub too (missing or edited files
    are fetched again), and fetched whole when :func:`snapshot_problem` finds it broken,
    so "pull it again" mends a corrupt one. Without the hub, a sound snapshot is
    returned as it is. A gated checkpoint (its descriptor says so) is fetched with the
    token of :func:`hub_token`; without one, PerceptionError says how to get access
    (nothing is tried: the hub would refuse). PerceptionError when the hub cannot be
    reached (offline, no such repository, no access) and the snapshot is absent or
    broken, or when what arrived is still broken."""
    target = models_dir_of(models_dir) / entry.name
    problem = snapshot_problem(target) if is_present(target) else "absent"
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        if problem is None:
            return target
        raise PerceptionError("pulling models needs huggingface_hub (pip install "
                              "huggingface_hub)") from None
    token, gated = hub_token(), is_gated(entry)
    if gated and token is None:
        if problem is None:
            return target
        raise PerceptionError(
            f"{entry.checkpoint} is gated on the hub ({entry.licence}): accept its licence "
            f"at https://huggingface.co/{entry.checkpoint} with your account, then set "
            f"HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) to a token of that account and pull "
            f"again; neither is set")
    try:
        snapshot_download(repo_id=entry.checkpoint, local_dir=target,
                          force_download=problem not in (None, "absent"),
                          **({"token": token} if token else {}))
    except Exception as error:  # offline, 404, 401, a proxy: all mean the same to a user
        if problem is None:
            return target
        access = (f" {entry.checkpoint} is gated: has the account of the token in HF_TOKEN "
                  f"accepted its licence at https://huggingface.co/{entry.checkpoint}?"
                  if gated else "")
        raise PerceptionError(
            f"could not fetch {entry.checkpoint} ({type(error).__name__}: {error}).{access} On "
            f"a machine with network run 'huggingface-cli download {entry.checkpoint} "
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


__all__ = ["TOKEN_VARIABLES", "hub_token", "is_gated", "pull"]

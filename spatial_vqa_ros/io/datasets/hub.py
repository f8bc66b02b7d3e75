"""Upload a finished dataset directory to the Hugging Face Hub.

Optional (needs ``huggingface_hub`` and the network), so it lives apart from the
writer; it uploads what the layout names, minus the writer's own bookkeeping files.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..atomic import TMP_SUFFIX
from ..errors import DataIOError
from .layout import LOCK, MANIFEST

_OFFLINE_VALUES = {"1", "ON", "YES", "TRUE"}


def push_to_hub(root: str | Path, repo_id: str, *, private: bool = True,
                token: str | None = None, endpoint: str | None = None) -> str:
    """Upload a dataset directory to the Hugging Face Hub as a dataset repo; its URL.

    Uploads the card, shards, images and scene_graphs.jsonl (not progress.json).
    Raises DataIOError with the reason when offline (HF_HUB_OFFLINE=1) or when the
    Hub cannot be reached or refuses the upload.
    """
    root = Path(root)
    if not (root / MANIFEST).exists():
        raise DataIOError(f"{root} is not a dataset written by spatial_vqa_ros "
                          f"(no {MANIFEST})")
    if os.environ.get("HF_HUB_OFFLINE", "").upper() in _OFFLINE_VALUES:
        raise DataIOError(f"cannot push {root} to the Hugging Face Hub as {repo_id}: offline "
                          "mode is on (HF_HUB_OFFLINE is set); unset it on a machine with "
                          "network access and log in (`hf auth login`)")
    try:
        from huggingface_hub import HfApi
    except ImportError:
        raise DataIOError("pushing to the Hub needs huggingface_hub "
                          "(pip install huggingface_hub)") from None
    try:
        api = HfApi(endpoint=endpoint, token=token)
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(root), repo_id=repo_id, repo_type="dataset",
                          ignore_patterns=[MANIFEST, LOCK, f"**/.*{TMP_SUFFIX}",
                                           f".*{TMP_SUFFIX}"])
    except Exception as error:  # hub, HTTP and auth errors of any kind
        raise DataIOError(f"cannot push {root} to the Hugging Face Hub as {repo_id}: "
                          f"{type(error).__name__}: {error}; check the network and "
                          "your login (`hf auth login`)") from None
    return f"https://huggingface.co/datasets/{repo_id}"

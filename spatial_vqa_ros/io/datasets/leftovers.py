"""What a killed writer leaves in a dataset directory, and clearing it on the next open.

A run killed at any point leaves only files of ours beside the finished ones: the lock,
temp files (``.<name>.<random>.tmp``, see ``io.atomic``) and images whose record never
landed (images are written before the shard that names them). The writer clears those
when it opens the directory, and tells them from a directory that is not ours.
"""

from __future__ import annotations

from collections.abc import Container
from pathlib import Path

from ..atomic import TMP_SUFFIX
from .layout import DATA_DIR, IMAGE_FORMATS, IMAGES_DIR, LOCK

__all__ = ["foreign_entries", "is_temp", "remove_orphan_images", "remove_stale_temp_files"]


def is_temp(path: Path) -> bool:
    """A temp file of ours (".<name>.<random>.tmp")."""
    return path.name.startswith(".") and path.name.endswith(TMP_SUFFIX)


def foreign_entries(root: Path) -> list[str]:
    """Names in a directory without a manifest that a killed run of ours cannot have
    left (sorted); empty: a fresh start."""
    foreign = sorted(p.name for p in root.iterdir()
                     if p.name not in (DATA_DIR, IMAGES_DIR, LOCK) and not is_temp(p))
    data = root / DATA_DIR
    if not foreign and data.is_dir() and any(not is_temp(p) for p in data.iterdir()):
        foreign = [DATA_DIR]
    return foreign


def remove_stale_temp_files(root: Path) -> None:
    """Temp files of a killed run (ours only)."""
    for directory in (root, root / DATA_DIR):
        for path in directory.glob(f".*{TMP_SUFFIX}"):
            path.unlink(missing_ok=True)
    for path in (root / IMAGES_DIR).rglob(f".*{TMP_SUFFIX}"):
        path.unlink(missing_ok=True)


def remove_orphan_images(root: Path, done: Container[str]) -> None:
    """Images whose record never landed: removed, so a resumed dataset holds no image
    without a record. Images of skipped items never exist, and done items keep theirs."""
    images = root / IMAGES_DIR
    suffixes = {suffix for _, suffix in IMAGE_FORMATS.values()}
    for path in images.rglob("*"):
        if path.is_file() and path.suffix in suffixes and not path.name.startswith("."):
            key = path.relative_to(images).with_suffix("").as_posix()
            if key not in done:
                path.unlink(missing_ok=True)

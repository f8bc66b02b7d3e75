"""What a killed LeRobot writer leaves behind, and telling it from a directory not ours.

The manifest (meta/spatial_vqa_ros.json) is the first file a new dataset gets, so a
directory without one holds, if a run of ours was killed in it, only the lock and temp
files (``.<name>.<random>.tmp``, see ``io.atomic``). A killed episode leaves temp files
and possibly data or video files of the episode index after the last committed one;
both are removed when the directory is opened again, so that episode is written anew.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ...atomic import TMP_SUFFIX
from . import format as fmt

_FILE = re.compile(r"^chunk-(\d{3,})/file-(\d{3,})\.(parquet|mp4)$")


def _is_temp(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(TMP_SUFFIX)


def foreign_entries(root: Path, lock: str) -> list[str]:
    """Entries of a directory without a manifest that a killed run of ours cannot have
    left (sorted); empty: a fresh start."""
    foreign = []
    for path in sorted(root.iterdir()):
        if path.name == lock or _is_temp(path):
            continue
        if path.name == "meta" and path.is_dir() and all(_is_temp(p) for p in path.iterdir()):
            continue
        foreign.append(path.name)
    return foreign


def remove_leftovers(root: Path, episodes: int, video_keys: Sequence[str]) -> None:
    """Temp files, and data / video files of episodes at or after index ``episodes``
    (never committed), under data/, videos/ and meta/."""
    for top in ("data", "videos", "meta"):
        base = root / top
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            if path.is_file() and _is_temp(path):
                path.unlink(missing_ok=True)
    directories = [root / "data", *(root / "videos" / key for key in video_keys)]
    for base in directories:
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            match = _FILE.match(path.relative_to(base).as_posix())
            if match and (int(match.group(1)) * fmt.DEFAULT_CHUNK_SIZE
                          + int(match.group(2))) >= episodes:
                path.unlink(missing_ok=True)


__all__ = ["foreign_entries", "remove_leftovers"]

"""What a dataset directory holds: the names of its files, and its shards read back.

Shared by the writer (which resumes from the shards), :func:`load_records` and the
Hub upload, so the layout is spelled once (see the package docstring).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import DataIOError

FORMAT = "spatial_vqa_ros/vqa-dataset"
FORMAT_VERSION = 2
MANIFEST = "progress.json"
CARD = "README.md"
SCENE_GRAPHS = "scene_graphs.jsonl"
DATA_DIR = "data"
IMAGES_DIR = "images"
LOCK = ".lock"
#: Image format name -> (PIL format, file extension).
IMAGE_FORMATS = {"jpg": ("JPEG", ".jpg"), "png": ("PNG", ".png")}
_SHARD_NAME = re.compile(r"^shard-(\d{5,})\.jsonl$")


def check_image_format(image_format: str) -> str:
    """``image_format`` if it is a key of :data:`IMAGE_FORMATS`, else DataIOError."""
    if image_format not in IMAGE_FORMATS:
        raise DataIOError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, got "
                          f"{image_format!r}")
    return image_format


def shard_path(root: Path, index: int) -> Path:
    """Path of shard ``index``: ``data/shard-<index:05d>.jsonl``."""
    return root / DATA_DIR / f"shard-{index:05d}.jsonl"


def shard_paths(root: Path) -> list[tuple[int, Path]]:
    """(index, path) of every shard on disk, by index."""
    data = root / DATA_DIR
    if not data.is_dir():
        return []
    return sorted((int(m.group(1)), path) for path in data.iterdir()
                  if (m := _SHARD_NAME.match(path.name)))


def read_shard(path: Path) -> list[dict[str, Any]]:
    """The records of one shard; DataIOError if it is not one of ours."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        if not all(isinstance(r["source"]["key"], str) for r in records):
            raise ValueError("a record without source.key")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataIOError(f"shard {path} cannot be read ({type(error).__name__}: {error}); "
                          "it was not written by spatial_vqa_ros (whose shards are only "
                          "ever replaced whole)") from None
    return records


def load_records(root: str | Path) -> list[dict[str, Any]]:
    """Every record of a dataset directory (all shards), without ``datasets``."""
    shards = sorted((Path(root) / DATA_DIR).glob("shard-*.jsonl"))
    return [record for path in shards for record in read_shard(path)]

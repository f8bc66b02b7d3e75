"""What a dataset directory holds: the names of its files, and its shards read back.

Shared by the writer (which resumes from the shards), :func:`load_records` and the
Hub upload, so the layout is spelled once (see the package docstring).
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import DataIOError

FORMAT = "spatial_vqa_ros/vqa-dataset"
#: 3 (issue 22): values about objects with a hidden far side use the middle of the
#: depths the view allows as the centre (2: the visible front's box), and statements
#: that do not hold over what the camera cannot see are no longer written.
#: 4: an object seen from just above its top, with something standing on it, is no
#: longer given the depth of what the grazing view shows (its centre moves back to the
#: middle of the prior's bound), and an object on an occluder whose top reads up to
#: 6 cm above its base rests on it instead of reaching down to the floor.
#: 5: an occluded side whose edge is seen beside the occluder (the prism prior,
#: ``core.seen_edges``), or whose neighbour only lacks depth at its edge, hides no part
#: any more, and an object with no hidden part left is not partial: more sizes and
#: statements are written, and ``partial`` flags change.
#: 6: boxes reach half a grid cell beyond their outermost points across the image
#: (widths were a grid step short), small widths and heights need less support, and a
#: side cut by the left or right border whose edge is seen away from it hides nothing:
#: widths grow by a step, and more sizes and statements are written.
#: 7: a ball partly hidden behind a nearer object is completed from its round
#: silhouette (``core.round_outline``): its width, height and centre move, and more
#: sizes and statements are written.
FORMAT_VERSION = 7
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
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as error:
        raise DataIOError(f"shard {path} cannot be read ({type(error).__name__}: {error}); "
                          "it was not written by spatial_vqa_ros (whose shards are only "
                          "ever replaced whole)") from None
    return records


def load_records(root: str | Path) -> list[dict[str, Any]]:
    """Every record of a dataset directory (all shards), without ``datasets``."""
    shards = sorted((Path(root) / DATA_DIR).glob("shard-*.jsonl"))
    return [record for path in shards for record in read_shard(path)]


def relative_data_path(relpath: object) -> PurePosixPath:
    """A path found in a record (its ``image``) as a relative path that stays inside
    the dataset directory by its spelling: text, not absolute, no ``..`` part, no NUL.
    DataIOError otherwise. The lexical half of :func:`confined_path`, for writers of
    text (the card) that name the file without opening it."""
    if not isinstance(relpath, str) or not relpath or "\0" in relpath:
        raise DataIOError(f"{relpath!r} is not a file path")
    path = PurePosixPath(relpath)
    if path.is_absolute() or relpath.startswith("\\") or ".." in path.parts:
        raise DataIOError(f"{relpath!r} is outside the dataset directory (an absolute "
                          "path or one with '..'); records name files relative to it")
    return path


def confined_path(root: str | Path, relpath: object) -> Path:
    """The file a record names (``relpath``, relative to the dataset ``root``) resolved,
    or DataIOError when it is, or resolves (a symlink), outside ``root``.

    Why: a dataset may come from anyone, and a record whose image is
    ``../../etc/hostname`` would otherwise put that file's bytes into an export. Every
    place that opens a path read from a record goes through here.
    """
    relative_data_path(relpath)
    base = Path(root).resolve()
    try:
        resolved = (base / str(relpath)).resolve()
    except (OSError, RuntimeError) as error:  # a symlink loop
        raise DataIOError(f"{relpath!r} cannot be resolved ({error})") from None
    if not resolved.is_relative_to(base):
        raise DataIOError(f"{relpath!r} resolves outside the dataset directory {base} (a "
                          "symlink); records name files inside it")
    return resolved

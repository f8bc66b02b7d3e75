"""Hugging Face image datasets as a frame source: a ``save_to_disk`` directory, parquet
files, or (online) a hub dataset id, with the image column and split chosen by name.

Like an image folder (:mod:`.images`), every row is its own scene (``stateless``) with a
stable key (``<name>/<row index>``, or the value of ``id_column`` made key-safe and
unique by :mod:`.keys`), so a killed run resumes. Rows have no depth or intrinsics
here: depth comes from a depth model and the camera from ``camera_info`` (rows of its
size), the depth model's estimate (Depth Pro) or the assumed field of view; which one
is recorded per image in the provenance. A vocabulary model adds each row's caption
phrases to its prompts, as for a folder. The model's depth is held to the range of
``inputs`` (the node's ``depth_min_m`` / ``depth_max_m``), as the node holds it.

Images are decoded here, not by ``datasets`` (the image column is read undecoded):
a row whose header declares more than ``max_pixels`` pixels, a damaged image or a
path outside the dataset (a cell holding only a path is read only under the
dataset's own folder, or the Hugging Face caches for a hub id) fails alone, counted
in the summary.

``datasets`` is imported when a source is opened, not on import. A location that
looks like a path (``./``, ``../``, ``/``, ``~``, a separator without a hub id's
``owner/name`` shape, a data file's extension), or any location while the hub is off
(``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE``), is never sent to the hub: a missing
one is "no such directory" at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import asdict
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

from ...core.capture import MAX_PIXELS
from ...core.errors import CoreError
from ...io.errors import DataIOError
from ...io.image_files import (
    check_pixel_count,
    decode_image,
    load_camera_info_yaml,
    rgb_of_array,
    rgb_of_image,
)
from ...perception.chain import PerceptionChain
from ...perception.errors import PerceptionError
from ...perception.factories import PerceptionSpec, assumed_camera
from ...perception.inputs import sensor_inputs
from ...perception.types import InputSettings
from ..frames import DEFAULT_INPUTS
from .filters import NO_FILTERS, FrameFilters, ImageFilter
from .keys import UniqueKeys, safe_part, unique_keys
from .sources import SourceFrame, inputs_from_spec, perception_chain, required_roles
from .vocabulary import (
    FIXED_PROMPTS_ONLY,
    NO_VOCABULARY,
    CaptionVocabulary,
    VocabularySpec,
    with_vocabulary,
)

__all__ = ["HFImageSource", "open_hf_dataset"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: A hub dataset id: ``name`` or ``owner/name``.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
#: Extensions of data files: a location ending so is a file, never a hub id.
_FILE_SUFFIXES = frozenset((".parquet", ".arrow", ".json", ".jsonl", ".csv", ".tsv",
                            ".txt", ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst",
                            ".png", ".jpg", ".jpeg", ".npy", ".npz", ".h5", ".hdf5",
                            ".yaml", ".yml", ".db3", ".mcap"))
#: Either set (to anything but 0/false/no/off) keeps ``datasets`` off the network.
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


def _offline() -> bool:
    return any(os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")
               for name in _OFFLINE_VARIABLES)


def looks_like_path(location: str) -> bool:
    """True when ``location`` can only mean a local path: it starts with ``./``, ``../``,
    ``/`` or ``~``, has a path separator but not a hub id's ``owner/name`` shape, or
    ends in a data file's extension."""
    separators = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    if location.startswith(("./", "../", "/", "~", ".\\", "..\\")) or location in (".", ".."):
        return True
    if any(sep in location for sep in separators) and not _HUB_ID.match(location):
        return True
    return Path(location).suffix.lower() in _FILE_SUFFIXES


def open_hf_dataset(location: str, split: str) -> Any:
    """The ``split`` of a dataset: a ``save_to_disk`` directory (a DatasetDict or one
    split), parquet file(s) (a file or a directory of them), or a hub id (needs the
    network). DataIOError saying what was tried when none of them opens."""
    try:
        import datasets
    except ImportError:
        raise DataIOError("Hugging Face datasets need the datasets package") from None
    path = Path(location).expanduser()
    if not path.exists() and (looks_like_path(location) or _offline()):
        offline = "" if looks_like_path(location) else (
            " (the hub is off: HF_HUB_OFFLINE / HF_DATASETS_OFFLINE is set)")
        raise DataIOError(f"no such directory: {location}{offline}; give a save_to_disk "
                          "directory, parquet file(s), or a hub id (owner/name) online")
    try:
        if path.is_dir() and ((path / "dataset_dict.json").is_file()
                              or (path / "state.json").is_file()):
            loaded = datasets.load_from_disk(str(path))
        elif path.suffix == ".parquet" or (path.is_dir() and any(path.rglob("*.parquet"))):
            files = [str(path)] if path.is_file() else sorted(
                str(p) for p in path.rglob("*.parquet"))
            loaded = datasets.load_dataset("parquet", data_files={split: files})
        elif path.exists():
            raise DataIOError(f"{path} is neither a save_to_disk directory nor parquet")
        else:
            loaded = datasets.load_dataset(location, split=split)
    except DataIOError:
        raise
    except Exception as error:  # offline, no such repo, a damaged file: one message
        raise DataIOError(f"dataset {location} cannot be opened ({type(error).__name__}: "
                          f"{str(error).strip().splitlines()[0] if str(error) else ''})"
                          ) from None
    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise DataIOError(f"dataset {location} has splits {sorted(loaded)}, not "
                              f"{split!r}: choose one with --split")
        loaded = loaded[split]
    return loaded


class HFImageSource:
    """The rows of one split of a Hugging Face dataset, each perceived alone."""

    kind = "hf_dataset"
    stateless = True

    def __init__(  # noqa: PLR0913 -- a dataset's reading options, all keyword-only
            self, location: str, name: str | None = None, *, perception: PerceptionSpec,
                 prompts: Sequence[str] = (), split: str = "train",
                 image_column: str = "image", id_column: str = "",
                 camera_info: str | Path | None = None,
                 filters: FrameFilters = NO_FILTERS,
                 vocabulary: VocabularySpec = FIXED_PROMPTS_ONLY,
                 max_pixels: int = MAX_PIXELS,
                 inputs: InputSettings = DEFAULT_INPUTS) -> None:
        self.location = str(location)
        self.inputs = inputs
        self.filters = filters
        self.split = split
        self.image_column = image_column
        self.id_column = id_column
        self.max_pixels = int(max_pixels)
        if self.max_pixels < 1:
            raise DataIOError(f"max_pixels must be >= 1, got {max_pixels}")
        #: Keys in the dataset with their scene lines carried over: not read again (set
        #: by the dataset build when it tops up a complete source with new images).
        self.carried_keys: frozenset[str] = frozenset()
        local = Path(self.location).expanduser()
        self.name = name or (_UNSAFE.sub("_", local.name).strip("._") or "dataset")
        self.uri = str(local.resolve()) if local.exists() else self.location
        self.topic = f"{split}:{image_column}"
        self.perception = perception
        self.prompts = tuple(prompts)
        self.vocabulary = vocabulary
        self._vocabulary = CaptionVocabulary(vocabulary, perception)
        self.camera_info = Path(camera_info) if camera_info else None
        self._camera = load_camera_info_yaml(self.camera_info) if self.camera_info else None
        missing = [role for role in required_roles(perception)]
        if missing:
            raise DataIOError(f"dataset rows have no {' or '.join(missing)} images: choose a "
                              "depth model (--depth-estimator) and model detector/segmenter")
        self._rows = open_hf_dataset(self.location, split)
        columns = list(self._rows.column_names)
        for column in (image_column, id_column):
            if column and column not in columns:
                raise DataIOError(f"dataset {self.location} has no column {column!r} "
                                  f"(columns: {', '.join(columns)})")
        named = self._named_keys()
        # only the image column is read per row, and undecoded: no other column's images
        # are decoded by datasets (unchecked) on the way
        self._rows = _undecoded(self._rows.select_columns([image_column]), image_column)
        self._roots = _path_roots(local)
        self.total: int | None = len(self._rows)
        self.keys = tuple(f"{self.name}/{key}" for key in named.keys)
        self._stats = {"rows": len(self._rows), "unreadable": 0,
                       "key_collisions": named.collisions}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> HFImageSource:
        return cls(spec["location"], spec["name"],
                   perception=PerceptionSpec.from_dict(spec["perception"]),
                   prompts=spec.get("prompts", ()), split=spec["split"],
                   image_column=spec["image_column"], id_column=spec.get("id_column", ""),
                   camera_info=spec.get("camera_info"),
                   filters=FrameFilters(**spec.get("filters", {})),
                   vocabulary=VocabularySpec(**spec.get("vocabulary", {})),
                   max_pixels=spec.get("max_pixels", MAX_PIXELS),
                   inputs=inputs_from_spec(spec)).carrying(spec.get("carried_keys", ()))

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "location": self.location, "name": self.name,
                "perception": asdict(self.perception), "prompts": list(self.prompts),
                "split": self.split, "image_column": self.image_column,
                "id_column": self.id_column,
                "camera_info": str(self.camera_info) if self.camera_info else None,
                "filters": asdict(self.filters), "vocabulary": asdict(self.vocabulary),
                "max_pixels": self.max_pixels, "inputs": asdict(self.inputs),
                "carried_keys": sorted(self.carried_keys)}

    def carrying(self, keys: Collection[str]) -> HFImageSource:
        """This source, its frames of ``keys`` neither read nor perceived (their scene
        lines are carried over from the dataset): yields them as ``carried``."""
        self.carried_keys = frozenset(keys)
        return self

    def stats(self) -> dict[str, Any]:
        return dict(self._stats)

    def __iter__(self) -> Iterator[SourceFrame]:
        return self.frames(perception_chain(self.perception), range(len(self._rows)))

    def frames(self, chain: PerceptionChain, indices: range) -> Iterator[SourceFrame]:
        """The rows ``indices``, perceived with ``chain``."""
        images = ImageFilter(self.filters) if self.filters.checks_images else None
        self._vocabulary.load()  # once per source object (per Ray actor)
        for index in indices:
            if self.keys[index] in self.carried_keys:
                yield SourceFrame(self.keys[index], index, None, None, carried=True)
                continue
            yield self._frame(chain, index, images)

    def _named_keys(self) -> UniqueKeys:
        """Keys of every row: the id column's values made key-safe and unique, else the
        row index (``00000042``)."""
        if not self.id_column:
            names = [f"{index:08d}" for index in range(len(self._rows))]
            return unique_keys(names, names)
        names = ["" if value is None else str(value) for value in self._rows[self.id_column]]
        return unique_keys(names, [safe_part(n) if n.strip() else str(index)
                                   for index, n in enumerate(names)])

    def _frame(self, chain: PerceptionChain, index: int,
               images: ImageFilter | None = None) -> SourceFrame:
        key = self.keys[index]
        try:
            value = self._rows[index][self.image_column]
            rgb = _rgb(value, f"row {index} image", self._roots, self.max_pixels)
        except (DataIOError, OSError, ValueError) as error:
            self._stats["unreadable"] += 1
            message = str(error) if str(error).startswith("row ") else f"row {index}: {error}"
            return SourceFrame(key, index, None, None, (), message, "invalid")
        reason = images.reason(rgb) if images is not None else ""
        if reason:  # dropped before any model runs
            return SourceFrame(key, index, None, None, skip_reason=reason, image_checked=True)
        height, width = rgb.shape[:2]
        camera = self._camera
        if camera is not None and (camera.height, camera.width) != (height, width):
            camera = None
        if self.perception.assumed_hfov_deg > 0:
            chain.fallback_camera = (assumed_camera(width, height,
                                                    self.perception.assumed_hfov_deg),
                                     "assumed_fov")
        try:
            prompts, entries = self._vocabulary.prompts(rgb, self.prompts)
            if self.vocabulary.model and not prompts:
                return SourceFrame(key, index, None, None, skip_reason=NO_VOCABULARY,
                                   image_checked=True)
            result = chain.run(sensor_inputs(rgb, None, camera, self.inputs), prompts, index)
        except PerceptionError as error:
            return SourceFrame(key, index, None, None, (), f"row {index}: {error}",
                               "perception")
        except CoreError as error:
            return SourceFrame(key, index, None, None, (), f"row {index}: {error}", "invalid")
        return SourceFrame(key, index, result.capture,
                           with_vocabulary(result.observations, entries),
                           image_checked=True)


def _undecoded(rows: Any, column: str) -> Any:
    """``rows`` with an Image column left undecoded (``{"bytes", "path"}`` cells), so
    that :func:`_rgb` decodes it: with the pixel limit, and a path only where allowed."""
    import datasets

    feature = rows.features.get(column)
    if isinstance(feature, datasets.Image) and feature.decode:
        return rows.cast_column(column, datasets.Image(decode=False))
    return rows


def _path_roots(local: Path) -> tuple[Path, ...]:
    """Where an image cell's path may point: under a local dataset's folder (a parquet
    file's folder), or for a hub id under the Hugging Face caches its files were
    downloaded to."""
    if local.exists():
        return ((local if local.is_dir() else local.parent).resolve(),)
    import datasets

    roots = [Path(datasets.config.HF_DATASETS_CACHE)]
    try:
        from huggingface_hub import constants

        roots.append(Path(constants.HF_HUB_CACHE))
    except ImportError:
        pass
    return tuple(root.expanduser().resolve() for root in roots)


def confined_path(text: str, roots: Sequence[Path], what: str) -> Path:
    """The file a path found in the data names (relative: to the first root), if it
    lies under one of ``roots`` once symbolic links and ``..`` are resolved; else
    DataIOError: data must not make us read files outside the dataset. (Unlike the
    records' ``io.datasets.layout.confined_path``, an absolute path is allowed inside
    a root: ``to_parquet`` writes image paths absolute, and a hub id's files lie in the
    caches.)"""
    path = Path(text)
    if not path.is_absolute():
        if not roots:
            raise DataIOError(f"{what} is the relative path {text!r} with no dataset folder")
        path = roots[0] / path
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError) as error:  # a symlink loop, a NUL
        raise DataIOError(f"{what}: the path {text!r} cannot be resolved ({error})") from None
    if not any(resolved.is_relative_to(root) for root in roots):
        raise DataIOError(f"{what} points outside the dataset ({text!r}; allowed under "
                          f"{', '.join(str(r) for r in roots)}): embed the image bytes, or "
                          "keep the files under the dataset's folder")
    return resolved


def _rgb(value: Any, what: str, roots: Sequence[Path], max_pixels: int) -> np.ndarray:
    """(H, W, 3) uint8 of an image cell: a ``{"bytes", "path"}`` dict (an undecoded
    Image feature; a path only under ``roots``), bytes, a PIL image or an array; its
    size checked against ``max_pixels`` before decoding."""
    from PIL import Image

    def convert(image: Image.Image) -> np.ndarray:
        return rgb_of_image(image, what)

    if isinstance(value, Mapping):
        data, path = value.get("bytes"), value.get("path")
        if data:
            return decode_image(BytesIO(data), what, max_pixels, convert)
        if path:
            return decode_image(confined_path(str(path), roots, what), what, max_pixels,
                                convert)
        raise DataIOError(f"{what}: the cell holds neither bytes nor a path")
    if isinstance(value, bytes | bytearray):
        return decode_image(BytesIO(value), what, max_pixels, convert)
    if isinstance(value, Image.Image):
        check_pixel_count(value.size, what, max_pixels)
        return convert(value)
    if value is None:
        raise DataIOError(f"{what}: the cell is empty")
    array = np.asarray(value)
    if array.ndim in (2, 3):
        check_pixel_count((array.shape[1], array.shape[0]), what, max_pixels)
    return rgb_of_array(array, what)

"""Hugging Face image datasets as a frame source: a ``save_to_disk`` directory, parquet
files, or (online) a hub dataset id, with the image column and split chosen by name.

Like an image folder (:mod:`.images`), every row is its own scene (``stateless``) with a
stable key (``<name>/<row index>``, or the value of ``id_column``), so a killed run
resumes. Rows have no depth or intrinsics here: depth comes from a depth model and the
camera from ``camera_info`` (rows of its size), the depth model's estimate (Depth Pro)
or the assumed field of view; which one is recorded per image in the provenance. A
vocabulary model adds each row's caption phrases to its prompts, as for a folder.

``datasets`` is imported when a source is opened, not on import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import CoreError
from ...io.errors import DataIOError
from ...io.image_files import load_camera_info_yaml
from ...perception.chain import PerceptionChain
from ...perception.errors import PerceptionError
from ...perception.registry import PerceptionSpec, assumed_camera
from ...perception.types import SensorInputs
from .filters import NO_FILTERS, FrameFilters, ImageFilter
from .sources import SourceFrame, perception_chain, required_roles
from .vocabulary import (
    FIXED_PROMPTS_ONLY,
    NO_VOCABULARY,
    CaptionVocabulary,
    VocabularySpec,
    with_vocabulary,
)

__all__ = ["HFImageSource", "open_hf_dataset"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def open_hf_dataset(location: str, split: str) -> Any:
    """The ``split`` of a dataset: a ``save_to_disk`` directory (a DatasetDict or one
    split), parquet file(s) (a file or a directory of them), or a hub id (needs the
    network). DataIOError saying what was tried when none of them opens."""
    try:
        import datasets
    except ImportError:
        raise DataIOError("Hugging Face datasets need the datasets package") from None
    path = Path(location)
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

    def __init__(self, location: str, name: str | None = None, *, perception: PerceptionSpec,
                 prompts: Sequence[str] = (), split: str = "train",
                 image_column: str = "image", id_column: str = "",
                 camera_info: str | Path | None = None,
                 filters: FrameFilters = NO_FILTERS,
                 vocabulary: VocabularySpec = FIXED_PROMPTS_ONLY) -> None:
        self.location = str(location)
        self.filters = filters
        self.split = split
        self.image_column = image_column
        self.id_column = id_column
        self.name = name or (_UNSAFE.sub("_", Path(self.location).name).strip("._")
                             or "dataset")
        self.uri = self.location if not Path(self.location).exists() else \
            str(Path(self.location).resolve())
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
        self.total: int | None = len(self._rows)
        self._stats = {"rows": len(self._rows), "unreadable": 0}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> HFImageSource:
        return cls(spec["location"], spec["name"],
                   perception=PerceptionSpec(**spec["perception"]),
                   prompts=spec.get("prompts", ()), split=spec["split"],
                   image_column=spec["image_column"], id_column=spec.get("id_column", ""),
                   camera_info=spec.get("camera_info"),
                   filters=FrameFilters(**spec.get("filters", {})),
                   vocabulary=VocabularySpec(**spec.get("vocabulary", {})))

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "location": self.location, "name": self.name,
                "perception": asdict(self.perception), "prompts": list(self.prompts),
                "split": self.split, "image_column": self.image_column,
                "id_column": self.id_column,
                "camera_info": str(self.camera_info) if self.camera_info else None,
                "filters": asdict(self.filters), "vocabulary": asdict(self.vocabulary)}

    def stats(self) -> dict[str, Any]:
        return dict(self._stats)

    def __iter__(self) -> Iterator[SourceFrame]:
        return self.frames(perception_chain(self.perception), range(len(self._rows)))

    def frames(self, chain: PerceptionChain, indices: range) -> Iterator[SourceFrame]:
        """The rows ``indices``, perceived with ``chain``."""
        images = ImageFilter(self.filters) if self.filters.checks_images else None
        self._vocabulary.load()  # once per source object (per Ray actor)
        for index in indices:
            yield self._frame(chain, index, self._rows[index], images)

    def _key(self, index: int, row: Mapping[str, Any]) -> str:
        if self.id_column:
            return f"{self.name}/{_UNSAFE.sub('_', str(row[self.id_column])).strip('_') or index}"
        return f"{self.name}/{index:08d}"

    def _frame(self, chain: PerceptionChain, index: int, row: Mapping[str, Any],
               images: ImageFilter | None = None) -> SourceFrame:
        key = self._key(index, row)
        try:
            rgb = _rgb(row[self.image_column])
        except (DataIOError, OSError, ValueError) as error:
            self._stats["unreadable"] += 1
            return SourceFrame(key, index, None, None, (), f"row {index}: {error}", "invalid")
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
            result = chain.run(SensorInputs(rgb, camera), prompts, index)
        except PerceptionError as error:
            return SourceFrame(key, index, None, None, (), f"row {index}: {error}",
                               "perception")
        except CoreError as error:
            return SourceFrame(key, index, None, None, (), f"row {index}: {error}", "invalid")
        return SourceFrame(key, index, result.frame,
                           with_vocabulary(result.observations, entries),
                           image_checked=True)


def _rgb(value: Any) -> np.ndarray:
    """(H, W, 3) uint8 of an image cell: a PIL image (the Image feature decoded), a
    ``{"bytes", "path"}`` dict, or an array."""
    from io import BytesIO

    from PIL import Image

    if isinstance(value, Mapping):
        data = value.get("bytes")
        if data:
            value = Image.open(BytesIO(data))
        elif value.get("path"):
            value = Image.open(value["path"])
        else:
            raise DataIOError("the image cell holds neither bytes nor a path")
    if isinstance(value, Image.Image):
        return np.asarray(value.convert("RGB"), np.uint8).copy()
    array = np.asarray(value)
    if array.ndim == 3 and array.shape[2] == 3:
        return array.astype(np.uint8)
    raise DataIOError(f"the image cell is not an image (got {type(value).__name__})")

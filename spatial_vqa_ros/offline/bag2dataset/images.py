"""Image folders as a frame source: any JPEG/PNG collection through the perception
chain into the same dataset writer as rosbags.

Why beside bags: most spatial VQA data is made from image collections (VQASynth,
SpatialRGPT's pipeline), not recordings. A folder's images are unrelated scenes, so
the source is ``stateless`` (a fresh tracker per image) and every image is its own key
(``<folder name>/<relative path>``, made key-safe and unique by :mod:`.keys`, stable
across runs, so a killed run resumes).

Optional side files, matched by the image's relative path without its extension:

- ``--depth-dir``: ``<stem>.npy`` (metres) or ``<stem>.png`` (16-bit millimetres);
- ``--instances-dir``: ``<stem>.png`` (16-bit instance ids, 0 = none) and
  ``<stem>.json`` (``{"id": "label"}``): a simulator's or an annotated dataset's truth,
  for the simulation chain;
- intrinsics: ``<stem>.camera_info.yaml`` beside the image, else ``--camera-info`` for
  every image of its size, else the depth model's estimate (Depth Pro), else
  ``--hfov`` (the chain's assumed field of view). Which one was used is recorded per
  image in the provenance (``intrinsics_source``).

With a ``vocabulary`` model (``--vocabulary-model``) each image's prompts add the noun
phrases of its own caption (:mod:`.vocabulary`); an image left with no prompt is skipped
as ``no_vocabulary``.

An image that cannot be read, or whose side files are wrong, fails alone with the
reason (counted in the summary); the others go on. An image (or side file) whose
header declares more than ``max_pixels`` pixels is refused before it is decoded.
Depth, from a file or a model, is held to the range of ``inputs`` (the node's
``depth_min_m`` / ``depth_max_m``): the images become perception inputs through
:func:`~spatial_vqa_ros.perception.inputs.sensor_inputs`, as the node's frames do.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ...core.camera import CameraIntrinsics
from ...core.capture import MAX_PIXELS
from ...core.errors import CoreError
from ...io.errors import DataIOError
from ...io.image_files import load_camera_info_yaml, load_depth, load_instances, load_rgb
from ...perception.chain import PerceptionChain
from ...perception.errors import PerceptionError
from ...perception.factories import PerceptionSpec, assumed_camera
from ...perception.inputs import sensor_inputs
from ...perception.types import InputSettings, SensorInputs
from ..frames import DEFAULT_INPUTS
from .filters import NO_FILTERS, FrameFilters, ImageFilter
from .keys import safe_part, unique_keys
from .sources import (
    SourceFrame,
    inputs_from_spec,
    perception_chain,
    required_roles,
    source_name,
)
from .vocabulary import (
    FIXED_PROMPTS_ONLY,
    NO_VOCABULARY,
    CaptionVocabulary,
    VocabularySpec,
    with_vocabulary,
)

__all__ = ["IMAGE_SUFFIXES", "ImageFolderSource"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class ImageFolderSource:
    """The images under ``root`` (recursive, sorted), each perceived alone."""

    kind = "images"
    stateless = True
    topic = ""

    def __init__(  # noqa: PLR0913 -- a folder's reading options, all keyword-only
            self, root: str | Path, name: str | None = None, *,
                 perception: PerceptionSpec, prompts: Sequence[str] = (),
                 depth_dir: str | Path | None = None, instances_dir: str | Path | None = None,
                 camera_info: str | Path | None = None,
                 filters: FrameFilters = NO_FILTERS,
                 vocabulary: VocabularySpec = FIXED_PROMPTS_ONLY,
                 max_pixels: int = MAX_PIXELS,
                 inputs: InputSettings = DEFAULT_INPUTS) -> None:
        self.root = Path(root)
        self.inputs = inputs
        self.max_pixels = int(max_pixels)
        if self.max_pixels < 1:
            raise DataIOError(f"max_pixels must be >= 1, got {max_pixels}")
        #: Keys in the dataset with their scene lines carried over: not read again (set
        #: by the dataset build when it tops up a complete source with new images).
        self.carried_keys: frozenset[str] = frozenset()
        self.filters = filters
        if not self.root.is_dir():
            raise DataIOError(f"image folder {self.root} does not exist or is not a folder")
        self.name = name or source_name(self.root)
        self.uri = str(self.root.resolve())
        self.perception = perception
        self.prompts = tuple(prompts)
        self.vocabulary = vocabulary
        self._vocabulary = CaptionVocabulary(vocabulary, perception)
        self.depth_dir = Path(depth_dir) if depth_dir else None
        self.instances_dir = Path(instances_dir) if instances_dir else None
        self.camera_info = Path(camera_info) if camera_info else None
        self._camera = load_camera_info_yaml(self.camera_info) if self.camera_info else None
        side_dirs = [d.resolve() for d in (self.depth_dir, self.instances_dir) if d]
        self.images = [p for p in sorted(self.root.rglob("*"))
                       if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                       and not any(d in p.resolve().parents for d in side_dirs)]
        if not self.images:
            raise DataIOError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {self.root}")
        self.total: int | None = len(self.images)
        relatives = [p.relative_to(self.root) for p in self.images]
        named = unique_keys([r.as_posix() for r in relatives],
                            ["/".join(safe_part(part) for part in r.parts) for r in relatives])
        self.keys = tuple(f"{self.name}/{key}" for key in named.keys)
        required = required_roles(perception)
        if "depth" in required and self.depth_dir is None:
            from ...perception.families.catalog import model_help

            raise DataIOError("sensor depth needs --depth-dir (depth files beside the "
                              "images); or choose a depth model (--depth-estimator "
                              f"{model_help('depth').replace(', ', ' or ')})")
        if "instances" in required and self.instances_dir is None:
            raise DataIOError("the simulation detector/segmenter needs --instances-dir "
                              "(instance images and labels); or choose model families")
        self._stats = {"images": len(self.images), "unreadable": 0,
                       "key_collisions": named.collisions}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> ImageFolderSource:
        return cls(spec["path"], spec["name"],
                   perception=PerceptionSpec.from_dict(spec["perception"]),
                   prompts=spec.get("prompts", ()), depth_dir=spec.get("depth_dir"),
                   instances_dir=spec.get("instances_dir"),
                   camera_info=spec.get("camera_info"),
                   filters=FrameFilters(**spec.get("filters", {})),
                   vocabulary=VocabularySpec(**spec.get("vocabulary", {})),
                   max_pixels=spec.get("max_pixels", MAX_PIXELS),
                   inputs=inputs_from_spec(spec)).carrying(spec.get("carried_keys", ()))

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.root), "name": self.name,
                "perception": asdict(self.perception), "prompts": list(self.prompts),
                "depth_dir": str(self.depth_dir) if self.depth_dir else None,
                "instances_dir": str(self.instances_dir) if self.instances_dir else None,
                "camera_info": str(self.camera_info) if self.camera_info else None,
                "filters": asdict(self.filters), "vocabulary": asdict(self.vocabulary),
                "max_pixels": self.max_pixels, "inputs": asdict(self.inputs),
                "carried_keys": sorted(self.carried_keys)}

    def carrying(self, keys: Collection[str]) -> ImageFolderSource:
        """This source, its frames of ``keys`` neither read nor perceived (their scene
        lines are carried over from the dataset): yields them as ``carried``."""
        self.carried_keys = frozenset(keys)
        return self

    def stats(self) -> dict[str, Any]:
        return dict(self._stats)

    def __iter__(self) -> Iterator[SourceFrame]:
        return self.frames(perception_chain(self.perception), range(len(self.images)))

    def frames(self, chain: PerceptionChain, indices: range) -> Iterator[SourceFrame]:
        """The images ``indices`` (of the sorted list), perceived with ``chain``."""
        images = ImageFilter(self.filters) if self.filters.checks_images else None
        self._vocabulary.load()  # once per source object (per Ray actor)
        for index in indices:
            if self.keys[index] in self.carried_keys:
                yield SourceFrame(self.keys[index], index, None, None, carried=True)
                continue
            yield self._frame(chain, index, self.images[index], images)

    def _frame(self, chain: PerceptionChain, index: int, path: Path,
               images: ImageFilter | None = None) -> SourceFrame:
        relative = path.relative_to(self.root)
        key = self.keys[index]
        try:
            inputs = self._inputs(path, relative.with_suffix(""))
        except (DataIOError, CoreError, PerceptionError) as error:
            self._stats["unreadable"] += 1
            return SourceFrame(key, index, None, None, (), str(error), "invalid")
        reason = images.reason(inputs.rgb) if images is not None else ""
        if reason:  # dropped before any model runs
            return SourceFrame(key, index, None, None, skip_reason=reason, image_checked=True)
        height, width = inputs.size_hw
        if self.perception.assumed_hfov_deg > 0:
            chain.fallback_camera = (assumed_camera(width, height,
                                                    self.perception.assumed_hfov_deg),
                                     "assumed_fov")
        try:
            prompts, entries = self._vocabulary.prompts(inputs.rgb, self.prompts)
            if self.vocabulary.model and not prompts:
                return SourceFrame(key, index, None, None, skip_reason=NO_VOCABULARY,
                                   image_checked=True)
            result = chain.run(inputs, prompts, index)
        except PerceptionError as error:
            return SourceFrame(key, index, None, None, (), f"{relative}: {error}",
                               "perception")
        except CoreError as error:
            return SourceFrame(key, index, None, None, (), f"{relative}: {error}", "invalid")
        return SourceFrame(key, index, result.capture,
                           with_vocabulary(result.observations, entries),
                           image_checked=True)

    def _inputs(self, path: Path, stem: Path) -> SensorInputs:
        rgb = load_rgb(path, self.max_pixels)
        size_hw = rgb.shape[:2]
        depth = self._side(self.depth_dir, stem, (".npy", ".png"))
        depth_m = load_depth(depth, size_hw, self.max_pixels) if depth is not None else None
        if depth is None and "depth" in required_roles(self.perception):
            raise DataIOError(f"{path.name}: no depth file {stem}.npy or {stem}.png in "
                              f"{self.depth_dir}")
        ids, labels = self._instances(stem, size_hw)
        return sensor_inputs(rgb, depth_m, self._intrinsics(path, stem, size_hw), self.inputs,
                             instance_ids=ids, id_to_label=labels)

    def _intrinsics(self, path: Path, stem: Path, size_hw: tuple[int, ...]
                    ) -> CameraIntrinsics | None:
        beside = self.root / f"{stem}.camera_info.yaml"
        if beside.is_file():
            return load_camera_info_yaml(beside)
        camera = self._camera
        if camera is not None and (camera.height, camera.width) == tuple(size_hw):
            return camera
        if camera is not None and not self.perception.assumed_hfov_deg:
            raise DataIOError(f"{path.name} is {size_hw[1]}x{size_hw[0]} but "
                              f"{self.camera_info} is for {camera.width}x{camera.height}: "
                              "give a camera_info per image size, or --hfov")
        return None

    def _instances(self, stem: Path, size_hw: tuple[int, ...]
                   ) -> tuple[np.ndarray | None, dict[int, str] | None]:
        if self.instances_dir is None:
            return None, None
        image = self._side(self.instances_dir, stem, (".png",))
        labels_path = self._side(self.instances_dir, stem, (".json",))
        if image is None or labels_path is None:
            raise DataIOError(f"no instance image and labels {stem}.png / {stem}.json in "
                              f"{self.instances_dir}")
        return load_instances(image, labels_path, (size_hw[0], size_hw[1]), self.max_pixels)

    @staticmethod
    def _side(directory: Path | None, stem: Path, suffixes: Sequence[str]) -> Path | None:
        if directory is None:
            return None
        for suffix in suffixes:
            candidate = directory / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
        return None

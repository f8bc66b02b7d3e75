"""One benchmark image through the perception chain and the core, and each of its
questions answered from the scene graph, as a planner's query would be.

The regions of SpatialRGPT-Bench become the objects as they are given: a region's mask
where the record has one (COCO RLE), else the chain's segmenter on its box (the paper's
own fallback, with SAM; ``depth_box`` without a model). Q-Spatial Bench's named objects
are found by the chain's detector: the best box of each name (the two best for "the
two stools"), then the segmenter. Every object is called by its role, ``Region A`` the
subject and ``Region B`` the object, so the answers read the same in both benchmarks.

Answers come from :func:`~spatial_vqa_ros.core.query.answer_structured` (the one gate
included: a refusal is an answer, counted as a failure by the headline figure); the
minimum distance of Q-Spatial is the gap between the two objects' visible points
(closest points), which the core's reward already measures.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.camera import CameraIntrinsics
from ...core.capture import MAX_PIXELS, Capture
from ...core.errors import CoreError, UnknownObjectError
from ...core.objects import ObjectConfig
from ...core.pipeline import PipelineConfig, ScenePipeline
from ...core.query import answer_structured
from ...core.relations import gap_distance
from ...core.scene_graph import SceneGraph
from ...core.units import colloquial_length
from ...io.datasets.layout import relative_data_path
from ...io.errors import DataIOError
from ...io.image_files import decode_image, rgb_of_image
from ...perception.chain import PerceptionChain, observations_from
from ...perception.errors import PerceptionError
from ...perception.inputs import sensor_inputs
from ...perception.types import Detections, InputSettings, check_masks
from .questions import BenchQuestion, Region, region_name

__all__ = ["BenchAnswer", "ImageScene", "answer_question", "depth_file", "load_image",
           "measure_image", "perceive_question"]

SUBJECT, OBJECT = region_name(0), region_name(1)


@dataclass(frozen=True)
class BenchAnswer:
    """Our answer to one question: its text (what the scorers read), whether the core
    stated it, why not (the refusal or the error), and where its numbers come from."""

    text: str
    stated: bool
    reason: str = ""
    intrinsics_source: str = ""
    depth_source: str = ""


@dataclass(frozen=True)
class ImageScene:
    """An image's scene graph and the provenance of its numbers."""

    graph: SceneGraph
    intrinsics_source: str
    depth_source: str


def load_image(question: BenchQuestion, root: Path, max_pixels: int | None = MAX_PIXELS
               ) -> np.ndarray:
    """The question's image as (H, W, 3) uint8: the file's embedded bytes, else
    ``root / image`` (a relative path without ``..``, see :func:`depth_file`);
    DataIOError naming it when it is elsewhere, missing or not an image."""
    if question.image_bytes:
        return decode_image(io.BytesIO(question.image_bytes), f"{question.qid}'s image",
                            max_pixels, rgb_of_image)
    path = root / relative_data_path(question.image)
    return decode_image(path, f"image {path}", max_pixels, rgb_of_image)


def depth_file(depth_dir: Path, image: str) -> Path:
    """``<depth_dir>/<image path without its suffix>.npy`` (metres), else ``.png``
    (16-bit millimetres): depth the user has for the benchmark's images.

    A record's path is checked by its spelling only (relative, no ``..``), not resolved:
    benchmark image folders are often symlinks to where the data lives."""
    stem = depth_dir / Path(relative_data_path(image)).with_suffix("")
    npy = stem.with_suffix(".npy")
    return npy if npy.exists() else stem.with_suffix(".png")


def _region_mask(region: Region, size_hw: tuple[int, int]) -> np.ndarray | None:
    if region.rle is None:
        return None
    from pycocotools import mask as coco_mask

    counts = region.rle["counts"]
    rle = {"size": list(region.rle["size"]),
           "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    try:
        with warnings.catch_warnings():  # its numpy-2 copy-keyword notice, every call
            warnings.simplefilter("ignore", DeprecationWarning)
            mask = coco_mask.decode(rle).astype(bool)
    except Exception as error:  # pycocotools raises bare Exceptions on bad counts
        raise DataIOError(f"a region's rle mask cannot be decoded ({error})") from None
    if mask.shape != size_hw:
        raise DataIOError(f"a region's rle mask is {mask.shape[1]}x{mask.shape[0]} but the "
                          f"image is {size_hw[1]}x{size_hw[0]}")
    return mask


def _given_regions(chain: PerceptionChain, inputs, depth_m, regions: Sequence[Region]
                   ) -> tuple[Detections, np.ndarray]:
    """Detections and masks of the given regions: RLE masks, else the segmenter's."""
    height, width = inputs.size_hw
    xyxy = np.array([r.xyxy for r in regions], np.float32).reshape(-1, 4)
    detections = Detections(xyxy, tuple(region_name(k) for k in range(len(regions))),
                            np.ones(len(regions), np.float32)).clipped(width, height)
    if len(detections) != len(regions):
        raise DataIOError(f"a region's box lies outside the {width}x{height} image")
    masks = [_region_mask(r, (height, width)) for r in regions]
    missing = [k for k, m in enumerate(masks) if m is None]
    if missing:
        segmented = check_masks(chain.segmenter.segment(inputs, detections.xyxy[missing],
                                                        depth_m), len(missing), (height, width))
        for k, mask in zip(missing, segmented):
            masks[k] = mask
    return detections, np.stack(masks) if masks else np.zeros((0, height, width), bool)


def _named_objects(chain: PerceptionChain, inputs, depth_m, question: BenchQuestion
                   ) -> tuple[Detections, np.ndarray]:
    """The detector's best box for the subject and the object (the two best for one
    name asked twice), labelled by role, then their masks: the detector's own where it
    gives them (SAM 3), else the segmenter's."""
    names = [question.subject] + ([question.object] if question.object else [])
    found = chain.detector.detect(inputs, list(dict.fromkeys(names)))
    height, width = inputs.size_hw
    found = found.clipped(width, height)
    picked: list[int] = []
    for name in names:
        ranked = sorted((k for k, label in enumerate(found.labels)
                         if label.lower() == name.lower() and k not in picked),
                        key=lambda k: -float(found.scores[k]))
        if not ranked:
            raise PerceptionError(f"the detector found no {name!r}")
        picked.append(ranked[0])
    chosen = found.selected(picked)
    detections = Detections(chosen.xyxy, tuple(region_name(k) for k in range(len(picked))),
                            chosen.scores)
    if chosen.masks is not None:  # a family that gives masks from text (SAM 3)
        return detections, check_masks(chosen.masks, len(picked), (height, width))
    masks = check_masks(chain.segmenter.segment(inputs, detections.xyxy, depth_m),
                        len(picked), (height, width))
    return detections, masks


def measure_image(rgb: np.ndarray, chain: PerceptionChain, *, depth_m: np.ndarray | None,
                  camera: CameraIntrinsics | None, settings: InputSettings):
    """(inputs, measured depth) of one image: depth runs once per image, however many
    questions it has."""
    inputs = sensor_inputs(rgb, depth_m, camera, settings)
    return inputs, chain.measure_depth(inputs, {})


def perceive_question(question: BenchQuestion, inputs, measured, chain: PerceptionChain, *,
                      max_object_extent_m: float) -> ImageScene:
    """The scene graph of ``question``'s objects in its measured image (module
    docstring). Raises PerceptionError / CoreError / DataIOError with what went wrong."""
    depth = measured.depth.depth_m
    if question.regions:
        detections, masks = _given_regions(chain, inputs, depth, question.regions)
    else:
        detections, masks = _named_objects(chain, inputs, depth, question)
    provenance = chain.provenance(measured)
    observations = observations_from(masks, detections, provenance, chain.detector.name)
    capture = Capture(inputs.rgb, depth, measured.camera, 0)
    config = PipelineConfig(objects=ObjectConfig(max_object_extent_m=max_object_extent_m))
    result = ScenePipeline(config).process(capture, observations)
    return ImageScene(result.graph, measured.intrinsics_source, measured.depth.source)


def _gap(graph: SceneGraph) -> tuple[str, str]:
    """(text, refusal) of the minimum distance between the subject and the object."""
    try:
        a, b = graph.find(SUBJECT), graph.find(OBJECT)
    except UnknownObjectError as error:
        return "", str(error)
    gap = gap_distance(a.points_scene, b.points_scene)
    if not np.isfinite(gap):
        return "", "an object has no measured points"
    return f"The minimum distance is {colloquial_length(gap).text()}.", ""


def answer_question(question: BenchQuestion, scene: ImageScene) -> BenchAnswer:
    """Our answer to ``question`` from its image's scene graph."""
    provenance = {"intrinsics_source": scene.intrinsics_source,
                  "depth_source": scene.depth_source}
    if question.relation == "gap":
        text, refusal = _gap(scene.graph)
        return BenchAnswer(text, not refusal, refusal, **provenance)
    choice = question.qa.get("category", "").endswith("_choice")
    try:
        answer = answer_structured(scene.graph, question.relation, SUBJECT,
                                   OBJECT if question.object else "", choice=choice)
    except CoreError as error:
        return BenchAnswer("", False, str(error), **provenance)
    stated = answer.success and answer.truth != "unclear"
    return BenchAnswer(answer.text if stated else "", stated,
                       "" if stated else (answer.error or answer.text), **provenance)

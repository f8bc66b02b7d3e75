"""The perception chain: depth, detection and segmentation composed into the core's inputs.

One frame's :class:`~.types.SensorInputs` and the text prompts go in; out come the
metric depth and camera the geometry core needs, :class:`Observations` with one mask
per instance, the detector's boxes and scores, the provenance of every number (which
models, where depth and intrinsics came from, the scale applied) and per-stage timings.
A stage that raises is reported as a :class:`PerceptionError` naming the stage, so a
node logs it and keeps running.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..core.camera import CameraIntrinsics
from ..core.capture import Capture, Observations
from .depth import within_range
from .errors import PerceptionError
from .live_report import LiveReport
from .protocols import DepthEstimator, Detector, Segmenter
from .types import DepthResult, Detections, Provenance, SensorInputs, check_masks

#: Turns model depth into metric depth the robot trusts (scale alignment), or None.
DepthAligner = Callable[[DepthResult, SensorInputs, CameraIntrinsics], DepthResult]

STAGES = ("depth", "align", "detect", "segment")


@dataclass(frozen=True)
class ChainResult:
    """Everything a frame's perception produced: the :class:`Capture` (rgb, metric
    depth, intrinsics, stamp) and what was seen in it. ``timings_s``: stage -> seconds."""

    capture: Capture
    observations: Observations
    detections: Detections
    depth: DepthResult
    provenance: Provenance
    timings_s: dict[str, float]
    #: The two-rate chain's account of the frame (keyframe or not, each object's mask
    #: tracked or detected and its detection's age); None from the serial chain.
    live: LiveReport | None = None


@dataclass(frozen=True)
class MeasuredDepth:
    """A frame's metric depth (aligned, within the valid range) and the camera it is
    measured with; ``intrinsics_source``: one of ``INTRINSICS_SOURCES``."""

    depth: DepthResult
    camera: CameraIntrinsics
    intrinsics_source: str


def observations_from(masks: np.ndarray, detections: Detections, provenance: Provenance,
                      detector_name: str) -> Observations:
    """The core's :class:`Observations` of one mask per detection (the serial chain's
    per-frame result and the two-rate chain's tracked objects alike): labels, scores,
    boxes and source ids from ``detections``, the provenance attached, and prompts the
    detector cannot look for said in the warnings."""
    observations = replace(Observations.from_masks(
        masks, detections.labels, detections.scores, detections.xyxy,
        detections.source_ids), provenance=provenance.as_dict())
    if detections.unknown_prompts:
        observations = replace(observations, warnings=(
            f"the {detector_name} detector cannot look for: "
            f"{', '.join(detections.unknown_prompts)}",))
    return observations


def masks_from_detector(detector: object) -> bool:
    """Whether ``detector``'s class declares that it returns instance masks with its
    boxes (``masks_from_text = True``, see :mod:`.protocols`): such a family fills the
    segmenter's role too, and the chain never calls a segmenter on its detections."""
    return bool(getattr(type(detector), "masks_from_text", False))


def staged(stage: str, name: str, call: Callable[[], object]) -> object:
    """Run one stage; any failure becomes a PerceptionError that names it."""
    try:
        return call()
    except PerceptionError as error:
        raise PerceptionError(f"{stage} ({name}): {error}") from error
    except Exception as error:  # a model's own exception: reported, never fatal
        raise PerceptionError(f"{stage} ({name}) failed: {type(error).__name__}: "
                              f"{error}") from error


class PerceptionChain:
    """depth -> (align) -> detect -> segment, with the models passed in.

    ``fallback_camera``: intrinsics to assume when a frame has no CameraInfo and the
    depth model estimates none (e.g. from an assumed field of view), with its source.
    """

    def __init__(self, depth: DepthEstimator, detector: Detector, segmenter: Segmenter, *,
                 align: DepthAligner | None = None,
                 fallback_camera: tuple[CameraIntrinsics, str] | None = None) -> None:
        self.depth = depth
        self.detector = detector
        self.segmenter = segmenter
        self.align = align
        self.fallback_camera = fallback_camera

    def replaced(self, **models: object) -> PerceptionChain:
        """A new chain with some of its models replaced (``detector=...``), for a model
        swap while a node runs: the running chain is never changed in place, so a frame
        in flight finishes with the models it started with."""
        parts = {"depth": self.depth, "detector": self.detector, "segmenter": self.segmenter}
        unknown = sorted(set(models) - set(parts))
        if unknown:
            raise ValueError(f"a chain has depth, detector and segmenter, not {unknown}")
        parts.update(models)
        return PerceptionChain(parts["depth"], parts["detector"], parts["segmenter"],
                               align=self.align, fallback_camera=self.fallback_camera)

    def run(self, inputs: SensorInputs, prompts: Sequence[str], stamp_ns: int = 0
            ) -> ChainResult:
        timings: dict[str, float] = {}
        measured = self.measure_depth(inputs, timings)
        detections, masks = self.detect_and_segment(inputs, prompts, measured.depth.depth_m,
                                                    timings)
        provenance = self.provenance(measured, detections)
        observations = observations_from(masks, detections, provenance, self.detector.name)
        capture = Capture(inputs.rgb, measured.depth.depth_m, measured.camera, stamp_ns)
        return ChainResult(capture, observations, detections, measured.depth, provenance,
                           timings)

    def measure_depth(self, inputs: SensorInputs, timings: dict[str, float]) -> MeasuredDepth:
        """The depth stage (and scale alignment, and the valid range) of one frame, with
        the camera it is measured with; stage seconds are added to ``timings``. Every
        frame needs it, keyframe or not (the two-rate chain runs it alone)."""
        start = time.perf_counter()
        depth = staged("depth", self.depth.name, lambda: self.depth.estimate(inputs))
        timings["depth"] = time.perf_counter() - start
        if depth.depth_m.shape != inputs.size_hw:
            raise PerceptionError(f"depth ({self.depth.name}) is {depth.depth_m.shape}, "
                                  f"expected {inputs.size_hw} to match the rgb image")
        camera, intrinsics_source = self._camera(inputs, depth)
        if self.align is not None and depth.source == "model":  # "model+sensor": prompted
            start = time.perf_counter()
            depth = staged("align", "scale", lambda: self.align(depth, inputs, camera))
            timings["align"] = time.perf_counter() - start
        depth = within_range(depth, inputs.settings)  # model depth too: none beyond the range
        return MeasuredDepth(depth, camera, intrinsics_source)

    def detect_and_segment(self, inputs: SensorInputs, prompts: Sequence[str],
                           depth_m: np.ndarray | None, timings: dict[str, float]
                           ) -> tuple[Detections, np.ndarray]:
        """The expensive stages: boxes for ``prompts`` (clipped to the image) and one
        (N, H, W) bool mask per box; stage seconds are added to ``timings``. Detections
        that carry their own masks (a detector that returns masks from text, SAM 3) keep
        them: the segmenter is not called and ``timings`` gets no "segment" entry.
        Both chains run this: the serial one per frame, the two-rate one per keyframe."""
        start = time.perf_counter()
        detections = staged("detect", self.detector.name,
                             lambda: self.detector.detect(inputs, prompts))
        height, width = inputs.size_hw
        detections = staged("detect", self.detector.name,
                             lambda: detections.clipped(width, height))
        timings["detect"] = time.perf_counter() - start
        if detections.masks is not None:
            masks = staged("detect", self.detector.name, lambda: check_masks(
                detections.masks, len(detections), inputs.size_hw))
            return detections, masks
        start = time.perf_counter()
        masks = staged("segment", self.segmenter.name, lambda: check_masks(
            self.segmenter.segment(inputs, detections.xyxy, depth_m),
            len(detections), inputs.size_hw))
        timings["segment"] = time.perf_counter() - start
        return detections, masks

    def provenance(self, measured: MeasuredDepth, detections: Detections | None = None
                   ) -> Provenance:
        """Where a frame's numbers come from: this chain's models and the depth used. The
        masks come from the detector when ``detections`` carry them or its class says
        it returns masks from text (``masks_from_text``; the two-rate chain's tracked
        masks began as its masks): it is named for both roles then."""
        depth = measured.depth
        masked = masks_from_detector(self.detector) or (
            detections is not None and detections.masks is not None)
        return Provenance(
            depth_source=depth.source, depth_model=depth.model_id,
            detector=self.detector.name,
            segmenter=self.detector.name if masked else self.segmenter.name,
            intrinsics_source=measured.intrinsics_source, depth_scale=depth.scale,
            depth_shift_m=depth.shift_m)

    def _camera(self, inputs: SensorInputs, depth: DepthResult
                ) -> tuple[CameraIntrinsics, str]:
        if inputs.camera is not None:
            return inputs.camera, "camera_info"
        if depth.intrinsics is not None:
            return depth.intrinsics, "model"
        if self.fallback_camera is not None:
            return self.fallback_camera
        raise PerceptionError("no camera intrinsics: give CameraInfo (or fx, fy, cx, cy), a "
                              "depth model that estimates them, or an assumed field of view")


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


__all__ = ["STAGES", "ChainResult", "DepthAligner", "MeasuredDepth", "PerceptionChain",
           "mask_iou", "masks_from_detector", "observations_from"]

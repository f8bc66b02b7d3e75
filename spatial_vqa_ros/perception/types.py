"""What flows through the perception seams: typed containers with documented shapes.

Shapes (H, W = image height and width, N = detections):

- ``SensorInputs.rgb``: (H, W, 3) uint8 RGB; ``depth_m``: (H, W) float32 metres, NaN
  where invalid; ``instance_ids``: (H, W) integer ids (simulators only)
- ``DepthResult.depth_m``: (H, W) float32 metres aligned to the rgb image
- ``Detections.xyxy``: (N, 4) float32 pixels (x0, y0, x1, y1), exclusive upper bounds;
  ``labels``: N prompts; ``scores``: (N,) float32 in [0, 1]; ``masks``: (N, H, W) bool
  or None (a detector that segments what it finds, e.g. SAM 3)
- masks: (N, H, W) bool, one per detection
- ``TrackingFrame.depth_m``: (H, W) float32 metres; ``world_from_camera``: (4, 4)
- ``TrackedMasks.ids``: (N,) int64; ``masks``: (N, H, W) bool; ``confidence``: (N,)
  float32 in [0, 1]; ``lost``: (N,) bool

Every container checks its shapes when built and says which shape was expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..core.camera import CameraIntrinsics
from ..core.capture import DEPTH_MAX_M, DEPTH_MIN_M
from .errors import PerceptionError

DEPTH_SOURCES = ("sensor", "model", "model+sensor")
INTRINSICS_SOURCES = ("camera_info", "model", "assumed_fov")


def check_rgb(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise PerceptionError(f"rgb must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")


@dataclass(frozen=True)
class InputSettings:
    """What shapes a frame's inputs, the same for the node and the offline tools.

    The node builds it from its parameters, the offline tools from their options, and
    both hand it with the raw images to :func:`~.inputs.sensor_inputs`, so one recording
    gives the same inputs either way. Depth outside [``depth_min_m``, ``depth_max_m``]
    is invalid (NaN) wherever it came from: decoded sensor depth, depth files, and the
    depth a model estimates (the chain applies the range after scale alignment), so no
    object is ever measured from it. Depth scales are REP-118's, by encoding
    (:data:`~spatial_vqa_ros.core.capture.DEPTH_SCALE_TO_M`).
    """

    depth_min_m: float = DEPTH_MIN_M
    depth_max_m: float = DEPTH_MAX_M

    def __post_init__(self) -> None:
        low, high = self.depth_min_m, self.depth_max_m
        if not (math.isfinite(low) and math.isfinite(high) and 0.0 < low < high):
            raise PerceptionError(f"need 0 < depth_min_m < depth_max_m, both finite metres; "
                                  f"got {low} and {high}")


@dataclass(frozen=True)
class SensorInputs:
    """One synchronised set of what the robot's sensors gave for a frame.

    Only ``rgb`` is always there. ``camera`` is None when no CameraInfo exists (an
    image dataset); ``depth_m`` when there is no depth sensor; ``instance_ids`` and
    ``id_to_label`` come from simulators only. ``settings``: what the inputs were built
    with (:func:`~.inputs.sensor_inputs`); the chain takes the valid depth range from it.
    """

    rgb: np.ndarray
    camera: CameraIntrinsics | None = None
    depth_m: np.ndarray | None = None
    instance_ids: np.ndarray | None = None
    id_to_label: Mapping[int, str] | None = None
    settings: InputSettings = field(default_factory=InputSettings)

    def __post_init__(self) -> None:
        check_rgb(self.rgb)
        size = self.rgb.shape[:2]
        if self.camera is not None and (self.camera.height, self.camera.width) != size:
            raise PerceptionError(f"rgb is {size[1]}x{size[0]} but the camera (CameraInfo) says "
                                  f"{self.camera.width}x{self.camera.height}")
        if self.instance_ids is not None and self.instance_ids.ndim != 2:
            raise PerceptionError(
                f"the instance image has {self.instance_ids.shape[-1]} channels: it must be a "
                "single-channel id image (16UC1, 32SC1 or mono16; 0 = no object), not a "
                "colour image such as rgb8")
        for name in ("depth_m", "instance_ids"):
            image = getattr(self, name)
            if image is not None and image.shape != size:
                raise PerceptionError(f"{name} has shape {image.shape}, expected {size} to "
                                      "match the rgb image (register it to colour)")
        if self.depth_m is not None and self.depth_m.dtype != np.float32:
            raise PerceptionError(f"depth_m must be float32 metres, got {self.depth_m.dtype}")

    @property
    def size_hw(self) -> tuple[int, int]:
        return self.rgb.shape[0], self.rgb.shape[1]


@dataclass(frozen=True)
class DepthResult:
    """Metric depth aligned to the rgb image, where it came from, and what was done.

    ``intrinsics`` is the model's own estimate of the camera (Depth Pro's field of
    view) or None; ``scale`` is the factor applied to the model's depth by scale
    alignment (1.0 when none was applied), reported, never hidden.
    """

    depth_m: np.ndarray
    source: str
    model_id: str = ""
    intrinsics: CameraIntrinsics | None = None
    scale: float = 1.0
    shift_m: float = 0.0

    def __post_init__(self) -> None:
        if self.depth_m.ndim != 2 or self.depth_m.dtype != np.float32:
            raise PerceptionError(f"depth_m must be (H, W) float32 metres, got "
                                  f"{self.depth_m.shape} {self.depth_m.dtype}")
        if self.source not in DEPTH_SOURCES:
            raise PerceptionError(f"depth source must be one of {DEPTH_SOURCES}, got "
                                  f"{self.source!r}")


@dataclass(frozen=True)
class Detections:
    """Boxes found for text prompts. ``unknown_prompts``: prompts the detector cannot
    look for (a closed-set model without that class), reported rather than dropped.

    ``masks``: (N, H, W) bool instance masks when the detector segments what it finds
    (a family that returns masks from text, such as SAM 3, declares it on its class
    with ``masks_from_text = True``); the chain then uses them and never calls its
    segmenter. None (every box-only detector): the segmenter makes one per box."""

    xyxy: np.ndarray
    labels: tuple[str, ...]
    scores: np.ndarray
    unknown_prompts: tuple[str, ...] = field(default=())
    #: (N,) int64 ids that name the thing beyond this frame (a simulator's instance
    #: ids, a tracker's), or None.
    source_ids: np.ndarray | None = None
    masks: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.xyxy.shape != (n, 4) or self.scores.shape != (n,):
            raise PerceptionError(f"{n} labels need xyxy of shape ({n}, 4) and scores of shape "
                                  f"({n},), got {self.xyxy.shape} and {self.scores.shape}")
        if self.source_ids is not None and self.source_ids.shape != (n,):
            raise PerceptionError(f"source_ids must have shape ({n},), got "
                                  f"{self.source_ids.shape}")
        if n and not np.isfinite(self.xyxy).all():
            raise PerceptionError("detection boxes must be finite")
        if self.masks is not None:
            masks = np.asarray(self.masks)
            if masks.ndim != 3 or len(masks) != n or masks.dtype != np.bool_:
                raise PerceptionError(f"Detections.masks must be ({n}, H, W) bool, one per "
                                      f"box, got {masks.shape} {masks.dtype}")

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def empty(cls, unknown_prompts: tuple[str, ...] = ()) -> Detections:
        return cls(np.zeros((0, 4), np.float32), (), np.zeros(0, np.float32), unknown_prompts)

    def clipped(self, width: int, height: int) -> Detections:
        """Boxes clipped to the image, empty ones dropped (with their masks and ids).
        Masks of another size than the image are refused: they could not be clipped."""
        if self.masks is not None and self.masks.shape[1:] != (height, width):
            raise PerceptionError(f"detection masks are {self.masks.shape[2]}x"
                                  f"{self.masks.shape[1]}, the image {width}x{height}")
        xyxy = self.xyxy.copy()
        xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, width)
        xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, height)
        keep = (xyxy[:, 2] - xyxy[:, 0] >= 1) & (xyxy[:, 3] - xyxy[:, 1] >= 1)
        return replace(self.selected(np.flatnonzero(keep)), xyxy=xyxy[keep])

    def selected(self, indices: np.ndarray | Sequence[int]) -> Detections:
        """The detections at ``indices`` (in that order), each with its score, label,
        source id and mask: the one way to take a subset, so none of them is lost."""
        index = np.asarray(indices, np.int64).reshape(-1)
        if index.size and not (-len(self) <= index.min() and index.max() < len(self)):
            raise PerceptionError(f"detection indices must be within [0, {len(self)}), got "
                                  f"{index.tolist()}")
        return Detections(
            self.xyxy[index], tuple(self.labels[k] for k in index), self.scores[index],
            self.unknown_prompts,
            None if self.source_ids is None else self.source_ids[index],
            None if self.masks is None else self.masks[index])


def check_masks(masks: np.ndarray, n: int, size_hw: tuple[int, int]) -> np.ndarray:
    """``masks`` as (n, H, W) bool, or PerceptionError naming the expected shape."""
    masks = np.asarray(masks)
    if masks.shape != (n, *size_hw):
        raise PerceptionError(f"a segmenter must return ({n}, {size_hw[0]}, {size_hw[1]}) "
                              f"masks for {n} boxes, got {masks.shape}")
    return masks.astype(bool, copy=False)


@dataclass(frozen=True)
class Provenance:
    """Where a frame's numbers came from: reaches the scene graph, JSON lines and records.

    ``depth_scale`` / ``depth_shift_m``: the alignment applied to model depth (1 / 0
    for sensor depth); ``intrinsics_source``: one of :data:`INTRINSICS_SOURCES`.
    """

    depth_source: str = "sensor"
    depth_model: str = ""
    detector: str = ""
    segmenter: str = ""
    intrinsics_source: str = "camera_info"
    depth_scale: float = 1.0
    depth_shift_m: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {"depth_source": self.depth_source, "depth_model": self.depth_model,
                "detector": self.detector, "segmenter": self.segmenter,
                "intrinsics_source": self.intrinsics_source,
                "depth_scale": round(float(self.depth_scale), 6),
                "depth_shift_m": round(float(self.depth_shift_m), 6)}


@dataclass(frozen=True)
class TrackingFrame:
    """One frame as a :class:`~.protocols.Tracker` sees it.

    ``depth_m``: (H, W) float32 metres, NaN invalid: the chain's depth for this frame
    (a model's or the sensor's), or None when there is none. ``stamp_ns``: the image's
    stamp, so a tracker can tell a frame it has seen from a new one. ``world_from_camera``:
    (4, 4) pose of the camera's optical frame (``p_world = T @ p_cam``) when a pose
    source (odometry, TF) gives one: with it, a tracker can tell the camera's motion
    from an object's own.
    """

    inputs: SensorInputs
    depth_m: np.ndarray | None
    stamp_ns: int
    world_from_camera: np.ndarray | None = None

    def __post_init__(self) -> None:
        size = self.inputs.size_hw
        if self.depth_m is not None and (self.depth_m.shape != size
                                         or self.depth_m.dtype != np.float32):
            raise PerceptionError(f"a tracking frame's depth_m must be {size} float32 metres "
                                  f"like its rgb, got {self.depth_m.shape} "
                                  f"{self.depth_m.dtype}")
        if isinstance(self.stamp_ns, bool) or not isinstance(self.stamp_ns, (int, np.integer)):
            raise PerceptionError(f"stamp_ns must be an integer (nanoseconds), got "
                                  f"{type(self.stamp_ns).__name__}")
        pose = self.world_from_camera
        if pose is not None:
            if np.shape(pose) != (4, 4):
                raise PerceptionError(f"world_from_camera must have shape (4, 4), got "
                                      f"{np.shape(pose)}")
            if not (np.isfinite(pose).all() and np.allclose(pose[3], (0, 0, 0, 1))):
                raise PerceptionError("world_from_camera must be a finite rigid transform "
                                      "with last row (0, 0, 0, 1)")

    @property
    def size_hw(self) -> tuple[int, int]:
        return self.inputs.size_hw


@dataclass(frozen=True)
class TrackedMasks:
    """What a tracker gives for one frame: each of its objects, in the order they were
    given to it (``init`` first, then new ids of ``update``).

    ``ids``: (N,) int64; ``masks``: (N, H, W) bool, all False where lost;
    ``confidence``: (N,) float32 in [0, 1]; ``lost``: (N,) bool, an object the tracker
    no longer finds (left the view, hidden, or its evidence gave out). A lost object
    stays listed until it is dropped, so a caller sees it go rather than guessing.
    """

    ids: np.ndarray
    masks: np.ndarray
    confidence: np.ndarray
    lost: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ids) if np.ndim(self.ids) == 1 else -1
        expected = {"ids": ((n,), np.int64), "confidence": ((n,), np.float32),
                    "lost": ((n,), np.bool_)}
        for name, (shape, dtype) in expected.items():
            value = getattr(self, name)
            if np.shape(value) != shape or np.asarray(value).dtype != dtype:
                raise PerceptionError(f"TrackedMasks.{name} must be {shape} "
                                      f"{np.dtype(dtype).name}, got {np.shape(value)} "
                                      f"{np.asarray(value).dtype}")
        masks = np.asarray(self.masks)
        if masks.ndim != 3 or len(masks) != n or masks.dtype != np.bool_:
            raise PerceptionError(f"TrackedMasks.masks must be ({n}, H, W) bool, got "
                                  f"{masks.shape} {masks.dtype}")
        if n and not ((self.confidence >= 0) & (self.confidence <= 1)).all():
            raise PerceptionError("TrackedMasks.confidence must be within [0, 1]")
        if masks[self.lost].any():
            raise PerceptionError("a lost object's mask must be empty")

    def __len__(self) -> int:
        return len(self.ids)


__all__ = ["DEPTH_SOURCES", "INTRINSICS_SOURCES", "DepthResult", "Detections", "InputSettings",
           "Provenance", "SensorInputs", "TrackedMasks", "TrackingFrame", "check_masks",
           "check_rgb"]

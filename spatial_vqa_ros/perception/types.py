"""What flows through the perception seams: typed containers with documented shapes.

Shapes (H, W = image height and width, N = detections):

- ``SensorInputs.rgb``: (H, W, 3) uint8 RGB; ``depth_m``: (H, W) float32 metres, NaN
  where invalid; ``instance_ids``: (H, W) integer ids (simulators only)
- ``DepthResult.depth_m``: (H, W) float32 metres aligned to the rgb image
- ``Detections.xyxy``: (N, 4) float32 pixels (x0, y0, x1, y1), exclusive upper bounds;
  ``labels``: N prompts; ``scores``: (N,) float32 in [0, 1]
- masks: (N, H, W) bool, one per detection

Every container checks its shapes when built and says which shape was expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..core.camera import CameraIntrinsics
from ..core.frame import DEPTH_MAX_M, DEPTH_MIN_M
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
    (:data:`~spatial_vqa_ros.core.frame.DEPTH_SCALE_TO_M`).
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
    look for (a closed-set model without that class), reported rather than dropped."""

    xyxy: np.ndarray
    labels: tuple[str, ...]
    scores: np.ndarray
    unknown_prompts: tuple[str, ...] = field(default=())
    #: (N,) int64 ids that name the thing beyond this frame (a simulator's instance
    #: ids, a tracker's), or None.
    source_ids: np.ndarray | None = None

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

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def empty(cls, unknown_prompts: tuple[str, ...] = ()) -> Detections:
        return cls(np.zeros((0, 4), np.float32), (), np.zeros(0, np.float32), unknown_prompts)

    def clipped(self, width: int, height: int) -> Detections:
        """Boxes clipped to the image, empty ones dropped."""
        xyxy = self.xyxy.copy()
        xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, width)
        xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, height)
        keep = (xyxy[:, 2] - xyxy[:, 0] >= 1) & (xyxy[:, 3] - xyxy[:, 1] >= 1)
        ids = None if self.source_ids is None else self.source_ids[keep]
        return Detections(xyxy[keep], tuple(label for label, k in zip(self.labels, keep) if k),
                          self.scores[keep], self.unknown_prompts, ids)


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


__all__ = ["DEPTH_SOURCES", "INTRINSICS_SOURCES", "DepthResult", "Detections", "InputSettings",
           "Provenance", "SensorInputs", "check_masks", "check_rgb"]

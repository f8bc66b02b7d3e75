"""Metric monocular depth AND the camera's focal length from Depth Pro.

Why: a camera without CameraInfo (a phone video, an image dataset, a webcam on a robot
nobody calibrated) still needs intrinsics for the geometry core. Depth Pro predicts a
canonical inverse depth and, with its field-of-view head, the horizontal field of view;
together they give metric depth and fx. When the frame has CameraInfo, its fx is used
instead (a calibration beats an estimate) and the head's estimate is not reported.

The arithmetic is ``DepthProImageProcessor``'s, reproduced without torchvision
(:mod:`.processing`; tested against the reference's outputs):

- pre-processing: rescale and normalise (mean = std = 0.5), then resize to the fixed
  model input (1536 x 1536 for the released weights), bilinear without antialias;
- ``fx = 0.5 W / tan(fov / 2)`` in pixels of the original image;
- ``depth = 1 / clamp(resize(inverse * W / fx), 1e-4, 1e4)`` metres.

The estimated camera goes into :class:`~spatial_vqa_ros.perception.types.DepthResult`
``intrinsics`` (principal point at the image centre, square pixels), so the chain
marks the frame's intrinsics source ``model``. A field of view outside (1, 179) degrees
is refused, never turned into a camera.

torch and transformers are imported when a model is loaded or run, not on import.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ....core.camera import CameraIntrinsics
from ...errors import PerceptionError
from ...types import DepthResult, SensorInputs, check_rgb
from ..common import load_checked_model
from ..processing import (
    STANDARD_MEAN,
    STANDARD_STD,
    ImageProcessing,
    normalize_then_resize,
    processing_loader,
)

__all__ = ["HUB_ID", "DepthProDepth", "inverse_to_metres", "load_processing"]

HUB_ID = "apple/DepthPro-hf"
FAMILY = "depth_pro"
DEFAULT_SIZE_HW = (1536, 1536)
#: Fields of view (degrees) accepted from the head; anything else is not a camera.
FOV_RANGE_DEG = (1.0, 179.0)
#: The snapshot's Depth Pro pre-processing (``DepthProImageProcessor``'s defaults).
load_processing = processing_loader(FAMILY, default_size_hw=DEFAULT_SIZE_HW,
                                    default_mean=STANDARD_MEAN, default_std=STANDARD_STD)


def focal_from_fov(width: int, fov_deg: float) -> float:
    """fx in pixels of an image ``width`` wide seen with horizontal field of view
    ``fov_deg``; PerceptionError outside :data:`FOV_RANGE_DEG`."""
    if not (math.isfinite(fov_deg) and FOV_RANGE_DEG[0] < fov_deg < FOV_RANGE_DEG[1]):
        raise PerceptionError(f"Depth Pro's field-of-view head gave {fov_deg:.3g} degrees, "
                              "which is not a camera: give CameraInfo for this camera")
    return 0.5 * width / math.tan(0.5 * math.radians(fov_deg))


def inverse_to_metres(inverse: Any, target_hw: tuple[int, int], *,
                      fov_deg: float | None = None, focal_px: float | None = None
                      ) -> tuple[np.ndarray, float]:
    """Canonical inverse depth (1, h, w) -> (metres (H, W) float32, fx used). The focal
    length is ``focal_px`` when given, else derived from ``fov_deg``."""
    import torch

    height, width = (int(v) for v in target_hw)
    if focal_px is None:
        if fov_deg is None:
            raise PerceptionError("Depth Pro needs the focal length: give CameraInfo, or use "
                                  "a checkpoint with the field-of-view head (use_fov_model)")
        focal_px = focal_from_fov(width, fov_deg)
    if not (math.isfinite(focal_px) and focal_px > 0):
        raise PerceptionError(f"focal length must be > 0 pixels, got {focal_px}")
    inverse = torch.as_tensor(np.asarray(inverse, np.float32)).reshape(
        1, 1, *np.shape(inverse)[-2:])
    # The reference's operations, in its order and in float32.
    scaled = inverse * width / torch.tensor(focal_px, dtype=torch.float32)
    resized = torch.nn.functional.interpolate(scaled, size=[height, width], mode="bilinear")
    depth_m = 1.0 / torch.clamp(resized, min=1e-4, max=1e4)
    return depth_m.reshape(height, width).numpy().astype(np.float32), float(focal_px)


class DepthProDepth:
    """Depth Pro behind the DepthEstimator seam.

    ``model``: a loaded ``DepthProForDepthEstimation`` in eval mode; ``processing``: its
    snapshot's pre-processing (:func:`load_processing`). Build from a local directory
    with :meth:`from_pretrained`.
    """

    def __init__(self, model: Any, processing: ImageProcessing, *, model_id: str = "",
                 device: str = "cpu") -> None:
        self.model = model.to(device).eval()
        self.processing = processing
        self.device = device
        self.has_fov_head = bool(getattr(model.config, "use_fov_model", False))
        self.model_id = model_id or FAMILY
        self.name = f"{FAMILY}:{self.model_id}"

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu",
                        **options: Any) -> DepthProDepth:
        """Load from a local snapshot (never downloads, no remote code)."""
        directory, processing, model = load_checked_model(
            model_dir, family=FAMILY, label="Depth Pro", hub_id=HUB_ID,
            model_class="DepthProForDepthEstimation", load_processing=load_processing)
        return cls(model, processing, model_id=directory.name, device=device, **options)

    def estimate(self, inputs: SensorInputs) -> DepthResult:
        """Metric depth at the rgb size; with no CameraInfo, the head's camera estimate
        in ``intrinsics``."""
        import torch

        check_rgb(inputs.rgb)
        height, width = inputs.size_hw
        if inputs.camera is None and not self.has_fov_head:
            raise PerceptionError(f"{self.name} has no field-of-view head and the frame has "
                                  "no CameraInfo: give CameraInfo, or use a checkpoint with "
                                  "the head (use_fov_model)")
        pixels = normalize_then_resize(inputs.rgb, self.processing, device=self.device)
        with torch.inference_mode():
            outputs = self.model(pixel_values=pixels.to(self.model.dtype))
        inverse = outputs.predicted_depth.float().cpu().numpy()
        if inputs.camera is not None:
            depth_m, _ = inverse_to_metres(inverse, (height, width), focal_px=inputs.camera.fx)
            intrinsics = None
        else:
            fov_deg = float(outputs.field_of_view.reshape(-1)[0])
            depth_m, focal_px = inverse_to_metres(inverse, (height, width), fov_deg=fov_deg)
            intrinsics = CameraIntrinsics(width, height, focal_px, focal_px,
                                          (width - 1) / 2, (height - 1) / 2)
        depth_m[~(np.isfinite(depth_m) & (depth_m > 0))] = np.nan
        return DepthResult(depth_m, "model", model_id=self.model_id, intrinsics=intrinsics)

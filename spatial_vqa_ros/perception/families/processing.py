"""Image pre-processing for the families whose transformers processors need torchvision.

Why this exists: the SAM2 and Depth Pro image processors in transformers are
torchvision-only (``TorchvisionBackend``), and torchvision is the dependency robots
struggle with most: PyPI's x86 wheels are CUDA builds that do not import beside a CPU
torch (../shared/PERCEPTION.md), and JetPack's torch wheels ship without it. What those
processors do is small and fixed, so it is reproduced here with torch alone, from the
snapshot's own ``preprocessor_config.json``:

- SAM2 (``Sam2ImageProcessor``): resize the uint8 image to ``size`` (bilinear,
  antialiased), then rescale and normalise (``resize_then_normalize``);
- Depth Pro (``DepthProImageProcessor``): rescale and normalise first, then resize the
  float image (bilinear, no antialias) (``normalize_then_resize``).

The resize is torchvision's for tensors: a uint8 image on the CPU is resized natively in
uint8 (torchvision >= 0.16 does exactly this call); anywhere else the image goes
through float32 and is rounded back, as torchvision does. Equivalence with the reference
processors is tested against outputs they produced (``tests/perception/families/
golden/``, made by ``tests/perception/families/make_goldens.py`` where torchvision
imports) and, where torchvision imports, against the processors themselves.

torch is imported when a function runs, not on import.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PerceptionError
from ..models.snapshots import corrupt_snapshot

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "STANDARD_MEAN", "STANDARD_STD", "ImageProcessing",
           "normalize_then_resize", "processing_loader", "read_image_processing",
           "resize_chw", "resize_then_normalize"]

#: PIL's resample codes, as transformers stores them; only bilinear is reproduced here.
BILINEAR = 2
#: transformers' ``IMAGENET_DEFAULT_MEAN`` / ``_STD`` and ``IMAGENET_STANDARD_MEAN`` /
#: ``_STD``: the defaults processor classes fall back to.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
STANDARD_MEAN = (0.5, 0.5, 0.5)
STANDARD_STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class ImageProcessing:
    """What a snapshot's ``preprocessor_config.json`` asks for (the fields used here)."""

    size_hw: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    rescale_factor: float = 1 / 255
    do_rescale: bool = True
    do_normalize: bool = True


def processing_loader(family: str, *, default_size_hw: tuple[int, int],
                      default_mean: Sequence[float], default_std: Sequence[float]
                      ) -> Callable[[Path], ImageProcessing]:
    """A family's ``load_processing(model_dir)``: :func:`read_image_processing` with its
    processor class's defaults. Why: each family states its defaults once, as data, and
    the reading rule is written here only."""

    def load_processing(model_dir: Path) -> ImageProcessing:
        """The snapshot's pre-processing (its ``preprocessor_config.json``), the processor
        class's defaults for what it leaves out."""
        return read_image_processing(model_dir, family, default_size_hw=default_size_hw,
                                     default_mean=default_mean, default_std=default_std)

    return load_processing


def read_image_processing(model_dir: Path, family: str, *, default_size_hw: tuple[int, int],
                          default_mean: Sequence[float], default_std: Sequence[float]
                          ) -> ImageProcessing:
    """The processing a snapshot's ``preprocessor_config.json`` describes, with the
    processor class's defaults for the fields it leaves out. PerceptionError for a
    missing or unreadable file, or a setting this reproduction does not do (another
    resample filter, a size that is not height x width)."""
    path = Path(model_dir) / "preprocessor_config.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise corrupt_snapshot(Path(model_dir), "no preprocessor_config.json",
                               family=family) from None
    except (OSError, ValueError) as error:
        raise corrupt_snapshot(Path(model_dir), f"preprocessor_config.json is unreadable: "
                               f"{error}", family=family) from None
    if not isinstance(raw, dict):
        raise corrupt_snapshot(Path(model_dir), "preprocessor_config.json is not a JSON "
                               "object", family=family)
    resample = raw.get("resample", BILINEAR)
    if resample != BILINEAR:
        raise PerceptionError(f"{path}: resample {resample!r} is not reproduced here (only "
                              f"bilinear, {BILINEAR}, as the released {family} checkpoints "
                              "use)")
    size = raw.get("size") or {"height": default_size_hw[0], "width": default_size_hw[1]}
    if not (isinstance(size, dict) and set(size) >= {"height", "width"}
            and all(isinstance(size[k], int) and size[k] > 0 for k in ("height", "width"))):
        raise PerceptionError(f"{path}: size must be {{'height': int, 'width': int}}, got "
                              f"{size!r}")
    mean = tuple(float(v) for v in raw.get("image_mean") or default_mean)
    std = tuple(float(v) for v in raw.get("image_std") or default_std)
    if len(mean) != 3 or len(std) != 3 or not all(v > 0 for v in std):
        raise PerceptionError(f"{path}: image_mean and image_std need 3 values (std > 0)")
    return ImageProcessing(
        size_hw=(size["height"], size["width"]), mean=mean, std=std,
        rescale_factor=float(raw.get("rescale_factor", 1 / 255)),
        do_rescale=bool(raw.get("do_rescale", True)),
        do_normalize=bool(raw.get("do_normalize", True)))


def resize_chw(image: Any, size_hw: tuple[int, int], *, antialias: bool) -> Any:
    """(B, C, H, W) -> (B, C, h, w), bilinear, half-pixel centres: torchvision's tensor
    resize. uint8 stays uint8 (native on the CPU; elsewhere via float32, rounded)."""
    import torch

    size = [int(v) for v in size_hw]
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    if image.dtype == torch.uint8 and image.device.type != "cpu":
        resized = torch.nn.functional.interpolate(image.float(), size=size, mode="bilinear",
                                                  align_corners=False, antialias=antialias)
        return resized.round_().clamp_(0, 255).to(torch.uint8)
    return torch.nn.functional.interpolate(image, size=size, mode="bilinear",
                                           align_corners=False, antialias=antialias)


def _to_tensor(rgb: np.ndarray, device: str) -> Any:
    import torch

    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise PerceptionError(f"rgb must be (H, W, 3) uint8, got {rgb.dtype} {rgb.shape}")
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].to(device)


def _normalize(image: Any, processing: ImageProcessing) -> Any:
    """Rescale then normalise in float32, fused as the fast processors fuse them
    (mean and std divided by the rescale factor)."""
    import torch

    image = image.to(torch.float32)
    if processing.do_normalize:
        scale = 1.0 / processing.rescale_factor if processing.do_rescale else 1.0
        mean = torch.tensor(processing.mean, device=image.device) * scale
        std = torch.tensor(processing.std, device=image.device) * scale
        return (image - mean[:, None, None]) / std[:, None, None]
    if processing.do_rescale:
        return image * processing.rescale_factor
    return image


def resize_then_normalize(rgb: np.ndarray, processing: ImageProcessing, *,
                          device: str = "cpu") -> Any:
    """SAM2's order: (H, W, 3) uint8 -> (1, 3, h, w) float32 pixel values."""
    image = resize_chw(_to_tensor(rgb, device), processing.size_hw, antialias=True)
    return _normalize(image, processing)


def normalize_then_resize(rgb: np.ndarray, processing: ImageProcessing, *,
                          device: str = "cpu") -> Any:
    """Depth Pro's order: (H, W, 3) uint8 -> (1, 3, h, w) float32 pixel values (the
    normalised image is resized without antialias, as its processor does)."""
    image = _normalize(_to_tensor(rgb, device), processing)
    return resize_chw(image, processing.size_hw, antialias=False)

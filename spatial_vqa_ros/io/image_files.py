"""Single frames from files: an image, a depth image, and camera intrinsics.

What a user has when they try the package on a photo: a JPEG or PNG, perhaps a depth
file (``.npy`` of metres, or a 16-bit PNG of millimetres as RGB-D cameras save them),
and perhaps a ROS ``camera_info`` YAML (``camera_calibration``'s output). Every reader
says what was wrong with a file rather than passing on a library's message.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from PIL import Image, UnidentifiedImageError

from ..core.camera import CameraIntrinsics
from ..core.errors import CoreError
from .errors import DataIOError


def load_rgb(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file (grey and RGBA are converted)."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), np.uint8).copy()
    except FileNotFoundError:
        raise DataIOError(f"image {path} does not exist") from None
    except (UnidentifiedImageError, OSError) as error:
        raise DataIOError(f"image {path} cannot be read ({error}); expected a JPEG or "
                          "PNG") from None


def load_depth(path: str | Path, size_hw: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W) float32 metres, NaN where invalid (0, NaN, inf), from ``.npy`` (metres) or a
    16-bit PNG (millimetres). ``size_hw``: the rgb image's size, which depth must match."""
    path = Path(path)
    if not path.exists():
        raise DataIOError(f"depth file {path} does not exist")
    if path.suffix == ".npy":
        try:
            depth = np.load(path, allow_pickle=False).astype(np.float32)
        except (ValueError, OSError) as error:
            raise DataIOError(f"depth {path} is not a numpy array file: {error}") from None
    elif path.suffix.lower() == ".png":
        with Image.open(path) as image:
            if image.mode not in ("I;16", "I;16B", "I"):
                raise DataIOError(f"depth PNG {path} has mode {image.mode}; expected 16-bit "
                                  "millimetres (mode I;16), as RGB-D cameras save depth")
            depth = np.asarray(image, np.float32) * np.float32(1e-3)
    else:
        raise DataIOError(f"depth {path}: expected .npy (metres) or a 16-bit .png "
                          "(millimetres)")
    if depth.ndim != 2:
        raise DataIOError(f"depth {path} has shape {depth.shape}; expected (H, W)")
    if size_hw is not None and depth.shape != size_hw:
        raise DataIOError(f"depth {path} is {depth.shape[1]}x{depth.shape[0]} but the image "
                          f"is {size_hw[1]}x{size_hw[0]}: register depth to the colour image")
    with np.errstate(invalid="ignore"):
        depth[~(np.isfinite(depth) & (depth > 0))] = np.nan
    return depth


def load_camera_info_yaml(path: str | Path) -> CameraIntrinsics:
    """Intrinsics from a ROS ``camera_info`` YAML (camera_calibration / camera_info_manager
    layout: image_width, image_height, camera_matrix.data, distortion_model,
    distortion_coefficients.data)."""
    path = Path(path)
    try:
        info = yaml.safe_load(path.read_text(encoding="utf-8"))
        k = info["camera_matrix"]["data"]
        d = info.get("distortion_coefficients", {}).get("data", [])
        return CameraIntrinsics.from_camera_info(
            k, d, int(info["image_width"]), int(info["image_height"]),
            distortion_model=info.get("distortion_model", "plumb_bob"),
            frame_id=info.get("camera_name", "camera") + "_optical_frame")
    except FileNotFoundError:
        raise DataIOError(f"camera info {path} does not exist") from None
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as error:
        if isinstance(error, CoreError):
            raise DataIOError(f"camera info {path}: {error}") from None
        raise DataIOError(f"camera info {path} is not a ROS camera_info YAML "
                          f"(image_width, image_height, camera_matrix.data): {error}") from None


__all__ = ["load_camera_info_yaml", "load_depth", "load_rgb"]

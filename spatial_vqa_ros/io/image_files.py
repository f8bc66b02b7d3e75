"""Single frames from files: an image, a depth image, and camera intrinsics.

What a user has when they try the package on a photo: a JPEG or PNG, perhaps a depth
file (``.npy`` of metres, or a 16-bit PNG of millimetres as RGB-D cameras save them),
and perhaps a ROS ``camera_info`` YAML (``camera_calibration``'s output). Every reader
says what was wrong with a file rather than passing on a library's message.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import yaml
from PIL import Image, UnidentifiedImageError

from ..core.camera import CameraIntrinsics
from ..core.capture import depth_in_metres
from ..core.errors import CoreError
from .errors import DataIOError
from .images import to_rgb
from .labels import parse_labels_json

_T = TypeVar("_T")
#: What PIL raises on a damaged file, when it opens it or when it decodes it
#: (a broken PNG chunk is a SyntaxError, a truncated stream an OSError).
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
                  TypeError, Image.DecompressionBombError)
#: PIL modes of 16-bit grey (PNG stores 16-bit grey as I;16).
_GREY16 = ("I;16", "I;16B", "I;16L", "I;16N")


def check_pixel_count(size_wh: tuple[int, int], what: str, max_pixels: int | None) -> None:
    """DataIOError when an image of ``size_wh`` has more than ``max_pixels`` pixels
    (None: no limit). Called on the size in the file's header, before any pixel is
    decoded: PIL only warns below 179 MP, so a 200-byte PNG declaring 10000 x 9000
    would otherwise take 700 MB to decode."""
    width, height = size_wh
    if max_pixels is not None and width * height > max_pixels:
        raise DataIOError(f"{what} is {width}x{height} = {width * height} pixels, over the "
                          f"limit of {max_pixels} (--max-pixels); refused before decoding: "
                          "downscale it, or raise --max-pixels")


def decode_image(source: str | Path | IO[bytes], what: str, max_pixels: int | None,
                 convert: Callable[[Image.Image], _T]) -> _T:
    """``convert(image)`` of the image file ``source`` (a path or a binary file), its
    header's size checked against ``max_pixels`` first. Every failure of PIL, on
    opening or on decoding inside ``convert``, becomes one DataIOError naming ``what``;
    a DataIOError of ``convert`` passes as it is."""
    try:
        with warnings.catch_warnings():  # our own limit decides, not PIL's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source)
    except FileNotFoundError:
        raise DataIOError(f"{what} does not exist") from None
    except Image.DecompressionBombError as error:
        raise DataIOError(f"{what} is refused before decoding ({error})") from None
    except _DECODE_ERRORS as error:
        raise DataIOError(f"{what} cannot be read ({type(error).__name__}: {error}); "
                          "expected a JPEG or PNG") from None
    with image:
        check_pixel_count(image.size, what, max_pixels)
        try:
            return convert(image)
        except DataIOError:
            raise
        except _DECODE_ERRORS as error:
            raise DataIOError(f"{what} is damaged ({type(error).__name__}: {error})") from None


def rgb_of_image(image: Image.Image, what: str = "image") -> np.ndarray:
    """(H, W, 3) uint8 RGB of a PIL image: colour and palette images converted, grey
    replicated, 16-bit grey scaled to 8 bit over its full range (PIL's own conversion
    clips it: a 16-bit grey photo would turn almost all white). Other high-bit-depth
    modes (32-bit integer, float) are refused: their range is unknown."""
    if image.mode in _GREY16 or image.mode == "I":
        grey = np.asarray(image)
        if image.mode == "I" and grey.size and (grey.min() < 0 or grey.max() > 65535):
            raise DataIOError(f"{what} is 32-bit integer grey with values "
                              f"{grey.min()}..{grey.max()}; expected an 8- or 16-bit image")
        return to_rgb(np.ascontiguousarray(grey, np.uint16), "mono16")
    if image.mode == "F":
        raise DataIOError(f"{what} is floating-point grey (mode F), not a photo; "
                          "expected an 8- or 16-bit image")
    return np.asarray(image.convert("RGB"), np.uint8).copy()


def rgb_of_array(array: Any, what: str = "image") -> np.ndarray:
    """(H, W, 3) uint8 RGB of an array: (H, W) grey or (H, W, 3|4) colour; uint16
    scaled to 8 bit over its full range, other integers taken as 8-bit values when
    they fit 0..255. Anything else is refused rather than cast (a cast wraps)."""
    array = np.asarray(array)
    channels = 1 if array.ndim == 2 else (array.shape[2] if array.ndim == 3 else 0)
    if channels not in (1, 3, 4) or 0 in array.shape[:2]:
        raise DataIOError(f"{what} has shape {array.shape}; expected (H, W), (H, W, 3) or "
                          "(H, W, 4)")
    if array.dtype == np.uint16:
        grey16 = array if channels == 1 else array[..., :3]
        array = ((grey16.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif array.dtype.kind in "iu" and array.dtype != np.uint8:
        if array.size and (array.min() < 0 or array.max() > 255):
            raise DataIOError(f"{what} is {array.dtype} with values {array.min()}.."
                              f"{array.max()}; expected 8-bit (0..255) or uint16 pixels")
        array = array.astype(np.uint8)
    elif array.dtype != np.uint8:
        raise DataIOError(f"{what} has dtype {array.dtype}; expected uint8 or uint16 pixels")
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2)
    return np.ascontiguousarray(array[..., :3])


def load_rgb(path: str | Path, max_pixels: int | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file (see :func:`rgb_of_image`); refused above
    ``max_pixels`` before decoding (None: no limit)."""
    path = Path(path)
    return decode_image(path, f"image {path}", max_pixels,
                        lambda image: rgb_of_image(image, f"image {path}"))


def load_depth(path: str | Path, size_hw: tuple[int, int] | None = None,
               max_pixels: int | None = None) -> np.ndarray:
    """(H, W) float32 metres, NaN where invalid (0, NaN, inf), from ``.npy`` (metres) or a
    16-bit PNG (millimetres). ``size_hw``: the rgb image's size, which depth must match;
    a PNG over ``max_pixels`` is refused before decoding."""
    path = Path(path)
    if not path.exists():
        raise DataIOError(f"depth file {path} does not exist")
    if path.suffix == ".npy":
        depth = _load_npy_depth(path, max_pixels)
    elif path.suffix.lower() == ".png":
        depth = decode_image(path, f"depth PNG {path}", max_pixels, _millimetres)
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


def _load_npy_depth(path: Path, max_pixels: int | None) -> np.ndarray:
    """A ``.npy`` of plain numbers as float32, its shape checked before it is read (a
    memory map reads only the header); a structured or object array is refused: it
    holds no depth values to cast."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataIOError(f"depth {path} is not a numpy array file: {error}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "iuf":
        kind = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        raise DataIOError(f"depth {path} holds {kind} values; expected a plain array of "
                          "metres (float or integer)")
    if array.ndim == 2:
        check_pixel_count((array.shape[1], array.shape[0]), f"depth {path}", max_pixels)
    return np.array(array, dtype=np.float32)


def _millimetres(image: Image.Image) -> np.ndarray:
    if image.mode not in ("I;16", "I;16B", "I"):
        raise DataIOError(f"depth PNG {image.filename} has mode {image.mode}; expected "
                          "16-bit millimetres (mode I;16), as RGB-D cameras save depth")
    return depth_in_metres(np.asarray(image), "16UC1")  # the node's rounding, exactly


def load_instances(image_path: str | Path, labels_path: str | Path,
                   size_hw: tuple[int, int] | None = None, max_pixels: int | None = None
                   ) -> tuple[np.ndarray, dict[int, str]]:
    """(H, W) int32 instance ids (0 = none) of an instance PNG and the id -> label map
    of its JSON (see :func:`~.labels.parse_labels_json`); the ids must be ``size_hw``."""
    image_path, labels_path = Path(image_path), Path(labels_path)
    what = f"instance image {image_path}"
    ids = decode_image(image_path, what, max_pixels, _instance_ids)
    if size_hw is not None and ids.shape != tuple(size_hw):
        raise DataIOError(f"{what} is {ids.shape[1]}x{ids.shape[0]}, the image "
                          f"{size_hw[1]}x{size_hw[0]}")
    try:
        text = labels_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataIOError(f"labels {labels_path} cannot be read: {error}") from None
    try:
        return ids, parse_labels_json(text)
    except DataIOError as error:
        raise DataIOError(f"labels {labels_path}: {error}") from None


def _instance_ids(image: Image.Image) -> np.ndarray:
    if image.mode not in ("L", "P", "I", *_GREY16):
        raise DataIOError(f"instance image {image.filename} has mode {image.mode}; "
                          "expected one channel of ids (8- or 16-bit grey)")
    return np.asarray(image).astype(np.int32)


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


__all__ = ["check_pixel_count", "decode_image", "load_camera_info_yaml", "load_depth",
           "load_instances", "load_rgb", "rgb_of_array", "rgb_of_image"]

"""sensor_msgs/Image and CameraInfo fields <-> numpy and CameraIntrinsics, without ROS.

Works on anything with the message's attributes: rclpy messages (``data`` is an
``array.array('B')``), rosbags-deserialised messages (``data`` is a numpy view into
the serialised buffer), or plain objects. :func:`image_to_numpy` returns a view into
``data`` (no copy) unless the byte order must be swapped; row padding (``step`` larger
than a row of pixels) is skipped with strides, not copied.

Shapes (H, W = ``height``, ``width``):

- 3- and 4-channel encodings (rgb8, bgr8, rgba8, bgra8): (H, W, C) uint8
- single-channel encodings: (H, W) of the encoding's dtype (see :data:`SUPPORTED_ENCODINGS`)
"""

from __future__ import annotations

import array
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal, NamedTuple

import numpy as np

from ..core.camera import CameraIntrinsics
from ..core.errors import CoreError
from .errors import DataIOError


class _Layout(NamedTuple):
    dtype: str
    channels: int


#: Encoding name (sensor_msgs/image_encodings.hpp) -> pixel layout.
_LAYOUTS: dict[str, _Layout] = {
    "rgb8": _Layout("u1", 3),
    "bgr8": _Layout("u1", 3),
    "rgba8": _Layout("u1", 4),
    "bgra8": _Layout("u1", 4),
    "mono8": _Layout("u1", 1),
    "8UC1": _Layout("u1", 1),
    "mono16": _Layout("u2", 1),
    "16UC1": _Layout("u2", 1),
    "16SC1": _Layout("i2", 1),
    "32SC1": _Layout("i4", 1),
    "32FC1": _Layout("f4", 1),
    "64FC1": _Layout("f8", 1),
}

#: Image encodings :func:`image_to_numpy` and :func:`numpy_to_image_fields` support.
SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(_LAYOUTS)

_NATIVE_BIGENDIAN = int(sys.byteorder == "big")



def _grey16_to_8(grey: np.ndarray) -> np.ndarray:
    """16-bit grey scaled to 8 bit over the full range (0 -> 0, 65535 -> 255, rounded):
    a cast would wrap and clipping would turn almost every pixel white."""
    return ((grey.astype(np.uint32) + 128) // 257).astype(np.uint8)


#: Encoding -> function returning an (H, W, 3) RGB array (a new, contiguous array).
_TO_RGB: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "bgr8": lambda a: np.ascontiguousarray(a[..., ::-1]),
    "rgba8": lambda a: np.ascontiguousarray(a[..., :3]),
    "bgra8": lambda a: np.ascontiguousarray(a[..., 2::-1]),
    "mono8": lambda a: np.repeat(a[..., None], 3, axis=2),
    "8UC1": lambda a: np.repeat(a[..., None], 3, axis=2),
    "mono16": lambda a: np.repeat(_grey16_to_8(a)[..., None], 3, axis=2),
    "16UC1": lambda a: np.repeat(_grey16_to_8(a)[..., None], 3, axis=2),
}

ImageData = Literal["numpy", "array", "bytes"]


def _layout(encoding: str) -> _Layout:
    layout = _LAYOUTS.get(encoding)
    if layout is None:
        raise DataIOError(
            f"unsupported image encoding {encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}")
    return layout


@lru_cache(maxsize=64)
def _pixel_dtype(encoding: str, is_bigendian: bool) -> np.dtype:
    """The dtype of one channel with the message's byte order made explicit."""
    dtype: np.dtype = np.dtype(_layout(encoding).dtype).newbyteorder(">" if is_bigendian else "<")
    return dtype


def _byte_view(data: Any) -> np.ndarray:
    """``data`` as a flat uint8 array, sharing memory with it whenever it is a buffer."""
    try:
        return np.frombuffer(memoryview(data), dtype=np.uint8)
    except (TypeError, ValueError, BufferError):  # a list, or a non-contiguous array
        try:
            return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        except (TypeError, ValueError) as exc:
            raise DataIOError(f"image data is not a byte buffer: {exc}") from None


def _image_fields(msg: Any) -> tuple[int, int, str, bool, int, Any]:
    try:
        return (int(msg.height), int(msg.width), str(msg.encoding), bool(msg.is_bigendian),
                int(msg.step), msg.data)
    except AttributeError as exc:
        raise DataIOError(f"not a sensor_msgs/Image: {exc}") from None


def image_to_numpy(msg: Any) -> np.ndarray:
    """View a sensor_msgs/Image's pixels as an array, (H, W) or (H, W, C).

    No copy is made unless ``is_bigendian`` differs from this machine's byte order;
    the result is read-only when ``data`` is (e.g. bytes). bgr8 stays in BGR order:
    use :func:`to_rgb` for RGB.

    Raises:
        DataIOError: unknown encoding, empty image, ``step`` shorter than a row, or
            ``data`` shorter than ``step * height``.
    """
    height, width, encoding, is_bigendian, step, data = _image_fields(msg)
    channels = _layout(encoding).channels
    dtype = _pixel_dtype(encoding, is_bigendian)
    if height <= 0 or width <= 0:
        raise DataIOError(f"image is empty: {width}x{height} pixels ({encoding})")
    pixel_bytes = channels * dtype.itemsize
    if step < width * pixel_bytes:
        raise DataIOError(
            f"image step {step} bytes is shorter than a row of {width} {encoding} pixels "
            f"({width * pixel_bytes} bytes)")
    buffer = _byte_view(data)
    if buffer.size < step * height:
        raise DataIOError(
            f"image data has {buffer.size} bytes, fewer than step * height = {step} * {height} "
            f"= {step * height} ({width}x{height} {encoding}); the message is truncated")
    shape: tuple[int, ...] = (height, width)
    strides: tuple[int, ...] = (step, pixel_bytes)
    if channels > 1:
        shape += (channels,)
        strides += (dtype.itemsize,)
    pixels: np.ndarray = np.ndarray(shape, dtype=dtype, buffer=buffer, strides=strides)
    if not dtype.isnative:  # the one case that copies
        pixels = pixels.astype(dtype.newbyteorder("="))
    return pixels


def to_rgb(image: np.ndarray, encoding: str) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array from an image array in ``encoding``.

    rgb8 is returned as is (no copy); bgr8, rgba8, bgra8, mono8 / 8UC1 and mono16 /
    16UC1 give a new contiguous array (alpha dropped, grey replicated, 16-bit grey
    scaled to 8 bit over its full range).
    """
    if encoding != "rgb8" and encoding not in _TO_RGB:
        raise DataIOError(
            f"cannot convert encoding {encoding!r} to RGB; convertible: rgb8, "
            f"{', '.join(_TO_RGB)}")
    layout = _LAYOUTS[encoding]
    expected_channels = layout.channels
    expected_shape = "(H, W)" if expected_channels == 1 else f"(H, W, {expected_channels})"
    expected_dtype = np.dtype(layout.dtype)
    ndim_ok = image.ndim == 2 if expected_channels == 1 else (
        image.ndim == 3 and image.shape[2] == expected_channels)
    if not ndim_ok or image.dtype.newbyteorder("=") != expected_dtype:
        raise DataIOError(
            f"a {encoding} image must be {expected_shape} {expected_dtype.name}, got "
            f"{image.shape} {image.dtype}")
    if encoding == "rgb8":
        return image
    return _TO_RGB[encoding](image)


def numpy_to_image_fields(
    image: np.ndarray, encoding: str, *, data_as: ImageData = "numpy"
) -> dict[str, Any]:
    """sensor_msgs/Image fields for an array: height, width, encoding, is_bigendian,
    step, data.

    ``image`` is (H, W) or (H, W, C) with the encoding's dtype (e.g. float32 for 32FC1);
    it is not converted, so a wrong dtype is an error rather than a silent cast.
    ``data`` is, by ``data_as``: ``"numpy"`` a flat uint8 view (no copy for a
    C-contiguous array; what rosbags serialises), ``"array"`` an ``array.array('B')``
    (what an rclpy message stores without a per-element check) or ``"bytes"``.
    """
    layout = _layout(encoding)
    dtype = np.dtype(layout.dtype)
    image = np.asarray(image)
    if layout.channels == 1 and image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    expected_ndim = 2 if layout.channels == 1 else 3
    if image.ndim != expected_ndim or (expected_ndim == 3 and image.shape[2] != layout.channels):
        shape = "(H, W)" if expected_ndim == 2 else f"(H, W, {layout.channels})"
        raise DataIOError(f"a {encoding} image must have shape {shape}, got {image.shape}")
    if image.dtype.newbyteorder("=") != dtype.newbyteorder("="):
        raise DataIOError(
            f"a {encoding} image must have dtype {dtype.name}, got {image.dtype.name}; "
            f"convert it first (e.g. image.astype(np.{dtype.name}))")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise DataIOError(f"image is empty: shape {image.shape}")
    image = np.ascontiguousarray(image, dtype=dtype.newbyteorder("="))
    flat = image.reshape(-1).view(np.uint8)
    data: Any = flat
    if data_as == "array":
        data = array.array("B")
        data.frombytes(flat.data)
    elif data_as == "bytes":
        data = flat.tobytes()
    elif data_as != "numpy":
        raise DataIOError(f"data_as must be 'numpy', 'array' or 'bytes', got {data_as!r}")
    height, width = image.shape[:2]
    return {
        "height": int(height),
        "width": int(width),
        "encoding": encoding,
        "is_bigendian": _NATIVE_BIGENDIAN,
        "step": int(width * layout.channels * dtype.itemsize),
        "data": data,
    }


def camera_info_to_intrinsics(msg: Any) -> CameraIntrinsics:
    """CameraIntrinsics from a sensor_msgs/CameraInfo (fields k, d, width, height,
    distortion_model, header.frame_id; an empty frame_id gets CameraIntrinsics' default).

    Raises:
        DataIOError: K is all zeros (uncalibrated camera), or the fields are invalid.
    """
    try:
        frame_id = str(msg.header.frame_id)
        k = np.asarray(msg.k, dtype=np.float64).ravel()
        d = np.asarray(msg.d, dtype=np.float64).ravel()
        width, height, model = int(msg.width), int(msg.height), str(msg.distortion_model)
    except (AttributeError, TypeError, ValueError) as exc:
        raise DataIOError(f"not a sensor_msgs/CameraInfo: {exc}") from None
    if k.size == 9 and not k.any():
        raise DataIOError(
            f"CameraInfo of frame {frame_id!r} has an all-zero K: the camera is uncalibrated; "
            "calibrate it (camera_calibration) or publish its factory intrinsics")
    try:
        return CameraIntrinsics.from_camera_info(
            k.tolist(), d.tolist(), width, height, distortion_model=model,
            frame_id=frame_id or "camera_color_optical_frame")
    except CoreError as exc:
        raise DataIOError(f"CameraInfo of frame {frame_id!r}: {exc}") from None

"""sensor_msgs/Image and CameraInfo fields <-> numpy, for plain objects and rclpy messages."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.io import (
    SUPPORTED_ENCODINGS,
    DataIOError,
    camera_info_to_intrinsics,
    image_to_numpy,
    numpy_to_image_fields,
    to_rgb,
)

_DTYPES = {"rgb8": np.uint8, "bgr8": np.uint8, "rgba8": np.uint8, "bgra8": np.uint8,
           "mono8": np.uint8, "8UC1": np.uint8, "mono16": np.uint16, "16UC1": np.uint16,
           "16SC1": np.int16, "32SC1": np.int32, "32FC1": np.float32, "64FC1": np.float64}
_CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4}


def _random_image(encoding: str, height: int = 5, width: int = 7) -> np.ndarray:
    rng = np.random.default_rng(0)
    dtype = np.dtype(_DTYPES[encoding])
    shape = (height, width, _CHANNELS[encoding]) if encoding in _CHANNELS else (height, width)
    if dtype.kind == "f":
        image = rng.normal(size=shape).astype(dtype)
        image.flat[0] = np.nan
        return image
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def _message(**fields: object) -> SimpleNamespace:
    return SimpleNamespace(**fields)


def test_table_covers_every_supported_encoding() -> None:
    assert set(SUPPORTED_ENCODINGS) == set(_DTYPES)


@pytest.mark.parametrize("encoding", SUPPORTED_ENCODINGS)
@pytest.mark.parametrize("data_as", ["numpy", "bytes", "array"])
def test_round_trip_is_exact_and_shares_memory(encoding: str, data_as: str) -> None:
    image = _random_image(encoding)
    fields = numpy_to_image_fields(image, encoding, data_as=data_as)  # type: ignore[arg-type]
    assert fields["step"] * fields["height"] == image.nbytes
    decoded = image_to_numpy(_message(**fields))
    assert decoded.shape == image.shape and decoded.dtype == image.dtype
    np.testing.assert_array_equal(decoded, image)
    assert np.shares_memory(decoded, np.frombuffer(fields["data"], np.uint8))


def test_fields_of_a_contiguous_array_are_a_view() -> None:
    image = _random_image("32FC1")
    assert np.shares_memory(numpy_to_image_fields(image, "32FC1")["data"], image)


def test_padded_rows_are_skipped_without_a_copy() -> None:
    image = _random_image("rgb8", height=4, width=5)
    step = 5 * 3 + 5
    buffer = np.full((4, step), 255, np.uint8)
    buffer[:, :15] = image.reshape(4, 15)
    msg = _message(height=4, width=5, encoding="rgb8", is_bigendian=0, step=step,
                   data=buffer.tobytes())
    decoded = image_to_numpy(msg)
    np.testing.assert_array_equal(decoded, image)
    assert np.shares_memory(decoded, np.frombuffer(msg.data, np.uint8))


def test_odd_padding_of_16_bit_rows_is_a_view() -> None:
    image = _random_image("16UC1", height=3, width=3)
    step = 7  # one pad byte: rows start at unaligned addresses
    buffer = np.zeros((3, step), np.uint8)
    buffer[:, :6] = image.view(np.uint8).reshape(3, 6)
    data = bytearray(buffer.tobytes())
    decoded = image_to_numpy(_message(height=3, width=3, encoding="16UC1",
                                      is_bigendian=int(sys.byteorder == "big"), step=step,
                                      data=data))
    np.testing.assert_array_equal(decoded, image)
    assert np.shares_memory(decoded, np.frombuffer(data, np.uint8))


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1", "32SC1"])
def test_big_endian_data_is_swapped_to_native(encoding: str) -> None:
    image = _random_image(encoding)
    raw = image.astype(image.dtype.newbyteorder(">")).tobytes()
    decoded = image_to_numpy(_message(height=5, width=7, encoding=encoding, is_bigendian=1,
                                      step=7 * image.itemsize, data=raw))
    assert decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, image)


def test_rclpy_image_round_trip_shares_memory() -> None:
    msg_module = pytest.importorskip("sensor_msgs.msg")
    for encoding in ("rgb8", "16UC1", "32FC1"):
        image = _random_image(encoding)
        msg = msg_module.Image(**numpy_to_image_fields(image, encoding, data_as="array"))
        msg.header.frame_id = "camera"
        decoded = image_to_numpy(msg)
        np.testing.assert_array_equal(decoded, image)
        assert np.shares_memory(decoded, np.frombuffer(msg.data, np.uint8))


def test_rclpy_image_set_from_bytes_is_read() -> None:
    msg_module = pytest.importorskip("sensor_msgs.msg")
    image = _random_image("mono8")
    msg = msg_module.Image(height=5, width=7, encoding="mono8", step=7)
    msg.data = image.tobytes()
    np.testing.assert_array_equal(image_to_numpy(msg), image)


def test_unknown_encoding_lists_the_supported_ones() -> None:
    msg = _message(height=2, width=2, encoding="yuv422", is_bigendian=0, step=4, data=bytes(8))
    with pytest.raises(DataIOError, match=r"unsupported image encoding 'yuv422'.*rgb8.*32FC1"):
        image_to_numpy(msg)


def test_data_shorter_than_step_times_height_is_an_error() -> None:
    msg = _message(height=4, width=2, encoding="mono8", is_bigendian=0, step=2, data=bytes(7))
    with pytest.raises(DataIOError, match=r"7 bytes, fewer than step \* height = 2 \* 4 = 8"):
        image_to_numpy(msg)


def test_step_shorter_than_a_row_is_an_error() -> None:
    msg = _message(height=2, width=4, encoding="16UC1", is_bigendian=0, step=6, data=bytes(16))
    with pytest.raises(DataIOError, match=r"step 6 bytes is shorter than a row .* \(8 bytes\)"):
        image_to_numpy(msg)


@pytest.mark.parametrize(("height", "width"), [(0, 4), (4, 0)])
def test_zero_size_image_is_an_error(height: int, width: int) -> None:
    msg = _message(height=height, width=width, encoding="mono8", is_bigendian=0, step=width,
                   data=b"")
    with pytest.raises(DataIOError, match="image is empty"):
        image_to_numpy(msg)


def test_object_without_image_fields_is_an_error() -> None:
    with pytest.raises(DataIOError, match="not a sensor_msgs/Image"):
        image_to_numpy(_message(height=1, width=1))


def test_fields_reject_a_wrong_dtype_instead_of_casting() -> None:
    with pytest.raises(DataIOError, match=r"32FC1 image must have dtype float32, got float64"):
        numpy_to_image_fields(np.zeros((2, 2)), "32FC1")


def test_fields_reject_a_wrong_shape() -> None:
    with pytest.raises(DataIOError, match=r"rgb8 image must have shape \(H, W, 3\)"):
        numpy_to_image_fields(np.zeros((2, 2), np.uint8), "rgb8")


def test_fields_reject_an_empty_image_and_unknown_data_kind() -> None:
    with pytest.raises(DataIOError, match="image is empty"):
        numpy_to_image_fields(np.zeros((0, 2), np.uint8), "mono8")
    with pytest.raises(DataIOError, match="data_as must be"):
        numpy_to_image_fields(np.zeros((2, 2), np.uint8), "mono8", data_as="list")  # type: ignore[arg-type]


def test_fields_accept_a_non_contiguous_big_endian_array() -> None:
    image = _random_image("16UC1", height=6, width=8)
    fields = numpy_to_image_fields(image.astype(">u2")[::2, ::2], "16UC1")
    np.testing.assert_array_equal(image_to_numpy(_message(**fields)), image[::2, ::2])


def test_to_rgb_reorders_channels() -> None:
    rgb = _random_image("rgb8")
    assert to_rgb(rgb, "rgb8") is rgb
    np.testing.assert_array_equal(to_rgb(rgb[..., ::-1], "bgr8"), rgb)
    rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 9, np.uint8)], axis=2)
    np.testing.assert_array_equal(to_rgb(rgba, "rgba8"), rgb)
    bgra = np.concatenate([rgb[..., ::-1], rgba[..., 3:]], axis=2)
    np.testing.assert_array_equal(to_rgb(bgra, "bgra8"), rgb)
    grey = rgb[..., 0]
    np.testing.assert_array_equal(to_rgb(grey, "mono8"), np.stack([grey] * 3, axis=2))
    assert to_rgb(rgb[..., ::-1], "bgr8").flags.c_contiguous


def test_to_rgb_rejects_non_colour_encodings_and_wrong_shapes() -> None:
    with pytest.raises(DataIOError, match=r"cannot convert encoding '32FC1' to RGB"):
        to_rgb(np.zeros((2, 2), np.float32), "32FC1")
    with pytest.raises(DataIOError, match=r"bgra8 image must be \(H, W, 4\) uint8"):
        to_rgb(np.zeros((2, 2, 3), np.uint8), "bgra8")


def _camera_info(k: list[float], d: list[float], model: str = "plumb_bob") -> SimpleNamespace:
    return SimpleNamespace(k=k, d=d, width=640, height=480, distortion_model=model,
                           header=SimpleNamespace(frame_id="cam_optical"))


def test_camera_info_gives_intrinsics() -> None:
    info = _camera_info([500.0, 0, 320.5, 0, 510.0, 240.5, 0, 0, 1], [0.1, -0.05, 0, 0, 0])
    assert camera_info_to_intrinsics(info) == CameraIntrinsics(
        640, 480, 500.0, 510.0, 320.5, 240.5, "plumb_bob", (0.1, -0.05, 0.0, 0.0, 0.0),
        "cam_optical")


def test_rclpy_camera_info_gives_intrinsics() -> None:
    msg_module = pytest.importorskip("sensor_msgs.msg")
    msg = msg_module.CameraInfo(width=64, height=48, distortion_model="plumb_bob",
                                k=[50.0, 0, 32, 0, 50, 24, 0, 0, 1], d=[0.0] * 5)
    msg.header.frame_id = "cam"
    camera = camera_info_to_intrinsics(msg)
    assert (camera.fx, camera.cy, camera.frame_id, camera.is_distorted) == (50, 24, "cam", False)


def test_all_zero_k_says_the_camera_is_uncalibrated() -> None:
    with pytest.raises(DataIOError, match=r"'cam_optical' has an all-zero K.*uncalibrated"):
        camera_info_to_intrinsics(_camera_info([0.0] * 9, []))


def test_unsupported_distortion_model_is_a_data_io_error() -> None:
    info = _camera_info([500.0, 0, 320, 0, 500, 240, 0, 0, 1], [0.1, 0, 0, 0], "equidistant")
    with pytest.raises(DataIOError, match=r"'cam_optical'.*'equidistant' is not supported"):
        camera_info_to_intrinsics(info)


def test_object_without_camera_info_fields_is_an_error() -> None:
    with pytest.raises(DataIOError, match="not a sensor_msgs/CameraInfo"):
        camera_info_to_intrinsics(SimpleNamespace(k=[1.0] * 9))


@pytest.mark.parametrize("encoding", ["mono16", "16UC1"])
def test_to_rgb_scales_16_bit_grey_over_its_full_range(encoding: str) -> None:
    grey = np.array([[0, 128, 257 * 100], [40000, 65535, 1]], np.uint16)
    rgb = to_rgb(grey, encoding)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[..., 1], [[0, 0, 100], [156, 255, 0]])
    with pytest.raises(DataIOError, match=r"a mono16 image must be \(H, W\) uint16, got "
                       r"\(2, 2\) uint8"):
        to_rgb(np.zeros((2, 2), np.uint8), "mono16")

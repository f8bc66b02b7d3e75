"""Image, depth and instance files: what a damaged or oversized file gives (one
DataIOError naming the file and what is wrong, never a library's exception), the pixel
limit checked on the header before decoding, and 16-bit grey converted, not clipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from image_support import damaged, png_bytes, png_header_only
from PIL import Image

from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.io.image_files import (
    check_pixel_count,
    load_depth,
    load_instances,
    load_rgb,
    rgb_of_array,
)


def test_an_image_over_max_pixels_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(png_header_only(10_000, 9_000))  # decoding would take ~270 MB
    with pytest.raises(DataIOError, match=r"huge.png is 10000x9000 = 90000000 pixels, over "
                       r"the limit of 12000000 \(--max-pixels\); refused before decoding"):
        load_rgb(path, max_pixels=12_000_000)


def test_a_decompression_bomb_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(30_000, 30_000))
    with pytest.raises(DataIOError, match=r"image .*bomb.png is refused before decoding "
                       r"\(Image size \(900000000 pixels\) exceeds limit"):
        load_rgb(path)  # no limit of ours: PIL's own is turned into ours


def test_a_truncated_image_is_damaged_not_a_traceback(tmp_path: Path) -> None:
    data = png_bytes(np.full((40, 50, 3), 90, np.uint8))
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataIOError, match=r"image .*cut.png is damaged \(OSError"):
        load_rgb(path)
    path.write_bytes(b"not a png")
    with pytest.raises(DataIOError, match=r"cut.png cannot be read .*expected a JPEG or PNG"):
        load_rgb(path)


def test_a_corrupt_16_bit_depth_png_is_damaged(tmp_path: Path) -> None:
    data = png_bytes((np.arange(80 * 100).reshape(80, 100) % 5000).astype(np.uint16))
    path = tmp_path / "depth.png"
    path.write_bytes(damaged(data))
    with pytest.raises(DataIOError, match=r"depth PNG .*depth.png is damaged"):
        load_depth(path)
    path.write_bytes(png_header_only(5000, 5000, bit_depth=16, colour=0))
    with pytest.raises(DataIOError, match=r"depth PNG .*is 5000x5000 .* over the limit of 1000"):
        load_depth(path, max_pixels=1000)


def test_a_structured_or_oversized_npy_depth_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "depth.npy"
    np.save(path, np.zeros((4, 4), dtype=[("a", "f4"), ("b", "i4")]))
    with pytest.raises(DataIOError, match=r"depth .*depth.npy holds \[\('a', '<f4'\), "
                       r"\('b', '<i4'\)\] values; expected a plain array of metres"):
        load_depth(path)
    np.save(path, np.ones((30, 40), np.float32))
    with pytest.raises(DataIOError, match=r"depth .*depth.npy is 40x30 = 1200 pixels, over "
                       r"the limit of 1000"):
        load_depth(path, max_pixels=1000)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataIOError, match=r"depth .*depth.npy is not a numpy array file"):
        load_depth(path)


def test_npy_depth_of_plain_numbers_is_read_as_metres(tmp_path: Path) -> None:
    path = tmp_path / "depth.npy"
    np.save(path, np.array([[0, 2], [3, 4]], np.int16))
    depth = load_depth(path, (2, 2), max_pixels=4)
    assert depth.dtype == np.float32 and np.isnan(depth[0, 0])
    np.testing.assert_array_equal(depth[1], [3.0, 4.0])


def test_a_corrupt_instance_png_or_bad_labels_is_a_data_io_error(tmp_path: Path) -> None:
    ids = np.zeros((20, 30), np.uint16)
    ids[5:10, 5:10] = 3
    labels = tmp_path / "ids.json"
    labels.write_text('{"3": {"class": "mug"}}')
    good = tmp_path / "ids.png"
    good.write_bytes(png_bytes(ids))
    read, names = load_instances(good, labels, (20, 30))
    assert read.dtype == np.int32 and read.max() == 3 and names == {3: "mug"}
    bad = tmp_path / "bad.png"
    bad.write_bytes(png_bytes(ids)[:70])
    with pytest.raises(DataIOError, match=r"instance image .*bad.png is damaged"):
        load_instances(bad, labels, (20, 30))
    with pytest.raises(DataIOError, match=r"instance image .*ids.png is 30x20, the image 40x20"):
        load_instances(good, labels, (20, 40))
    labels.write_text('["mug"]')
    with pytest.raises(DataIOError, match=r"labels .*ids.json: labels JSON must be an object"):
        load_instances(good, labels, (20, 30))
    colour = tmp_path / "colour.png"
    colour.write_bytes(png_bytes(np.zeros((20, 30, 3), np.uint8)))
    with pytest.raises(DataIOError, match=r"has mode RGB; expected one channel of ids"):
        load_instances(colour, labels, (20, 30))


def test_a_16_bit_grey_png_is_scaled_to_8_bit_rgb_not_clipped(tmp_path: Path) -> None:
    grey = np.array([[0, 257 * 100, 65535], [128, 1000, 40000]], np.uint16)
    path = tmp_path / "grey16.png"
    path.write_bytes(png_bytes(grey))
    with Image.open(path) as opened:
        assert opened.mode == "I;16"  # what PIL's convert("RGB") clipped to 255
    rgb = load_rgb(path)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[..., 0], [[0, 100, 255], [0, 4, 156]])
    assert (rgb[..., 0] == rgb[..., 2]).all()


def test_arrays_are_converted_or_refused_never_wrapped() -> None:
    wide = np.array([[0, 65535]], np.uint16)
    np.testing.assert_array_equal(rgb_of_array(wide)[0, :, 1], [0, 255])
    ints = np.full((2, 2, 3), 200, np.int64)  # what a list of lists becomes
    assert rgb_of_array(ints).dtype == np.uint8 and rgb_of_array(ints).max() == 200
    with pytest.raises(DataIOError, match=r"row 3 is int64 with values 0..300; expected "
                       r"8-bit \(0..255\) or uint16"):
        rgb_of_array(np.array([[0, 300]]), "row 3")
    with pytest.raises(DataIOError, match=r"has dtype float32; expected uint8 or uint16"):
        rgb_of_array(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(DataIOError, match=r"has shape \(2, 2, 2\); expected"):
        rgb_of_array(np.zeros((2, 2, 2), np.uint8))


def test_the_pixel_limit_counts_pixels_not_bytes() -> None:
    check_pixel_count((4000, 3000), "a 4K frame", 12_000_000)
    check_pixel_count((100_000, 100_000), "anything", None)
    with pytest.raises(DataIOError, match=r"a frame is 4001x3000"):
        check_pixel_count((4001, 3000), "a frame", 12_000_000)


def test_a_16_bit_depth_png_decodes_as_a_16uc1_message_does(tmp_path: Path) -> None:
    """Millimetres in a PNG file round to metres as on the node's 16UC1 path: 3000 mm is
    3.0 m exactly (float32 3000 * 1e-3 was 3.0000002, beyond a 3 m depth_max_m)."""
    from spatial_vqa_ros.core.capture import depth_to_metres

    raw = np.array([[3000, 2345, 65535, 0]], np.uint16)
    Image.fromarray(raw).save(tmp_path / "depth.png")
    depth = load_depth(tmp_path / "depth.png")
    assert depth[0, 0] == np.float32(3.0) and depth[0, 1] == np.float32(2.345)
    np.testing.assert_array_equal(depth[:, :3], depth_to_metres(raw, "16UC1", 0.05, 70.0)[:, :3])
    assert np.isnan(depth[0, 3])

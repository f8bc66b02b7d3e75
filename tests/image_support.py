"""Tiny image files the tests make themselves: a PNG that only declares its size (how a
decompression bomb or a hostile file looks), and PNG bytes of an array.

Plain functions; the tests directory is on ``sys.path`` (pytest's rootdir conftest), so
test modules import them as ``from image_support import png_header_only``.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def png_header_only(width: int, height: int, bit_depth: int = 8, colour: int = 2) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` but whose data is a few bytes
    (68 bytes in all): decoding it would allocate the declared size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b""))


def png_bytes(array: np.ndarray) -> bytes:
    """The PNG file of ``array`` (uint16 (H, W) gives a 16-bit grey PNG)."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def damaged(data: bytes) -> bytes:
    """``data`` with 40 bytes after its PNG header zeroed: it opens, and fails to decode."""
    return data[:60] + b"\0" * 40 + data[100:]

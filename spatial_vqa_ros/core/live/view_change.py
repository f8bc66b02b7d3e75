"""How much the view changed since the last keyframe, from the images alone.

Without a pose source (no odometry, no TF), the keyframe policy cannot see the camera
move: a pan that brings a new part of the room into view would wait for the periodic
keyframe. The images show it: :func:`thumbnail` reduces a frame to a coarse grey grid
(block means: sensor noise averages out), and :func:`image_change` is the share of the
view the keyframe's view does not explain: the thumbnails are aligned (a pan or a glide
shifts the whole image), what the shift brought in is new, and so are the overlap's
cells whose brightness moved by more than a threshold, the frame's overall brightness
shift taken out (an auto-exposure step is not a new view). A still view reads about 0,
a pan by a quarter of the view about 0.25, by more than half 0.5 or more, another view
0.6 or more (tested); the policy's ``view_image_change`` (0.5) fires at about a half.
It is cheap (about 0.3 ms a VGA frame), and a function of the images only, so live and
offline runs of a recording agree.
"""

from __future__ import annotations

import numpy as np

from .errors import LiveError

__all__ = ["THUMBNAIL_SHAPE", "image_change", "thumbnail"]

#: Rows, columns of the grid a frame is reduced to.
THUMBNAIL_SHAPE = (24, 32)
#: Pixels per block side averaged (evenly spread) for its mean.
SAMPLES = 4
#: A cell changed when its mean brightness (0-1) moved by more than this.
CELL_CHANGE = 0.08


def thumbnail(image: np.ndarray, shape: tuple[int, int] = THUMBNAIL_SHAPE) -> np.ndarray:
    """(rows, cols) float32 block means of ``image`` (H, W) grey or (H, W, 3) colour,
    uint8 (0-255) or float (0-1); the image must be at least ``shape``. Each block is
    averaged over at most :data:`SAMPLES` x :data:`SAMPLES` of its pixels, evenly spread
    (its mean to within noise, at a small part of the cost of every pixel)."""
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise LiveError(f"a thumbnail needs an (H, W) or (H, W, 3) image, got shape "
                        f"{image.shape}")
    rows, cols = shape
    height, width = image.shape[:2]
    if height < rows or width < cols:
        raise LiveError(f"an image of {width}x{height} is smaller than the {cols}x{rows} "
                        "thumbnail grid")
    ys, ny = _samples(height, rows)
    xs, nx = _samples(width, cols)
    grid = image[np.ix_(ys, xs)].astype(np.float32)
    if grid.ndim == 3:
        grid = grid.mean(axis=2)
    blocks = grid.reshape(rows, ny, cols, nx).mean(axis=(1, 3))
    scale = 255.0 if image.dtype == np.uint8 else 1.0
    return (blocks / scale).astype(np.float32)


def _samples(size: int, blocks: int) -> tuple[np.ndarray, int]:
    """Indices of ``n`` evenly spread pixels in each of ``blocks`` equal blocks of
    ``size`` pixels (the remainder at the end left out), and ``n``."""
    step = size // blocks
    n = min(step, SAMPLES)
    within = (np.arange(n) * step) // n
    return (np.arange(blocks)[:, None] * step + within[None, :]).ravel(), n


def image_change(then: np.ndarray, now: np.ndarray, cell_change: float = CELL_CHANGE
                 ) -> float:
    """Share (0-1) of the view ``now`` that the keyframe's view ``then`` does not explain
    (two thumbnails).

    The views are aligned first (the grid shift of the peak of their phase
    correlation: a pan or a glide moves the whole image); what the shift brought in is
    new, and of the overlap, the cells whose brightness changed by more than
    ``cell_change`` (the median shift, an exposure step, taken out) are new too:
    1 - overlap x (1 - changed share of the overlap)."""
    then, now = np.asarray(then, np.float32), np.asarray(now, np.float32)
    if then.shape != now.shape:
        raise LiveError(f"thumbnails of different shapes {then.shape} and {now.shape} "
                        "(the camera's resolution changed?): start over with reset()")
    rows, cols = then.shape
    dy, dx = _shift(then, now)
    old = then[max(0, -dy):rows - max(0, dy), max(0, -dx):cols - max(0, dx)]
    new = now[max(0, dy):rows - max(0, -dy), max(0, dx):cols - max(0, -dx)]
    overlap = old.size / then.size
    if overlap == 0:
        return 1.0
    difference = new - old
    difference -= np.median(difference)
    changed = float(np.mean(np.abs(difference) > cell_change))
    return 1.0 - overlap * (1.0 - changed)


def _shift(then: np.ndarray, now: np.ndarray) -> tuple[int, int]:
    """(dy, dx) grid cells by which ``now`` shows ``then`` moved (now[y + dy, x + dx] ~
    then[y, x]), from the peak of their phase correlation, at most half the grid."""
    a, b = then - then.mean(), now - now.mean()
    spectrum = np.fft.fft2(b) * np.conj(np.fft.fft2(a))
    correlation = np.fft.ifft2(spectrum / np.maximum(np.abs(spectrum), 1e-9)).real
    rows, cols = then.shape
    dy, dx = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
    dy = dy - rows if dy > rows // 2 else dy
    dx = dx - cols if dx > cols // 2 else dx
    return int(dy), int(dx)

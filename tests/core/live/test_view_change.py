"""The image-change measure behind the keyframe policy's view trigger without a pose:
block means, exposure shifts ignored, a pan or a new view read as change."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.live import LiveError, image_change, thumbnail
from spatial_vqa_ros.core.live.view_change import THUMBNAIL_SHAPE


def textured(seed: int, height: int = 480, width: int = 640) -> np.ndarray:
    """A colour image of random 20-pixel tiles with sensor noise, uint8."""
    rng = np.random.default_rng(seed)
    tiles = rng.random((height // 20 + 1, width // 20 + 1, 3))
    image = np.kron(tiles, np.ones((20, 20, 1)))[:height, :width] * 200 + 20
    return np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)


def test_a_thumbnail_holds_the_block_means_of_any_image_size():
    for height, width in ((480, 640), (240, 320), (100, 130), (24, 32), (1080, 1920)):
        blocks = np.random.default_rng(1).random(THUMBNAIL_SHAPE)
        rows, cols = THUMBNAIL_SHAPE
        image = np.kron(blocks, np.ones((height // rows, width // cols)))
        image = np.pad(image, ((0, height % rows), (0, width % cols)))
        np.testing.assert_allclose(thumbnail(image), blocks, atol=1e-6)
    grey = np.full((48, 64), 255, np.uint8)
    np.testing.assert_allclose(thumbnail(grey), 1.0)  # uint8 reads as 0-255


def test_a_still_view_and_an_exposure_step_are_no_change():
    image = textured(0)
    again = np.clip(image.astype(int) + np.random.default_rng(2).normal(0, 6, image.shape),
                    0, 255).astype(np.uint8)
    brighter = np.clip(image.astype(int) + 15, 0, 255).astype(np.uint8)
    assert image_change(thumbnail(image), thumbnail(again)) < 0.05
    assert image_change(thumbnail(image), thumbnail(brighter)) < 0.05


@pytest.mark.parametrize(("shift_px", "low", "high"), [(40, 0.0, 0.15), (160, 0.2, 0.35),
                                                       (280, 0.35, 0.5), (360, 0.5, 1.0)])
def test_a_pan_reads_as_the_share_of_the_view_it_brought_in(shift_px, low, high):
    wide = textured(3, 480, 960)
    start, panned = wide[:, :640], wide[:, shift_px:shift_px + 640]
    assert low <= image_change(thumbnail(start), thumbnail(panned)) <= high


def test_another_view_reads_as_mostly_new():
    assert image_change(thumbnail(textured(3)), thumbnail(textured(4))) >= 0.6


def test_bad_images_and_mismatched_thumbnails_are_refused_by_name():
    with pytest.raises(LiveError, match="smaller than the 32x24 thumbnail grid"):
        thumbnail(np.zeros((10, 10)))
    with pytest.raises(LiveError, match=r"needs an \(H, W\) or \(H, W, 3\) image"):
        thumbnail(np.zeros(10))
    with pytest.raises(LiveError, match="thumbnails of different shapes"):
        image_change(np.zeros((24, 32)), np.zeros((12, 16)))

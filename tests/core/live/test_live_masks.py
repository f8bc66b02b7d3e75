"""Packed masks: lossless, small, and their overlaps equal the dense computation."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.live.errors import LiveError
from spatial_vqa_ros.core.live.masks import CompactMasks, box_iou_matrix, mask_iou_matrix


def _random_masks(rng: np.random.Generator, n: int, shape: tuple[int, int]) -> np.ndarray:
    masks = np.zeros((n, *shape), bool)
    for i in range(n):
        y0, x0 = rng.integers(0, shape[0] - 10), rng.integers(0, shape[1] - 10)
        h, w = rng.integers(3, 30, size=2)
        masks[i, y0:y0 + h, x0:x0 + w] = rng.random((h, w))[: shape[0] - y0, : shape[1] - x0] > 0.3
    return masks


def test_packing_is_lossless_and_boxes_are_tight_with_exclusive_end() -> None:
    masks = _random_masks(np.random.default_rng(0), 6, (40, 50))
    masks[2] = False  # an empty mask
    masks[3] = False
    masks[3, 5, 7] = masks[3, 9, 20] = True
    packed = CompactMasks.from_dense(masks)
    assert np.array_equal(packed.to_dense(), masks)
    assert packed.boxes_xyxy[2].tolist() == [0, 0, 0, 0] and packed.areas[2] == 0
    assert packed.boxes_xyxy[3].tolist() == [7, 5, 21, 10] and packed.areas[3] == 2
    assert packed.areas.tolist() == masks.reshape(6, -1).sum(axis=1).tolist()


def test_no_masks_pack_to_an_empty_set_of_the_image_size() -> None:
    # a frame with no tracked objects is still kept in the track history
    packed = CompactMasks.from_dense(np.zeros((0, 40, 50), bool))
    assert len(packed) == 0 and packed.shape_hw == (40, 50)
    assert packed.areas.shape == (0,) and packed.boxes_xyxy.shape == (0, 4)
    assert packed.to_dense().shape == (0, 40, 50)


def test_a_small_object_at_vga_is_stored_over_a_hundred_times_smaller() -> None:
    masks = np.zeros((3, 480, 640), bool)
    masks[:, 100:200, 300:400] = True
    packed = CompactMasks.from_dense(masks)
    assert packed.nbytes * 100 < masks.nbytes, (packed.nbytes, masks.nbytes)


def test_non_boolean_masks_are_refused_with_what_to_do() -> None:
    with pytest.raises(LiveError, match=r"\(N, H, W\) bool array.*astype\(bool\)"):
        CompactMasks.from_dense(np.zeros((2, 4, 4), np.uint8))


def test_box_iou_of_half_overlapping_boxes_is_one_third_and_empty_boxes_match_nothing() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]], float)
    b = np.array([[5, 0, 15, 10], [0, 0, 0, 0], [0, 0, 10, 10]], float)
    iou = box_iou_matrix(a, b)
    assert iou.shape == (2, 3)
    assert iou[0, 0] == pytest.approx(1 / 3)
    assert iou[0, 2] == pytest.approx(1.0)
    assert iou[1].tolist() == [0.0, 0.0, 0.0]


def test_mask_iou_on_crops_equals_the_dense_computation() -> None:
    rng = np.random.default_rng(1)
    a, b = _random_masks(rng, 5, (60, 60)), _random_masks(rng, 4, (60, 60))
    b[0] = a[1]  # one identical pair
    b[3] = False  # an empty one
    iou = mask_iou_matrix(CompactMasks.from_dense(a), CompactMasks.from_dense(b))
    inter = (a[:, None] & b[None]).sum(axis=(2, 3))
    union = (a[:, None] | b[None]).sum(axis=(2, 3))
    expected = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    assert np.allclose(iou, expected)
    assert iou[1, 0] == pytest.approx(1.0)
    assert (iou[:, 3] == 0).all()
    assert (iou > 0).sum() >= 2  # the fixture does overlap somewhere


def test_masks_of_different_image_sizes_are_not_compared() -> None:
    a = CompactMasks.from_dense(np.ones((1, 4, 4), bool))
    b = CompactMasks.from_dense(np.ones((1, 4, 5), bool))
    with pytest.raises(LiveError, match=r"different image sizes.*\(4, 4\) and \(4, 5\)"):
        mask_iou_matrix(a, b)

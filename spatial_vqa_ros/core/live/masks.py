"""Object masks stored compactly, and the overlap measures used to match them.

A tracked object's (H, W) bool mask is 307 kB at VGA; a short history of 30 frames
with 10 objects would hold 92 MB of mostly ``False``. An object covers a small part of
the image, so :class:`CompactMasks` keeps each mask as its tight pixel box and the bits
inside it packed eight to a byte (``numpy.packbits``): lossless, and typically tens of
times smaller. Overlaps are computed on the crops, without decoding whole images.

Boxes are ``xyxy`` in pixel edges: ``x0, y0`` the first column and row of the mask,
``x1, y1`` one past the last (so ``x1 - x0`` is the width in pixels), the convention of
``roi_xyxy`` in :mod:`spatial_vqa_ros.core.objects`. An empty mask has the box
``(0, 0, 0, 0)`` and area 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import LiveError


@dataclass(frozen=True, eq=False)
class CompactMasks:
    """N boolean masks of one (H, W) image, each as its tight box and packed bits.

    - ``shape_hw``: (H, W) of the image the masks belong to
    - ``boxes_xyxy``: (N, 4) int32 tight pixel box of each mask (exclusive end)
    - ``bits``: N uint8 arrays, ``numpy.packbits`` of each box's crop, row-major
    - ``areas``: (N,) int64 pixel count of each mask

    Build it with :meth:`from_dense`; the fields are consistent by construction.
    """

    shape_hw: tuple[int, int]
    boxes_xyxy: np.ndarray
    bits: tuple[np.ndarray, ...]
    areas: np.ndarray

    @classmethod
    def from_dense(cls, masks: np.ndarray) -> CompactMasks:
        """Pack (N, H, W) bool masks (a tracker's or a segmenter's output)."""
        masks = np.asarray(masks)
        if masks.ndim != 3 or masks.dtype != np.bool_:
            raise LiveError(f"masks must be an (N, H, W) bool array, got shape {masks.shape} "
                            f"and dtype {masks.dtype}; convert with masks.astype(bool)")
        n, height, width = masks.shape
        rows = masks.any(axis=2)  # (N, H)
        cols = masks.any(axis=1)  # (N, W)
        boxes = np.zeros((n, 4), np.int32)
        bits = []
        for i in range(n):
            if not rows[i].any():
                bits.append(np.zeros(0, np.uint8))
                continue
            y0, y1 = int(np.argmax(rows[i])), height - int(np.argmax(rows[i, ::-1]))
            x0, x1 = int(np.argmax(cols[i])), width - int(np.argmax(cols[i, ::-1]))
            boxes[i] = (x0, y0, x1, y1)
            bits.append(np.packbits(masks[i, y0:y1, x0:x1]))
        areas = masks.reshape(n, height * width).sum(axis=1).astype(np.int64)
        return cls((int(height), int(width)), boxes, tuple(bits), areas)

    def __len__(self) -> int:
        return len(self.bits)

    @property
    def nbytes(self) -> int:
        """Bytes held (the packed bits and the per-mask arrays), for memory bounds."""
        return (sum(b.nbytes for b in self.bits) + self.boxes_xyxy.nbytes
                + self.areas.nbytes)

    def crop(self, i: int) -> np.ndarray:
        """Mask ``i`` inside its box, as an (h, w) bool array ((0, 0) when empty)."""
        x0, y0, x1, y1 = (int(v) for v in self.boxes_xyxy[i])
        h, w = y1 - y0, x1 - x0
        return np.unpackbits(self.bits[i], count=h * w).reshape(h, w).astype(bool)

    def dense(self, i: int) -> np.ndarray:
        """Mask ``i`` as a full (H, W) bool array."""
        out = np.zeros(self.shape_hw, bool)
        x0, y0, x1, y1 = (int(v) for v in self.boxes_xyxy[i])
        out[y0:y1, x0:x1] = self.crop(i)
        return out

    def to_dense(self) -> np.ndarray:
        """All masks as an (N, H, W) bool array (exactly the masks packed)."""
        out = np.zeros((len(self), *self.shape_hw), bool)
        for i in range(len(self)):
            out[i] = self.dense(i)
        return out


def box_iou_matrix(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of boxes ``a`` (N, 4) and ``b`` (M, 4), xyxy.

    A box with no area overlaps nothing (IoU 0), so two empty boxes never match.
    """
    a = _boxes(a_xyxy, "a_xyxy")
    b = _boxes(b_xyxy, "b_xyxy")
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2])
                - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3])
                - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = w * h
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def mask_iou_matrix(a: CompactMasks, b: CompactMasks) -> np.ndarray:
    """(N, M) intersection over union of the masks of ``a`` and ``b`` (same image size).

    Only pairs whose boxes overlap are intersected, on the overlap of their boxes. An
    empty mask overlaps nothing (IoU 0): unlike a plain "both empty = identical", two
    objects that are both out of view must not be matched to each other.
    """
    if a.shape_hw != b.shape_hw:
        raise LiveError(f"masks of different image sizes cannot be compared: {a.shape_hw} "
                        f"and {b.shape_hw} (H, W); give masks of the keyframe's image")
    out = np.zeros((len(a), len(b)))
    crops_a: dict[int, np.ndarray] = {}
    crops_b: dict[int, np.ndarray] = {}
    for i in range(len(a)):
        ax0, ay0, ax1, ay1 = (int(v) for v in a.boxes_xyxy[i])
        for j in range(len(b)):
            bx0, by0, bx1, by1 = (int(v) for v in b.boxes_xyxy[j])
            x0, y0, x1, y1 = max(ax0, bx0), max(ay0, by0), min(ax1, bx1), min(ay1, by1)
            if x1 <= x0 or y1 <= y0:
                continue
            ca = crops_a.setdefault(i, a.crop(i))
            cb = crops_b.setdefault(j, b.crop(j))
            inter = int(np.count_nonzero(ca[y0 - ay0:y1 - ay0, x0 - ax0:x1 - ax0]
                                         & cb[y0 - by0:y1 - by0, x0 - bx0:x1 - bx0]))
            union = int(a.areas[i]) + int(b.areas[j]) - inter
            out[i, j] = inter / union if union else 0.0
    return out


def _boxes(xyxy: np.ndarray, name: str) -> np.ndarray:
    boxes = np.asarray(xyxy, np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or not np.isfinite(boxes).all():
        raise LiveError(f"{name} must be an (N, 4) array of finite xyxy pixel boxes, got "
                        f"shape {boxes.shape}")
    return boxes


__all__ = ["CompactMasks", "box_iou_matrix", "mask_iou_matrix"]

"""A carried mask checked against the new frame's depth: the object is the depth-
continuous surface its mask covers (the rule of the ``depth_box`` segmenter,
:func:`~spatial_vqa_ros.perception.depth_box.surface_pieces`), so pixels that flow
smeared onto the wall behind it, or onto a neighbour in front, are cut away.

Refinement only trims: a mask grows (an object coming closer) through the backward
maps that carry it, never here, so a mask cannot creep along the floor its object
stands on from frame to frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..depth_box import surface_pieces

_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


@dataclass(frozen=True)
class SurfaceRule:
    """``continuity_abs_m`` + ``continuity_rel`` x depth: the step that separates
    surfaces; ``band_factor`` / ``min_band_m``: the depth band around the object (as
    ``depth_box``); a surface piece is kept when it holds at least ``min_vote_share`` of
    the mask's interior pixels (``erode_px`` in from its edge)."""

    continuity_abs_m: float = 0.02
    continuity_rel: float = 0.03
    band_factor: float = 1.5
    min_band_m: float = 0.05
    min_vote_share: float = 0.1
    erode_px: int = 2


def bounding_box(mask: np.ndarray, pad: int) -> tuple[slice, slice] | None:
    """The mask's pixel box grown by ``pad`` (clipped to the image), or None if empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return (slice(max(rows[0] - pad, 0), min(rows[-1] + pad + 1, height)),
            slice(max(cols[0] - pad, 0), min(cols[-1] + pad + 1, width)))


def refine(mask: np.ndarray, depth_m: np.ndarray, fx: float, rule: SurfaceRule, *,
           reveal: np.ndarray | None = None) -> np.ndarray:
    """``mask`` (H, W) bool trimmed to the depth-continuous surfaces it covers, their
    one-pixel rim, and the pixels without depth inside it.

    ``reveal`` (H, W) bool: pixels just brought into view at the image border beside
    the mask, where no mask could be carried from. Those on the surfaces the mask
    covers join it (they do not vote), so an object coming into view is followed to
    the border and stays cut by it, rather than stopping where the last frame ended."""
    grown = mask | reveal if reveal is not None else mask
    window = bounding_box(grown, 1)
    if window is None:
        return mask
    voters, crop = mask[window], grown[window]
    depth = depth_m[window]
    interior = cv2.erode(voters.view(np.uint8), _CROSS,
                         iterations=rule.erode_px).view(bool)
    if interior.sum() < 10:  # a thin sliver: vote with all of it
        interior = voters
    pieces, votes = surface_pieces(depth, interior, crop.shape[1], fx,
                                   continuity_abs_m=rule.continuity_abs_m,
                                   continuity_rel=rule.continuity_rel,
                                   band_factor=rule.band_factor, min_band_m=rule.min_band_m)
    keep = votes >= max(1, rule.min_vote_share * votes.sum())
    keep[0] = False
    surface = keep[pieces]
    # on no surface: pixels without depth (a sensor's dropouts, common at edges) and
    # those at a depth step (the surface's own rim): kept inside the mask and on the
    # surface's rim, so the mask neither loses a ring a frame nor spreads
    beside = cv2.dilate(surface.view(np.uint8), _CROSS).view(bool)
    kept = surface | (pieces == 0) & (beside | interior & ~np.isfinite(depth))
    out = np.zeros_like(mask)
    out[window] = crop & kept
    return out


__all__ = ["SurfaceRule", "bounding_box", "refine"]

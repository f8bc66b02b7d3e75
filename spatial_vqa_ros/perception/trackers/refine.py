"""A carried mask checked against the new frame's depth: the object is the depth-
continuous surface its mask covers (the rule of the ``depth_box`` segmenter,
:func:`~spatial_vqa_ros.perception.depth_box.surface_pieces`), so pixels that flow
smeared onto the wall behind it, or onto a neighbour in front, are cut away.

Refinement only trims, except at the image border: a mask grows (an object coming
closer) through the backward maps that carry it, and beyond them only by the pixels
the caller offers as ``reveal`` (what a pan brings into view beside a mask cut by the
border). Those join on the object's surface but never on the surface it stands on
(``support_plane``, ``depth_box``'s rule) nor on what they reach only through it, so a
mask cannot creep along the floor from frame to frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...core.objects import depth_continuous_pieces
from ..depth_box import surface_pieces
from ..support_plane import SupportConfig, support_pixels

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


@dataclass(frozen=True)
class Reveal:
    """What a pan brought into view beside a mask cut by the image border, where no
    mask could be carried from: ``pixels`` (H, W) bool, offered to the mask; ``rays``
    (H, W, 3) the camera's rays, to find the plane the object stands on; ``others``
    (H, W) bool the other tracked objects' pixels, left out of that search (a
    neighbour's top beside the base would pass for the floor)."""

    pixels: np.ndarray
    rays: np.ndarray
    others: np.ndarray


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
           reveal: Reveal | None = None) -> np.ndarray:
    """``mask`` (H, W) bool trimmed to the depth-continuous surfaces it covers, their
    one-pixel rim, and the pixels without depth inside it.

    ``reveal``: pixels just brought into view at the image border beside the mask.
    Those on the surfaces the mask covers join it (they do not vote), so an object
    coming into view is followed to the border and stays cut by it, rather than
    stopping where the last frame ended; but not those on the plane the object stands
    on (the floor is depth-continuous with the object's base), nor those that reached
    the object only through that plane."""
    grown = mask | reveal.pixels if reveal is not None else mask
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
    joined = out & ~mask
    if reveal is None or not joined.any():
        return out
    core = np.zeros_like(mask)
    core[window] = interior
    return _off_support(out, joined, core, depth_m=depth_m, reveal=reveal, rule=rule)


def _off_support(mask: np.ndarray, joined: np.ndarray, core: np.ndarray, *,
                 depth_m: np.ndarray, reveal: Reveal, rule: SurfaceRule) -> np.ndarray:
    """``mask`` less its ``joined`` (revealed) pixels on the surface the object stands
    on, found beside the mask's box as ``depth_box`` finds it (other objects' pixels
    left out), and less the revealed pixels the cut leaves without depth-continuous
    contact with the carried ones. The box takes the joined pixels in: what a pan
    reveals below a part cut by the bottom border is the object itself (its base is
    beyond the border), and sampled as "beside the base" it would pass for a plane."""
    if joined.sum() < SupportConfig().min_pixels or not _near_base(mask & ~joined, joined):
        return mask  # too few to find a plane by, or none where a support could be
    window = bounding_box(mask, 0)
    assert window is not None
    support = _support(mask, core, depth_m, reveal, window)
    out = mask & ~(support & joined)
    window = bounding_box(out, 1)
    assert window is not None
    depth = depth_m[window]
    threshold = rule.continuity_abs_m + rule.continuity_rel * np.nan_to_num(depth)
    pieces, count = depth_continuous_pieces(depth, out[window], threshold)
    holds = np.zeros(count + 1, bool)
    holds[pieces[(out & ~joined)[window]]] = True
    holds[0] = False
    held = holds[pieces]
    # a revealed pixel at a depth step (label 0) stays on the rim of a held piece
    rim = (pieces == 0) & cv2.dilate(held.view(np.uint8), _CROSS).view(bool)
    out[window] &= ~joined[window] | held | rim
    return out


def _near_base(carried: np.ndarray, joined: np.ndarray) -> bool:
    """Whether ``joined`` may hold the support: some of it at or below the carried
    part's base (its bottom rows, ``support_plane``'s strip), as the floor beside or
    below an object is. The search for the support is the tracker's dearest step, and
    revealed pixels all above the base reach the floor only through it."""
    window = bounding_box(carried, 0)
    if window is None:
        return True
    rows = window[0]
    base = rows.stop - max(2, int(SupportConfig().strip * (rows.stop - rows.start)))
    return bool(joined[base:].any())


def _support(mask: np.ndarray, core: np.ndarray, depth_m: np.ndarray, reveal: Reveal,
             box_window: tuple[slice, slice]) -> np.ndarray:
    """:func:`support_pixels` of ``mask`` with its pixel box ``box_window``, other
    objects' pixels left out, computed on the part of the frame it looks at (the box
    and its margins: the same pixels in the same order, so the same answer)."""
    rows, cols = box_window
    config = SupportConfig()
    pad = 2 + max(4, int(config.corner * (cols.stop - cols.start)),
                  int(config.strip * (rows.stop - rows.start)))
    crop = (slice(max(rows.start - pad, 0), rows.stop + pad),
            slice(max(cols.start - pad, 0), cols.stop + pad))
    box = (cols.start - crop[1].start, rows.start - crop[0].start,
           cols.stop - crop[1].start, rows.stop - crop[0].start)
    apart = np.where(reveal.others[crop] & ~mask[crop], np.float32(np.nan), depth_m[crop])
    support = np.zeros_like(mask)
    support[crop] = support_pixels(apart, reveal.rays[crop], mask[crop], box, core[crop])
    return support


__all__ = ["Reveal", "SurfaceRule", "bounding_box", "refine"]

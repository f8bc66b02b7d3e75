"""The rgb frame with what perception found and geometry measured, drawn on it.

One drawing function for every tool that shows a frame (``perceive``, demos, dataset
cards): translucent masks, boxes, and a label per object with its unique description,
its distance from the camera and a "partial" flag where sizes are lower bounds. Pillow
only; no ROS, no matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Distinct colours (Okabe-Ito, colour-blind safe), cycled per object.
PALETTE = ((230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
           (213, 94, 0), (204, 121, 167), (255, 255, 255))


@dataclass(frozen=True)
class OverlayItem:
    """One object to draw: its mask (H, W) bool or None, box (x0, y0, x1, y1) or None,
    and the caption lines."""

    mask: np.ndarray | None
    box_xyxy: tuple[float, float, float, float] | None
    caption: str


def draw_overlay(rgb: np.ndarray, items: Sequence[OverlayItem], *, alpha: float = 0.45,
                 title: str = "") -> Image.Image:
    """The frame with every item's mask tinted, box outlined and caption written."""
    base = rgb.astype(np.float32).copy()
    for k, item in enumerate(items):
        if item.mask is not None and item.mask.any():
            colour = np.array(PALETTE[k % len(PALETTE)], np.float32)
            base[item.mask] = (1 - alpha) * base[item.mask] + alpha * colour
    image = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for k, item in enumerate(items):
        colour = PALETTE[k % len(PALETTE)]
        if item.box_xyxy is not None:
            draw.rectangle([float(v) for v in item.box_xyxy], outline=colour, width=2)
            x, y = float(item.box_xyxy[0]), float(item.box_xyxy[1])
        elif item.mask is not None and item.mask.any():
            rows, cols = np.nonzero(item.mask)
            x, y = float(cols.min()), float(rows.min())
        else:
            continue
        _caption(draw, font, (x + 2, y + 2), item.caption, colour)
    if title:
        _caption(draw, font, (4, 4), title, (255, 255, 255))
    return image


def _caption(draw: ImageDraw.ImageDraw, font, xy: tuple[float, float], text: str,
             colour: tuple[int, int, int]) -> None:
    left, top, right, bottom = draw.multiline_textbbox(xy, text, font=font)
    draw.rectangle([left - 2, top - 2, right + 2, bottom + 2], fill=(0, 0, 0))
    draw.multiline_text(xy, text, fill=colour, font=font)


__all__ = ["PALETTE", "OverlayItem", "draw_overlay"]

"""Line plots of a few series over time (the reward and the true gap of an approach),
with axes, ticks and a legend, in Pillow: no plotting library to install for a picture
a user opens once."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from PIL import Image, ImageDraw, ImageFont

from .overlay import PALETTE

__all__ = ["draw_series", "nice_ticks"]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high] (steps of 1, 2 or 5 x 10^k)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 5, 10)), key=lambda s: abs(s - raw))
    first = math.floor(low / step) * step
    ticks, value = [], first
    while not ticks or ticks[-1] < high - 1e-9 * step:  # the last tick covers high
        ticks.append(round(value, 10) + 0.0)  # + 0.0: no "-0"
        value += step
    return ticks


def draw_series(x: Sequence[float], series: Mapping[str, Sequence[float]], *,
                x_label: str = "", y_label: str = "", title: str = "",
                size: tuple[int, int] = (640, 360)) -> Image.Image:
    """Each series against ``x`` (equal lengths; NaN breaks a line), one colour each."""
    width, height = size
    left, right, top, bottom = 60, 20, 30, 40
    values = [v for ys in series.values() for v in ys if math.isfinite(v)]
    y_ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0))
    x_ticks = nice_ticks(min(x, default=0.0), max(x, default=1.0))
    y_low, y_high = (y_ticks[0], y_ticks[-1]) if len(y_ticks) > 1 else (0.0, 1.0)
    x_low, x_high = (x_ticks[0], x_ticks[-1]) if len(x_ticks) > 1 else (0.0, 1.0)

    def pixel(u: float, v: float) -> tuple[float, float]:
        px = left + (u - x_low) / (x_high - x_low) * (width - left - right)
        py = height - bottom - (v - y_low) / (y_high - y_low) * (height - top - bottom)
        return px, py

    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    grey, black = (220, 220, 220), (0, 0, 0)
    for v in y_ticks:
        a, b = pixel(x_low, v), pixel(x_high, v)
        draw.line([a, b], fill=grey)
        draw.text((4, a[1] - 6), f"{v:g}", fill=black, font=font)
    for u in x_ticks:
        a = pixel(u, y_low)
        draw.line([a, pixel(u, y_high)], fill=grey)
        draw.text((a[0] - 8, a[1] + 4), f"{u:g}", fill=black, font=font)
    draw.rectangle([left, top, width - right, height - bottom], outline=black)
    legend: list[tuple[str, tuple[int, int, int]]] = []
    for k, (name, ys) in enumerate(series.items()):
        colour = PALETTE[(k + 4) % len(PALETTE)] if k else (0, 114, 178)
        colour = (0, 0, 0) if colour == (255, 255, 255) else colour
        segment: list[tuple[float, float]] = []
        for u, v in zip(x, ys):
            if math.isfinite(v):
                segment.append(pixel(u, v))
            else:
                _line(draw, segment, colour)
                segment = []
        _line(draw, segment, colour)
        legend.append((f"-- {name}", colour))
    x_text = left
    if title:
        draw.text((left, 8), title, fill=black, font=font)
        x_text += draw.textlength(title, font=font) + 16
    for text, colour in legend:  # in the top margin, clear of the data
        draw.text((x_text, 8), text, fill=colour, font=font)
        x_text += draw.textlength(text, font=font) + 12
    if x_label:
        draw.text((width // 2 - 3 * len(x_label), height - 16), x_label, fill=black, font=font)
    if y_label:
        draw.text((4, top - 16), y_label, fill=black, font=font)
    return image


def _line(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]],
          colour: tuple[int, int, int]) -> None:
    if len(points) > 1:
        draw.line(points, fill=colour, width=2)
    for px, py in points:
        draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=colour)

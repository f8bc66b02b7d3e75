"""Whether a width or height has enough pixels and depth behind it to be stated.

A size is the distance between the two outermost measured points of an object along
a scene axis (``objects``). Two things make it short or long, both fixed by the range
z, and neither by a pixel count alone:

- **Pixel quantisation.** Points are lifted on a grid of step ``g`` pixels (stride 2
  at VGA); a silhouette's left and right edges lie 0 to ``g`` pixels beyond the
  outermost points, half a step on average, which the lift adds back (each point
  reaches out by half its cell across the image, ``objects``). What is left is the
  spread: two edges each within half a step either way, so a width is within 0.75
  steps for 94% of the edges' positions. A height's top is mostly a top face seen from
  above, whose height the row step does not shorten, and at most half a step when it
  is seen edge-on. A pixel at range z is ``z / f`` metres wide, so the error is
  ``q g z / f`` metres: a close small object spans many pixels and errs little, a
  far one few and errs much.
- **Depth noise.** A sensor's depth noise grows as sigma(z) = c z^2 (``DepthNoise``: c
  = 0.0015/m, 1.5 mm at 1 m; ``objects.estimate_depth_noise`` measures c per frame).
  Noise moves a point along its ray, so it moves it along a scene axis by sigma(z)
  times the ray's lean on that axis: lambda = |offset along the axis| / horizontal
  range (the ray's lateral slope for a width, its elevation slope for a height). Boxes
  pull each extreme point back by two sigmas before taking it (so noise does not
  stretch them); the few points on an edge reach out by about one sigma of that again,
  which leaves about ``sigma lambda`` per measured edge: ``2 sigma lambda`` for a
  width (measured: 1.8). A height is measured at its top only when the object rests on
  a support (``completion`` sets the base), so one edge: ``sigma lambda``.

The size's expected error is their sum,

    e = q g (z / f) + n sigma(z) lambda      (q = 0.75 width, 0.5 height; n = 2 width, 1 height)

and the size is stated when ``e <= TOLERANCE * size``: its expected error is within
the +-25% that a stated number promises. The gate reads it from what every object
carries, so answers and training data judge alike:

- ``z / f`` from the mask's pixel box: the measured width spans the ``roi width``
  pixels of the outermost points' cells;
- ``g`` from ``pixel_count / point_count`` (mask pixels per lifted point = g^2);
- sigma(z) from ``position_sigma_m`` = 0.005 + max(0.003, 2c) z^2 (``objects``): the
  package's own depth noise at that range (at least a Kinect's: exact depth is judged
  as if it had that noise);
- lambda from the centre's offset from the camera (1, the steepest, without a camera).

The constants were set on rendered rooms with the noise model (``bench_geometry``
rooms tidy_hidden, cluttered_hidden and cluttered, calibrate seeds 0-39, with the
service's camera): widths' errors fit +0.05 g (z/f) - 1.8 sigma lambda (least squares),
heights' +0.11 g (z/f) + 0.11 sigma lambda. Of the 1,649 widths these rooms give an object with
>= 200 pixels seen (and nothing hidden that leaves it open) these constants state 1,638,
99.76% within +-25%, against 1,496 (99.80%) with the constants used before the lift
added half a cell (q = 1.25, n = 3: the boxes' step shortfall counted as error); of
1,901 heights 1,837 (99.78%) against 1,765 (99.77%). Objects that carry no
mask footprint (a truth box; a box built by hand, whose pixel box holds under a quarter of
its pixel count) are not judged here: nothing about their pixels is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SIZE_AXES", "TOLERANCE", "SizeSupport", "size_support"]

#: A stated size promises to be within this fraction of the truth.
TOLERANCE = 0.25
#: Scene axis of each size (extent = depth x, width y, height z).
SIZE_AXES = {"width": 1, "height": 2}
#: Grid steps of error left in a size once the lift has added half a cell to each
#: side (see the module docstring): 95% of two edges' spread for a width, half a step
#: for a height's top.
_EDGE_STEPS = {"width": 0.75, "height": 0.5}
#: Noise sigmas (times the ray's lean) left in the size: about one per measured edge.
_NOISE_SIGMAS = {"width": 2.0, "height": 1.0}
#: ``position_sigma_m`` = this floor + twice the depth noise at the object's range.
_POSITION_FLOOR_M = 0.005


@dataclass(frozen=True)
class SizeSupport:
    """The support of one size: ``error_m`` its expected error, ``allowed_m`` the most
    the error may be (TOLERANCE x size), ``range_m`` the distance from the camera (NaN
    without one), ``span_px`` the pixels the size spans in the image."""

    size_m: float
    error_m: float
    allowed_m: float
    range_m: float
    span_px: float

    @property
    def supported(self) -> bool:
        return self.error_m <= self.allowed_m

    def sentence(self, name: str, size: str) -> str:
        """Why the size is not stated, with the range and what would be needed."""
        at = f" at {self.range_m:.1f} m" if math.isfinite(self.range_m) else ""
        return (f"{name} is too small in view{at} to state its {size}: it spans about "
                f"{self.span_px:.0f} pixels, and pixel size and depth noise there leave "
                f"{self.error_m * 100:.1f} cm of error on {self.size_m * 100:.1f} cm (more "
                f"than {TOLERANCE:.0%}); a closer view would settle it")


def _footprint(o: object) -> tuple[float, float] | None:
    """(mask box width px, grid step px), or None without a mask footprint."""
    roi = getattr(o, "roi_xyxy", None)
    pixels = int(getattr(o, "pixel_count", 0) or 0)
    points = int(getattr(o, "point_count", 0) or 0)
    if roi is None or pixels <= 0 or points <= 0:
        return None
    width_px, height_px = float(roi[2] - roi[0]), float(roi[3] - roi[1])
    # The box of a lifted mask is read on the lifting grid, so it can miss up to a step
    # on each side of a thin mask, never three quarters of its pixels: a box that small
    # is no mask's (built by hand).
    if 4.0 * width_px * height_px < pixels:
        return None
    return width_px, max(1.0, math.sqrt(pixels / points))


def size_support(o: object, size: str, camera_scene: np.ndarray | None = None
                 ) -> SizeSupport | None:
    """The support of ``o``'s ``size`` ("width" or "height"); None when ``o`` carries
    no mask footprint (see the module docstring)."""
    axis = SIZE_AXES[size]
    footprint = _footprint(o)
    if footprint is None:
        return None
    width_px, step_px = footprint
    extent = np.asarray(o.extent_scene, float)  # type: ignore[attr-defined]
    metres_per_px = float(extent[1]) / max(width_px, 1.0)
    sigma_m = max(float(o.position_sigma_m) - _POSITION_FLOOR_M, 0.0) / 2.0  # type: ignore[attr-defined]
    lean, range_m = 1.0, math.nan
    if camera_scene is not None:
        offset = np.asarray(o.center_scene, float) - np.asarray(camera_scene, float)  # type: ignore[attr-defined]
        range_m = float(np.linalg.norm(offset))
        horizontal = float(np.hypot(offset[0], offset[1]))
        lean = min(1.0, abs(float(offset[axis])) / horizontal) if horizontal > 0 else 1.0
    error = _EDGE_STEPS[size] * step_px * metres_per_px + _NOISE_SIGMAS[size] * sigma_m * lean
    size_m = float(extent[axis])
    span = width_px if size == "width" else size_m / metres_per_px if metres_per_px else 0.0
    return SizeSupport(size_m=size_m, error_m=error, allowed_m=TOLERANCE * size_m,
                       range_m=range_m, span_px=span)

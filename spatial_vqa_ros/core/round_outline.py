"""Round silhouettes: a ball's width hidden behind an occluder, from the arc that is seen.

A ball, an orange or a globe is round from every side: the lines of sight that graze
it form a circular cone from the camera (the silhouette is a circle on the sphere of
view directions; on the image, an ellipse stretched toward its edges). Where such an
object's left or right side runs behind a nearer one, the arc of its outline that is
seen still fixes that cone, and with it the ball. The prism prior (``seen_edges``)
cannot say this: a ball's widest row is the one most often hidden.

The rule, on the lift's strided grid, for an object with an occluded left or right
side (``hidden_parts.HiddenView.round_grown``):

- **one cone fits what is seen**: the view directions of the outline pixels seen
  against something farther (``outline``: not next to a nearer surface, not on the
  image border) make one angle with one axis (:func:`fit_cone`, linear and exact for
  a perspective camera), within ``max_rms_px`` (root mean square) and
  ``max_error_px`` (each pixel) on the grid, over an arc of at least ``min_arc_deg``
  around it, with a radius of at least ``min_radius_px``; a box's corners, a
  cylinder's straight sides and a book's edges do not fit;
- **the whole mask lies inside it** (within ``inside_slack_px``);
- **what the cone adds is hidden**: every grid pixel inside it but outside the mask
  belongs to another object that is not farther than the ball's rim, or has no
  depth; the floor, a wall or a farther object there would show the object if it
  were there, so the cone is not its silhouette.

Then the object is taken for the ball the cone grazes: the distance d to its centre
comes from the depths of its mask near the cone's axis (:func:`_inner_distance`; the
rim's depths, which learned depth blurs toward the wall behind, read a ball a third
too wide), its radius is
d sin(half-angle), and its box spans the ball across the image and in height, on
both sides (the lift's points fall short of a ball's extremes: its rim drops out as
flying pixels, and off the image's centre it turns away from the camera). Its depth
along the view keeps the far-side bound (``far_side``): a disc facing the camera is
round too. The outline pixels' centres lie inside the silhouette: the cone is widened
by half a grid step, as the lift's boxes are (``objects._box_extremes``).

Set on the calibrate seeds of the rendered rooms (``bench_geometry``, seeds 0-39,
noise model): the spheres' seen outlines fit with 0.18-0.34 grid pixels root mean
square (95% under 0.28), the nearest cylinder 0.40 and box 0.35 (with a 1.05-pixel
worst pixel); a die of 3.5-4 pixels passed as a disc before ``min_radius_px``. The
64 occluded objects so completed in the four room kinds were all spheres, their
widths +0.5% off at the median and at most 12.3%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .scene_frame import SceneFrame


@dataclass(frozen=True)
class RoundRule:
    """How closely the seen outline must follow one cone (grid pixels, degrees)."""

    max_rms_px: float = 0.35
    max_error_px: float = 0.9
    min_arc_deg: float = 150.0
    min_points: int = 12
    #: Smaller cones are not told from a square on the grid: a square's corners stand
    #: 0.3 of its half side off its circle, under ``max_error_px`` below 3 pixels.
    min_radius_px: float = 5.0
    #: Mask pixels may lie this far outside the cone (pixel centres lie half a pixel
    #: inside the silhouette; plus the mask's quantisation).
    inside_slack_px: float = 1.0
    #: Pixels this close inside the cone's edge are not checked for being hidden.
    rim_px: float = 1.0
    #: The ball's distance is read from its mask pixels within this share of its
    #: half-angle of the axis, away from the rim that learned depth blurs.
    inner_share: float = 0.6


@dataclass(frozen=True)
class Round:
    """A round silhouette, as the ball it is: the cone's axis (unit, camera frame), its
    half-angle [rad] (to the silhouette, half a grid step beyond the outline pixels'
    centres) and the distance [m] to the ball's centre along it."""

    axis_cam: np.ndarray
    half_angle_rad: float
    distance_m: float

    @property
    def radius_m(self) -> float:
        return self.distance_m * math.sin(self.half_angle_rad)

    def center_scene(self, scene: SceneFrame) -> np.ndarray:
        return scene.to_scene((self.distance_m * self.axis_cam)[None])[0]


def _inner_distance(mask: np.ndarray, window: tuple[slice, slice], *, depth: np.ndarray,
                    grid_rays: np.ndarray, axis: np.ndarray, half_angle_rad: float,
                    rule: RoundRule) -> float:
    """The distance to the ball's centre from the depths of its mask pixels within
    ``inner_share`` of its half-angle of the axis (:func:`_ball_distance`): not the
    outline's, which learned depth blurs toward what lies behind the ball (a 3-pixel
    blur read a ball 33% wide from its rim); NaN with fewer than ``min_points``.
    ``mask``: the object's pixels in ``window`` of the grid."""
    r, c = np.nonzero(mask)
    flat = (r + window[0].start) * depth.shape[1] + (c + window[1].start)
    rays = grid_rays[flat].astype(np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", rays, rays))
    cos_off_axis = rays @ axis / norms
    inner = cos_off_axis >= math.cos(rule.inner_share * half_angle_rad)
    ranges = depth.ravel()[flat[inner]] * norms[inner]
    if np.count_nonzero(np.isfinite(ranges)) < rule.min_points:
        return math.nan
    return _ball_distance(ranges, cos_off_axis[inner], half_angle_rad)


def _ball_distance(ranges_m: np.ndarray, cos_off_axis: np.ndarray, half_angle_rad: float
                   ) -> float:
    """The distance d to the centre of a ball seen within ``half_angle_rad`` of its
    axis, from the ranges of pixels at their angles b off that axis: a ray at b meets
    the ball at d (cos b - sqrt(sin^2 a - sin^2 b)); the median over the pixels with a
    depth, NaN with none."""
    sin_b2 = 1.0 - np.clip(cos_off_axis, -1.0, 1.0) ** 2
    factor = cos_off_axis - np.sqrt(np.maximum(math.sin(half_angle_rad) ** 2 - sin_b2, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        distances = ranges_m / factor
    distances = distances[np.isfinite(distances) & (factor > 0)]
    return float(np.median(distances)) if distances.size else math.nan


def fit_cone(directions: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The unit axis c and half-angle a of the cone through unit view directions u_i
    (least squares on u_i . v = 1, v = c / cos a: linear, and exact for a perspective
    camera; solved by its 3 x 3 normal equations, a few dozen directions per object);
    None when the directions fix no cone."""
    v = _solve3(directions.T @ directions, directions.sum(axis=0))
    if v is None:  # collinear directions
        return None
    norm = math.sqrt(float(v @ v))
    if not math.isfinite(norm) or norm <= 1.0:
        return None
    return v / norm, math.acos(1.0 / norm)


def _solve3(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """x with a x = b for a 3 x 3 ``a`` (Cramer's rule on Python floats: a tenth of
    ``np.linalg.solve``'s call cost); None when ``a`` is singular."""
    (a00, a01, a02), (a10, a11, a12), (a20, a21, a22) = a.tolist()
    b0, b1, b2 = b.tolist()
    c0, c1, c2 = a11 * a22 - a12 * a21, a12 * a20 - a10 * a22, a10 * a21 - a11 * a20
    det = a00 * c0 + a01 * c1 + a02 * c2
    scale = max(abs(a00), abs(a11), abs(a22)) ** 3
    if not det or abs(det) <= 1e-15 * scale:
        return None
    x0 = b0 * c0 + a01 * (b2 * a12 - b1 * a22) + a02 * (b1 * a21 - b2 * a11)
    x1 = a00 * (b1 * a22 - b2 * a12) + b0 * c1 + a02 * (b2 * a10 - b1 * a20)
    x2 = a00 * (b2 * a11 - b1 * a21) + a01 * (b1 * a20 - b2 * a10) + b0 * c2
    return np.array([x0, x1, x2]) / det


def _arc_deg(directions: np.ndarray, axis: np.ndarray) -> float:
    """The angle the directions cover around the axis: 360 less the widest gap."""
    ax, ay, az = (float(a) for a in axis)
    # e1 = axis x (1, 0, 0) (or x (0, 1, 0) near that axis), e2 = axis x e1
    e1 = (0.0, az, -ay) if abs(ax) < 0.9 else (-az, 0.0, ax)
    scale = math.hypot(*e1)
    e1 = (e1[0] / scale, e1[1] / scale, e1[2] / scale)
    e2 = (ay * e1[2] - az * e1[1], az * e1[0] - ax * e1[2], ax * e1[1] - ay * e1[0])
    angles = np.sort(np.arctan2(directions @ np.array(e2), directions @ np.array(e1)))
    gaps = np.diff(angles, append=angles[0] + 2.0 * math.pi)
    return math.degrees(2.0 * math.pi - float(gaps.max()))


def _linear_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and offset of the least-squares line y = slope x + offset (flat, through
    the mean, when the x do not spread)."""
    x_mean, y_mean = float(x.mean()), float(y.mean())
    dx = x - x_mean
    spread = float(dx @ dx)
    slope = float(dx @ (y - y_mean)) / spread if spread > 0.0 else 0.0
    return slope, y_mean - slope * x_mean


def round_silhouette(label: int, crop: tuple[slice, slice], seg: np.ndarray,
                     depth: np.ndarray, *, hidden_label: np.ndarray, grid_rays: np.ndarray,
                     rad_per_px: float, rule: RoundRule = RoundRule()) -> Round | None:
    """The object's round silhouette (see the module docstring), or None when it has
    none. ``seg``/``depth``: the (h, w) grid; ``hidden_label``: (h * w,) the label of
    each occluded or border outline pixel (``outline.GridAnalysis``); ``grid_rays``:
    (h * w, 3) each grid pixel's ray (x/z, y/z, 1); ``rad_per_px``: the angle of one
    grid step at the image centre."""
    height, width = seg.shape
    rows = slice(max(crop[0].start - 1, 0), min(crop[0].stop + 1, height))
    cols = slice(max(crop[1].start - 1, 0), min(crop[1].stop + 1, width))
    mask = seg[rows, cols] == label
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    r, c = np.nonzero(mask & ~inner)
    flat = (r + rows.start) * width + (c + cols.start)
    flat = flat[hidden_label[flat] != label]  # the seen outline
    if flat.size < rule.min_points:
        return None
    rays = grid_rays[flat].astype(np.float64)
    directions = rays / np.linalg.norm(rays, axis=1, keepdims=True)
    cone = fit_cone(directions)
    if cone is None:
        return None
    axis, angle = cone
    if angle / rad_per_px < rule.min_radius_px:
        return None
    error_px = (np.arccos(np.clip(directions @ axis, -1.0, 1.0)) - angle) / rad_per_px
    if (math.sqrt(float(np.mean(error_px ** 2))) > rule.max_rms_px
            or float(np.abs(error_px).max()) > rule.max_error_px
            or _arc_deg(directions, axis) < rule.min_arc_deg):
        return None
    widened = angle + 0.5 * rad_per_px
    distance = _inner_distance(mask, (rows, cols), depth=depth, grid_rays=grid_rays,
                               axis=axis, half_angle_rad=widened, rule=rule)
    if not math.isfinite(distance):
        return None
    found = Round(axis, widened, distance)
    window = _window(crop, found, flat, rays, rad_per_px=rad_per_px, grid_shape=seg.shape)
    return found if _hidden_where_added(label, found, window, seg=seg, depth=depth,
                                        grid_rays=grid_rays, rad_per_px=rad_per_px,
                                        rule=rule) else None


#: A ball's silhouette on the image is its circle stretched toward the image's edges by
#: up to 1 / cos^2 of its angle off the optical axis: 1.6 at 38 degrees, beyond a VGA
#: camera's corners.
_STRETCH = 1.6


def _window(crop: tuple[slice, slice], found: Round, flat: np.ndarray, rays: np.ndarray,
            *, rad_per_px: float, grid_shape: tuple[int, int]) -> tuple[slice, slice]:
    """The grid window holding the mask (``crop``) and the cone's silhouette: around the
    pixel of the cone's axis (columns and rows are linear in the rays' x/z and y/z near
    the object: fitted on the outline pixels ``flat``, with ``rays``), its radius
    stretched by ``_STRETCH``, and two pixels."""
    height, width = grid_shape
    half = _STRETCH * found.half_angle_rad / rad_per_px + 2.0
    rows, cols = crop
    axis = found.axis_cam
    bounds = []
    for coordinate, along, extent in ((flat % width, 0, width), (flat // width, 1, height)):
        slope, offset = _linear_fit(rays[:, along], coordinate.astype(np.float64))
        middle = slope * axis[along] / axis[2] + offset
        bounds.append((max(math.floor(middle - half), 0), min(math.ceil(middle + half) + 1,
                                                              extent)))
    (col0, col1), (row0, row1) = bounds
    return (slice(min(rows.start, row0), max(rows.stop, row1)),
            slice(min(cols.start, col0), max(cols.stop, col1)))


def _hidden_where_added(label: int, found: Round, window: tuple[slice, slice], *,
                        seg: np.ndarray, depth: np.ndarray, grid_rays: np.ndarray,
                        rad_per_px: float, rule: RoundRule) -> bool:
    """Whether the mask lies inside the cone and every grid pixel of ``window`` (the
    mask's and the cone's, ``_window``) that the cone adds is one that another
    object may hide; False when the cone reaches the image border (what it adds there
    cannot be checked)."""
    height, width = seg.shape
    grid_rows, grid_cols = np.mgrid[window]
    flat = (grid_rows * width + grid_cols).ravel()
    rays = grid_rays[flat].astype(np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", rays, rays))
    with np.errstate(invalid="ignore"):
        off_px = (np.arccos(np.clip(rays @ found.axis_cam / norms, -1.0, 1.0))
                  - found.half_angle_rad) / rad_per_px
    on_border = ((grid_rows == 0) | (grid_rows == height - 1) | (grid_cols == 0)
                 | (grid_cols == width - 1)).ravel()
    if (on_border & (off_px <= 0.0)).any():
        return False
    labels = seg.ravel()[flat]
    own = labels == label
    if (own & ~(off_px <= rule.inside_slack_px - 0.5)).any():
        return False
    added = (off_px <= -rule.rim_px) & ~own
    with np.errstate(invalid="ignore"):
        farther = (depth.ravel()[flat[added]] * norms[added]
                   > found.distance_m * math.cos(found.half_angle_rad))
    return bool(((labels[added] > 0) & ~farther).all())

"""Every quantity and predicate of DESIGN.md, as one table, with ambiguity margins.

One definition serves answers, rewards, training data and ground-truth scoring.
The scene frame has x forward, y left, z up, so:
left/right compare centre y, above/below centre z, behind/in front centre x
(farther from the camera = behind), and tall/wide/big compare height (z extent),
width (y extent) and box volume.

A predicate is ``"unclear"`` when the difference is within the margin: the noise
of the estimates plus a floor, so a relation is only asserted when the estimate
could not plausibly have it the other way round.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from scipy.spatial import cKDTree

Truth = Literal["true", "false", "unclear"]


class Boxed(Protocol):
    """What relations need of an object: a box in the scene frame and its noise."""

    center_scene: np.ndarray  # (3,) metres
    extent_scene: np.ndarray  # (3,) metres: depth (x), width (y), height (z)
    position_sigma_m: float
    partial: bool


@dataclass(frozen=True)
class Margins:
    """Ambiguity margins. A difference must exceed them to be asserted. With them, the
    gate's one freshness limit: they travel together to every caller of the gate."""

    #: Position differences: this floor plus ``sigmas`` x the combined 1-sigma noise.
    position_m: float = 0.03
    sigmas: float = 2.0
    #: Size differences: the larger of this and ``size_rel`` x the larger size.
    size_m: float = 0.03
    size_rel: float = 0.10
    #: Volumes: relative difference below this is unclear.
    volume_rel: float = 0.40
    #: An object whose latest mask a tracker carried longer than this since its last
    #: detection is not stated about (it may have drifted) [s]; 0 = no limit.
    max_detection_age_s: float = 2.0


@dataclass(frozen=True)
class Relation:
    """One row of the relation table."""

    name: str
    kind: Literal["measure", "predicate"]
    #: Subject only (width, height) or subject and object.
    binary: bool
    #: Needs a floor (an "up" direction) to mean anything.
    needs_floor: bool
    #: Reads the objects' sizes, which are not facts for partial objects.
    uses_size: bool
    unit: str = "m"


def position_margin_m(a: Boxed, b: Boxed, margins: Margins) -> float:
    """The noise a difference of two positions must exceed to be a fact [m]: a floor
    plus ``sigmas`` x the combined 1-sigma position noise of the two estimates."""
    return margins.position_m + margins.sigmas * math.hypot(a.position_sigma_m,
                                                            b.position_sigma_m)


def direct_distance(a: Boxed, b: Boxed) -> float:
    return float(np.linalg.norm(a.center_scene - b.center_scene))


def horizontal_distance(a: Boxed, b: Boxed) -> float:
    return float(np.linalg.norm((a.center_scene - b.center_scene)[:2]))


def vertical_distance(a: Boxed, b: Boxed) -> float:
    return float(abs(a.center_scene[2] - b.center_scene[2]))


def width(a: Boxed) -> float:
    return float(a.extent_scene[1])


def height(a: Boxed) -> float:
    return float(a.extent_scene[2])


def volume(a: Boxed) -> float:
    return float(np.prod(a.extent_scene))


@dataclass(frozen=True)
class _Indexed:
    """A point set's k-d tree and bounding box (both cost more than a gap query)."""

    tree: cKDTree
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def of(cls, points: np.ndarray) -> _Indexed:
        return cls(cKDTree(points), points.min(axis=0), points.max(axis=0))


class KDTreeCache:
    """k-d trees of point arrays, built once per array.

    Snapshot arrays never change, so a service answering many reward calls about the
    same objects builds each tree once. The array is kept with its tree, so its id
    cannot be reused by another array while cached. Thread-safe.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._trees: OrderedDict[int, tuple[np.ndarray, _Indexed]] = OrderedDict()
        self._lock = threading.Lock()

    def tree(self, points: np.ndarray) -> cKDTree:
        return self.indexed(points).tree

    def indexed(self, points: np.ndarray) -> _Indexed:
        key = id(points)
        with self._lock:
            hit = self._trees.get(key)
            if hit is not None and hit[0] is points:
                self._trees.move_to_end(key)
                return hit[1]
        indexed = _Indexed.of(points)
        with self._lock:
            self._trees[key] = (points, indexed)
            while len(self._trees) > self._size:
                self._trees.popitem(last=False)
        return indexed


def gap_distance(points_a: np.ndarray, points_b: np.ndarray,
                 cache: KDTreeCache | None = None) -> float:
    """Closest distance between two (N, 3) point sets [m]; 0 would mean touching."""
    if points_a.shape[0] == 0 or points_b.shape[0] == 0:
        return float("nan")
    small, large = sorted((points_a, points_b), key=len)
    indexed = cache.indexed(large) if cache is not None else _Indexed.of(large)
    tree, lo, hi = indexed.tree, indexed.lo, indexed.hi
    # Branch and bound, exact: a point's distance to the large set's bounding box is a
    # lower bound of its distance to the set. The few points with the smallest bounds
    # give an upper bound; only points whose lower bound beats it are queried.
    lower = np.linalg.norm(np.maximum(np.maximum(lo - small, small - hi), 0.0), axis=1)
    k = min(16, small.shape[0])
    seeds = np.argpartition(lower, k - 1)[:k]
    best = float(tree.query(small[seeds], k=1)[0].min())
    rest = small[lower < best]
    if rest.shape[0]:
        distances, _ = tree.query(rest, k=1, distance_upper_bound=best)
        best = min(best, float(distances.min()))
    return best


@dataclass(frozen=True)
class Direction:
    """Bearing of B seen from A, in the floor plane, camera heading = straight ahead."""

    #: Counter-clockwise from straight ahead, (-180, 180]: +90 = left, -90 = right.
    bearing_deg: float
    #: 12 = straight ahead, 3 = right, 6 = behind, 9 = left.
    clock: int


def direction(a: Boxed, b: Boxed, heading_deg: float = 0.0) -> Direction:
    """Where ``b`` is seen from ``a``: 12 o'clock along ``heading_deg`` (counter-clockwise
    from the scene's x axis: 0 is the camera's heading; a robot frame's own heading for
    a frame subject), 9 o'clock to the left."""
    dx, dy = (b.center_scene - a.center_scene)[:2]
    if heading_deg:  # the offset in the heading's axes: atan2 keeps (-180, 180]
        c, s = math.cos(math.radians(heading_deg)), math.sin(math.radians(heading_deg))
        dx, dy = c * dx + s * dy, -s * dx + c * dy
    bearing = math.degrees(math.atan2(dy, dx))
    clock = round(-bearing / 30.0) % 12
    return Direction(bearing_deg=bearing, clock=12 if clock == 0 else clock)


def clock_difference(a: int, b: int) -> int:
    """Hours between two clock positions, the short way round (0..6)."""
    d = abs(a - b) % 12
    return min(d, 12 - d)


# Predicates: (signed difference function, margin function). Positive difference =
# the predicate holds.
def _size_margin(axis: int) -> Callable[[Boxed, Boxed, Margins], float]:
    def margin(a: Boxed, b: Boxed, m: Margins) -> float:
        larger = max(a.extent_scene[axis], b.extent_scene[axis])
        return max(m.size_m, m.size_rel * larger)
    return margin


def _volume_margin(a: Boxed, b: Boxed, m: Margins) -> float:
    return m.volume_rel * max(volume(a), volume(b))


def _centre_diff(axis: int, sign: float) -> Callable[[Boxed, Boxed], float]:
    return lambda a, b: sign * float(a.center_scene[axis] - b.center_scene[axis])


def _extent_diff(axis: int, sign: float) -> Callable[[Boxed, Boxed], float]:
    return lambda a, b: sign * float(a.extent_scene[axis] - b.extent_scene[axis])


def _volume_diff(sign: float) -> Callable[[Boxed, Boxed], float]:
    return lambda a, b: sign * (volume(a) - volume(b))


def _camera_distance_diff(camera_scene: np.ndarray) -> Callable[[Boxed, Boxed], float]:
    return lambda a, b: float(np.linalg.norm(b.center_scene - camera_scene)
                              - np.linalg.norm(a.center_scene - camera_scene))


_X, _Y, _Z = 0, 1, 2
PREDICATES: dict[str, tuple[Callable[[Boxed, Boxed], float],
                            Callable[[Boxed, Boxed, Margins], float], bool, bool]] = {
    # name: (difference, margin, needs_floor, uses_size)
    "left_of": (_centre_diff(_Y, +1), position_margin_m, False, False),
    "right_of": (_centre_diff(_Y, -1), position_margin_m, False, False),
    "above": (_centre_diff(_Z, +1), position_margin_m, True, False),
    "below": (_centre_diff(_Z, -1), position_margin_m, True, False),
    "behind": (_centre_diff(_X, +1), position_margin_m, False, False),
    "in_front_of": (_centre_diff(_X, -1), position_margin_m, False, False),
    "taller": (_extent_diff(_Z, +1), _size_margin(_Z), True, True),
    "shorter": (_extent_diff(_Z, -1), _size_margin(_Z), True, True),
    "wider": (_extent_diff(_Y, +1), _size_margin(_Y), False, True),
    "thinner": (_extent_diff(_Y, -1), _size_margin(_Y), False, True),
    "bigger": (_volume_diff(+1), _volume_margin, False, True),
    "smaller": (_volume_diff(-1), _volume_margin, False, True),
}

MEASURES: dict[str, tuple[Callable[..., float], bool, bool, bool]] = {
    # name: (function, binary, needs_floor, uses_size)
    "distance": (direct_distance, True, False, False),
    "horizontal_distance": (horizontal_distance, True, True, False),
    "vertical_distance": (vertical_distance, True, True, False),
    "width": (width, False, False, True),
    "height": (height, False, True, True),
}

RELATIONS: dict[str, Relation] = {
    **{name: Relation(name, "predicate", True, nf, us, "")
       for name, (_, _, nf, us) in PREDICATES.items()},
    **{name: Relation(name, "measure", binary, nf, us, "m")
       for name, (_, binary, nf, us) in MEASURES.items()},
    "direction": Relation("direction", "measure", True, True, False, "o'clock"),
    "closer_to_camera": Relation("closer_to_camera", "predicate", True, False, False, ""),
}


def evaluate_predicate(name: str, a: Boxed, b: Boxed, margins: Margins = Margins(),
                       camera_scene: np.ndarray | None = None) -> tuple[Truth, float, float]:
    """(truth, signed difference, margin) of predicate ``name`` for subject a, object b."""
    if name == "closer_to_camera":
        cam = np.zeros(3) if camera_scene is None else camera_scene
        diff = _camera_distance_diff(cam)(a, b)
        margin = position_margin_m(a, b, margins)
    else:
        difference, margin_fn, _, _ = PREDICATES[name]
        diff = difference(a, b)
        margin = margin_fn(a, b, margins)
    if not (math.isfinite(diff) and math.isfinite(margin)):
        return "unclear", diff, margin
    if abs(diff) <= margin:
        return "unclear", diff, margin
    return ("true" if diff > 0 else "false"), diff, margin


def evaluate_measure(name: str, a: Boxed, b: Boxed | None = None) -> float:
    function, binary, _, _ = MEASURES[name]
    return function(a, b) if binary else function(a)

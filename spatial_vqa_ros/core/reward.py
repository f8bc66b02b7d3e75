"""Dense metric distance rewards between two things in view.

A side is a tracked object (by label, description or id), an image region (the
valid depth points inside a RegionOfInterest, region-aware like SpatialRGPT's
fingertip/cube boxes), or a robot frame placed by forward kinematics (its origin;
:mod:`.robot_frames`). Distance is the *gap* (closest points, 0 when touching)
or the distance between box centres. Shaping turns it into a reward; a side that
is not localised makes the reward invalid (NaN), never a made-up number.

:class:`RewardSession` holds what a reward needs across calls (the previous distance
of each pair, for ``progress``; the k-d trees of snapshot point sets) and decides
``reached``: the node's service and stream, and the benchmarks, all step it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .capture import Capture
from .errors import CoreError, UnknownObjectError
from .objects import depth_continuous_pieces
from .relations import KDTreeCache, gap_distance
from .robot_frames import FramePoint, TransformError, is_frame_name, resolve_frame
from .scene_frame import SceneFrame
from .scene_graph import SceneGraph

SHAPINGS = ("negative_distance", "exponential", "progress")
DISTANCE_KINDS = ("gap", "center")


@dataclass(frozen=True)
class RegionPoints:
    """Points of an image region, lifted to the scene frame: (N, 3) float32."""

    name: str
    points_scene: np.ndarray

    @property
    def center_scene(self) -> np.ndarray:
        lo, hi = self.points_scene.min(axis=0), self.points_scene.max(axis=0)
        return ((lo + hi) / 2).astype(np.float64)


def region_points(capture: Capture, scene: SceneFrame,
                  roi_xywh: tuple[int, int, int, int], min_points: int = 10) -> RegionPoints:
    """Lift the valid depth inside an (x, y, w, h) region; keep its main surface.

    A region drawn around a fingertip also holds background; keeping the largest
    depth-continuous component (and anything as near as it) selects the thing the
    region was drawn around, which is in front.
    """
    x, y, w, h = (int(v) for v in roi_xywh)
    height, width = capture.depth_m.shape
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise CoreError(f"region x={x} y={y} w={w} h={h} is empty or outside the "
                        f"{width}x{height} image")
    rows, cols = slice(y, y + h), slice(x, x + w)
    stride = max(1, int(math.sqrt(w * h / 4000)))
    sub = (slice(None, None, stride), slice(None, None, stride))
    depth = capture.depth_m[rows, cols][sub]
    valid = np.isfinite(depth)
    if valid.sum() < min_points:
        raise CoreError(f"region x={x} y={y} w={w} h={h} has {int(valid.sum())} valid depth "
                        f"pixels (need {min_points})")
    threshold = 0.02 + 0.04 * np.nan_to_num(depth) * stride
    pieces, count = depth_continuous_pieces(depth, valid, threshold)
    if count == 0:
        raise CoreError(f"region x={x} y={y} w={w} h={h} has no smooth surface")
    sizes = np.bincount(pieces.ravel(), minlength=count + 1)[1:]
    mean_depth = ndimage.mean(depth, pieces, index=np.arange(1, count + 1))
    big = sizes >= max(min_points, 0.1 * sizes.max())
    nearest = int(np.argmin(np.where(big, mean_depth, np.inf))) + 1
    keep = pieces == nearest
    z = depth[keep]
    rays = capture.camera.rays()[rows, cols][sub][keep]
    points = scene.to_scene((rays * z[:, None]).astype(np.float32))
    return RegionPoints(f"roi:{x},{y},{w},{h}", points[np.isfinite(points).all(axis=1)])


def distance_between(a_points: np.ndarray, a_center: np.ndarray, b_points: np.ndarray,
                     b_center: np.ndarray, *, kind: str, cache: KDTreeCache | None = None
                     ) -> float:
    if kind == "gap":
        return gap_distance(a_points, b_points, cache)
    if kind == "center":
        return float(np.linalg.norm(a_center - b_center))
    raise CoreError(f"distance kind must be one of {DISTANCE_KINDS}, got {kind!r}")


def shape_reward(distance_m: float, settings: RewardSettings,
                 previous_distance_m: float | None) -> float:
    """Reward for a distance under ``settings.shaping`` (see :class:`RewardSettings`).
    ``progress`` is potential-based: gain_per_m * (d_prev - d)."""
    if not math.isfinite(distance_m):
        return float("nan")
    shaping = settings.shaping
    if shaping == "negative_distance":
        return -settings.gain_per_m * distance_m
    if shaping == "exponential":
        return math.exp(-distance_m / settings.length_m)
    if shaping == "progress":
        if previous_distance_m is None or not math.isfinite(previous_distance_m):
            return 0.0
        return settings.gain_per_m * (previous_distance_m - distance_m)
    raise CoreError(f"shaping must be one of {SHAPINGS}, got {shaping!r}")


DEFAULT_SUCCESS_THRESHOLD_M = 0.02


@dataclass(frozen=True)
class RewardSide:
    """One end of a reward: what it is called across frames, and its points.

    ``key`` names the *thing*, not its words: ``#<track id>`` for an object (its
    description may be reassigned as others come and go), ``roi:x,y,w,h`` for an
    image region. ``points_scene``: (N, 3) float32; ``center_scene``: (3,) metres.
    """

    key: str
    description: str
    points_scene: np.ndarray
    center_scene: np.ndarray


def object_side(graph: SceneGraph, name: str) -> RewardSide:
    """The side of a named object (label, description or ``#id``) in view now: its seen
    points and the volume behind them within its box (``SceneGraph.surface_points``:
    a gripper touching a face the camera cannot see is at gap 0, not at the distance to
    the nearest seen edge).

    Raises UnknownObjectError for a name the graph does not resolve and CoreError for
    an object not seen in the latest frame (its points are of an older view).
    """
    obj = graph.find(name)
    if not obj.visible:
        raise CoreError(f"{obj.description} is not in view in the latest frame")
    return RewardSide(f"#{obj.id}", obj.description, graph.surface_points(obj),
                      obj.center_scene)


def frame_side(point: FramePoint) -> RewardSide:
    """The side of a robot frame: its origin, one exact point (see ``robot_frames``)."""
    return RewardSide(f"tf:{point.frame_id}", point.frame_id,
                      point.point_scene[None].astype(np.float32), point.point_scene)


def named_side(graph: SceneGraph, name: str,
               frames: Mapping[str, FramePoint] | None = None) -> RewardSide:
    """An object by name, or a robot frame: "tf:tool0" is always the frame; a plain
    name that no object has is looked up among ``frames``."""
    frames = frames or {}
    if is_frame_name(name):
        point = resolve_frame(frames, name)
        if point is None:
            raise TransformError(f"no transform for {name[3:]!r} at this frame's stamp "
                                 f"(frames available: {', '.join(sorted(frames)) or 'none'})")
        return frame_side(point)
    try:
        return object_side(graph, name)
    except UnknownObjectError:
        point = resolve_frame(frames, name)
        if point is None:
            raise
        return frame_side(point)


def region_side(capture: Capture | None, scene: SceneFrame | None,
                roi_xywh: tuple[int, int, int, int]) -> RewardSide:
    """The side of an image region of the latest capture (see :func:`region_points`)."""
    if capture is None or scene is None:
        raise CoreError("no frame processed yet: an image region cannot be lifted")
    region = region_points(capture, scene, roi_xywh)
    return RewardSide(region.name, region.name, region.points_scene, region.center_scene)


def request_side(graph: SceneGraph, capture: Capture | None, scene: SceneFrame | None, *,
                 label: str = "", object_id: int = -1,
                 roi_xywh: tuple[int, int, int, int] = (0, 0, 0, 0), frame_id: str = "",
                 frames: Mapping[str, FramePoint] | None = None) -> RewardSide:
    """The side a request names by exactly one of: label, id (>= 0), a region (width
    and height > 0), or a robot frame (``frame_id``, placed in ``frames``), as
    ComputeReward.srv allows."""
    has_roi = roi_xywh[2] > 0 and roi_xywh[3] > 0
    given = [bool(label), object_id >= 0, has_roi, bool(frame_id.strip())]
    if sum(given) != 1:
        raise CoreError("name each side by exactly one of: label, id (>= 0), roi "
                        "(width and height > 0), or a robot frame")
    if has_roi:
        return region_side(capture, scene, roi_xywh)
    if frame_id.strip():
        return named_side(graph, f"tf:{frame_id.strip()}", frames)
    return object_side(graph, label if label else f"#{object_id}")


@dataclass(frozen=True)
class RewardSettings:
    """How a distance becomes a reward.

    ``gain_per_m`` [1/m] is the reward per metre of ``negative_distance`` (r = -gain * d)
    and ``progress`` (r = gain * (d_prev - d)); ``length_m`` [m] is the decay length of
    ``exponential`` (r = exp(-d / length)). Each shaping reads only its own field. The
    service request and the node's parameters carry one ``scale`` whose unit depends on
    the shaping: :meth:`from_scale` is the one place that maps it.
    ``success_threshold_m`` <= 0 means :data:`DEFAULT_SUCCESS_THRESHOLD_M`.
    """

    distance_kind: str = "gap"
    shaping: str = "negative_distance"
    gain_per_m: float = 1.0
    length_m: float = 1.0
    success_threshold_m: float = DEFAULT_SUCCESS_THRESHOLD_M

    def __post_init__(self) -> None:
        # 0 is the message's unset value, so it means the default; anything else that is
        # not a positive finite number would be silently replaced: refused instead
        _check_message_number("success_threshold_m", self.success_threshold_m)
        for name in ("gain_per_m", "length_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise CoreError(f"{name} must be a finite number > 0, got {value}")
        if self.distance_kind not in DISTANCE_KINDS:
            raise CoreError(f"distance_kind must be one of {DISTANCE_KINDS}, got "
                            f"{self.distance_kind!r}")
        if self.shaping not in SHAPINGS:
            raise CoreError(f"shaping must be one of {SHAPINGS}, got {self.shaping!r}")

    @classmethod
    def from_scale(cls, distance_kind: str, shaping: str, scale: float,
                   success_threshold_m: float = DEFAULT_SUCCESS_THRESHOLD_M
                   ) -> RewardSettings:
        """Settings from the ``scale`` of ComputeReward.srv and the ``reward_scale``
        parameter: 1/m for negative_distance and progress (``gain_per_m``), m for
        exponential (``length_m``); 0, the message's unset value, means 1.0."""
        _check_message_number("scale", scale)
        scale = scale if scale > 0 else 1.0
        if shaping == "exponential":
            return cls(distance_kind, shaping, length_m=scale,
                       success_threshold_m=success_threshold_m)
        return cls(distance_kind, shaping, gain_per_m=scale,
                   success_threshold_m=success_threshold_m)

    @property
    def threshold_m(self) -> float:
        return (self.success_threshold_m if self.success_threshold_m > 0
                else DEFAULT_SUCCESS_THRESHOLD_M)


def _check_message_number(name: str, value: float) -> None:
    """A message number where 0 means the default: refuse what is not finite and >= 0."""
    if not (math.isfinite(value) and value >= 0):
        raise CoreError(f"{name} must be a finite number >= 0 (0 = the default), got {value}")


@dataclass(frozen=True)
class RewardResult:
    """One reward step. ``valid`` is False (and the numbers NaN) when a side is not
    localised; ``progress_m`` = previous distance - distance (0 on a pair's first step)."""

    source: str
    target: str
    distance_m: float
    reward: float
    progress_m: float
    reached: bool
    valid: bool

    @classmethod
    def invalid(cls, source: str, target: str) -> RewardResult:
        nan = float("nan")
        return cls(source, target, nan, nan, 0.0, False, False)


class RewardSession:
    """Rewards across calls: each pair's previous distance, and the k-d tree cache.

    Memory is keyed by the sides' keys (track ids, regions) and the distance kind, and
    bounded (the least recently stepped pairs are forgotten first). ``channel``
    separates memories that must not mix: the stream's progress is not a service
    caller's. Thread-safe: services and the frame worker step one session.
    """

    def __init__(self, max_pairs: int = 1000) -> None:
        self._max_pairs = max_pairs
        self._previous: OrderedDict[tuple[str, str, str, str], float] = OrderedDict()
        self._lock = threading.Lock()
        self.trees = KDTreeCache()

    def step(self, source: RewardSide, target: RewardSide, settings: RewardSettings,
             channel: str = "") -> RewardResult:
        """Distance, reward, progress and ``reached`` for source -> target now.

        Raises CoreError when a side has no valid 3D point (no made-up distance), and when
        both sides are the same thing: its distance to itself is 0, a false ``reached``.
        """
        if source.key == target.key:
            raise CoreError(f"source and target are the same thing ({source.description}): "
                            "name two different objects or regions")
        distance = distance_between(source.points_scene, source.center_scene,
                                    target.points_scene, target.center_scene,
                                    kind=settings.distance_kind, cache=self.trees)
        if not math.isfinite(distance):
            raise CoreError("one side has no valid 3D points")
        previous = self._remember((channel, source.key, target.key, settings.distance_kind),
                                  distance)
        reward = shape_reward(distance, settings, previous)
        progress = previous - distance if previous is not None else 0.0
        return RewardResult(source.description, target.description, distance, reward,
                            progress, distance <= settings.threshold_m, True)

    def stream_step(self, graph: SceneGraph, source: str, target: str,
                    settings: RewardSettings,
                    frames: Mapping[str, FramePoint] | None = None) -> RewardResult:
        """A step of a configured stream pair (objects, or robot frames placed in
        ``frames``): invalid (never an error) while either end is unknown, out of view,
        without points or without a transform, so the stream keeps its rate."""
        try:
            return self.step(named_side(graph, source, frames),
                             named_side(graph, target, frames), settings, channel="stream")
        except (UnknownObjectError, CoreError):
            return RewardResult.invalid(source, target)

    def _remember(self, key: tuple[str, str, str, str], distance: float) -> float | None:
        with self._lock:
            previous = self._previous.pop(key, None)
            self._previous[key] = distance
            while len(self._previous) > self._max_pairs:
                self._previous.popitem(last=False)
            return previous


__all__ = ["DISTANCE_KINDS", "SHAPINGS", "RegionPoints", "RewardResult", "RewardSession",
           "RewardSettings", "RewardSide", "distance_between", "frame_side", "named_side",
           "object_side", "region_points", "request_side", "shape_reward"]

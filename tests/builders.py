"""Builders shared by the tests: scene-graph objects with chosen boxes and noise.

Plain functions, not fixtures, so parametrised tests can build many variants; the
tests directory is on ``sys.path`` (pytest's rootdir conftest), so test modules
import them as ``from builders import est, graph_of``.
"""

from __future__ import annotations

import numpy as np

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.core.capture import Capture, Observations
from spatial_vqa_ros.core.objects import ObjectConfig, ObjectEstimate, lift_objects
from spatial_vqa_ros.core.scene_frame import scene_frame_from_floor
from spatial_vqa_ros.core.scene_graph import SceneGraph, SceneGraphTracker

#: A camera 1 m above the floor, pitched down about 26 degrees.
SCENE = scene_frame_from_floor(np.array([0.0, -0.9, -0.436]) / np.linalg.norm([0, -0.9, -0.436]),
                               1.0)


def est(label: str, center, extent=(0.2, 0.2, 0.2), *, partial: bool = False,
        sigma: float = 0.005, score: float = 0.9) -> ObjectEstimate:
    """A localised estimate with the box ``center`` / ``extent`` in the scene frame."""
    c = np.array(center, float)
    return ObjectEstimate(
        index=0, label=label, score=score, source_id=0, center_scene=c,
        extent_scene=np.array(extent, float), points_scene=c[None].astype(np.float32),
        roi_xyxy=(0, 0, 1, 1), pixel_count=500, point_count=400, localised=True,
        partial=partial, cut_by_border=False, occluded_outline=0.0, occluded_bottom=0.0,
        position_sigma_m=sigma)


def ns(seconds: float) -> int:
    """Seconds as the integer nanoseconds that stamps are."""
    return round(seconds * 1e9)


def graph_of(*estimates: ObjectEstimate, scene=SCENE, stamp_ns: int = 0) -> SceneGraph:
    """The snapshot a fresh tracker makes of ``estimates`` (unique descriptions)."""
    return SceneGraphTracker().update(list(estimates), scene, stamp_ns, "camera_floor")


def board_frame(object_depth: np.ndarray, board: np.ndarray, camera: CameraIntrinsics, *,
                board_m: float = 2.0, wall_m: float = 5.0) -> tuple[Capture, Observations]:
    """A wall at ``wall_m``, an object (label 1, at ``object_depth`` where that is
    finite) and a nearer board (label 2, at ``board_m`` over the mask ``board``)."""
    depth = np.full(object_depth.shape, wall_m)
    seg = np.zeros(object_depth.shape, np.int32)
    on = np.isfinite(object_depth)
    depth[on], seg[on] = object_depth[on], 1
    depth[board], seg[board] = board_m, 2
    capture = Capture(np.zeros((*depth.shape, 3), np.uint8), depth.astype(np.float32), camera)
    obs = Observations(seg, ("object", "board"), np.ones(2, np.float32), np.array([1, 2]))
    return capture, obs


def lift_first(capture: Capture, obs: Observations, **config) -> ObjectEstimate:
    """The first object lifted on every pixel, by a camera 1.5 m above the floor
    pitched down 30 degrees; ``config``: ``ObjectConfig`` fields."""
    tilt = np.radians(30.0)
    scene = scene_frame_from_floor(np.array([0.0, -np.cos(tilt), -np.sin(tilt)]), 1.5)
    return lift_objects(capture, obs, scene, ObjectConfig(stride=1, **config))[0]


def opens(e: ObjectEstimate, direction: tuple[float, float, float],
          cause: str = "occluded") -> bool:
    """Whether ``e`` carries the hidden ``direction`` (a scene axis) for ``cause``."""
    return any(tuple(d) == direction and c == cause
               for d, c in zip(e.hidden_directions, e.hidden_causes))

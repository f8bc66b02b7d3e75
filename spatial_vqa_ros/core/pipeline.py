"""One frame through the geometry: floor, objects, single-view completion, scene graph.

This is the whole core as one call, shared by the live node, the bag tools and the
benchmarks, so all of them compute the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .capture import Capture, Observations
from .completion import CompletionConfig, complete_objects
from .errors import CoreError
from .floor import FloorConfig, FloorTracker, checked_rigid_transform
from .objects import ObjectConfig, ObjectEstimate, lift_objects
from .scene_frame import SceneFrame, camera_from_scene
from .scene_graph import SceneGraph, SceneGraphTracker, TrackerConfig

#: Background pixels are sampled on this grid for the floor fit.
_BACKGROUND_STRIDE = 4


@dataclass(frozen=True)
class PipelineConfig:
    floor: FloorConfig = field(default_factory=FloorConfig)
    objects: ObjectConfig = field(default_factory=ObjectConfig)
    completion: CompletionConfig = field(default_factory=CompletionConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    #: Frame id of the scene frame; empty = derived from the camera ("<camera>_floor").
    scene_frame_id: str = ""


@dataclass(frozen=True)
class FrameResult:
    """What one frame produced: its scene frame, per-object estimates, and the graph."""

    scene: SceneFrame
    estimates: tuple[ObjectEstimate, ...]
    graph: SceneGraph
    warnings: tuple[str, ...] = ()


def scene_frame_id_for(camera_frame_id: str) -> str:
    """``camera_color_optical_frame`` -> ``camera_floor`` (DESIGN: ``<camera>_floor``)."""
    base = camera_frame_id or "camera"
    for suffix in ("_color_optical_frame", "_rgb_optical_frame", "_optical_frame", "_link",
                   "_frame"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return f"{base}_floor"


def background_points(capture: Capture, obs: Observations, stride: int = _BACKGROUND_STRIDE
                      ) -> np.ndarray:
    """(N, 3) camera-frame points of valid-depth pixels not on any object, on a grid."""
    sub = (slice(None, None, stride), slice(None, None, stride))
    depth = capture.depth_m[sub]
    keep = (obs.segmentation[sub] == 0) & np.isfinite(depth)
    return capture.camera.rays()[sub][keep] * depth[keep][:, None]


#: How far beyond an object's far side the view must reach to count as seeing through
#: the place it was [m] (depth noise and the object's own size stay inside it).
SEEN_EMPTY_MARGIN_M = 0.15


def free_space_check(capture: Capture, scene: SceneFrame, margin_m: float = SEEN_EMPTY_MARGIN_M
                     ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Whether this frame shows empty space where remembered objects were.

    A point (with a radius: the object's half size) is *seen empty* when it projects
    inside the image, in front of the camera, and the measured depth around that pixel
    (median of a 5 x 5 window, at least half of it valid) lies beyond the point by more
    than radius + ``margin_m``: the camera looked through the place. Nearer depth is an
    occluder (unknown: kept), no valid depth is unknown too, and a point out of the
    image is simply not in view. Absence alone never removes a remembered object.
    """
    depth = capture.depth_m
    height, width = depth.shape

    def check(points_scene: np.ndarray, radii: np.ndarray) -> np.ndarray:
        points_cam = scene.to_camera(np.asarray(points_scene, np.float32)).astype(np.float64)
        empty = np.zeros(len(points_cam), bool)
        front = points_cam[:, 2] > 0.1
        if not front.any():
            return empty
        uv = np.full((len(points_cam), 2), -1.0)
        uv[front] = capture.camera.project(points_cam[front])
        for k in np.flatnonzero(front):
            u, v = (int(np.rint(c)) for c in uv[k])
            if not (2 <= u < width - 2 and 2 <= v < height - 2):
                continue
            window = depth[v - 2:v + 3, u - 2:u + 3]
            valid = window[np.isfinite(window)]
            if valid.size < window.size / 2:
                continue
            empty[k] = float(np.median(valid)) > points_cam[k, 2] + radii[k] + margin_m
        return empty

    return check


class ScenePipeline:
    """Stateful per camera stream (floor smoothing, tracking). One writer thread."""

    def __init__(self, config: PipelineConfig = PipelineConfig()) -> None:
        self.config = config
        self.floor = FloorTracker(config.floor)
        self.tracker = SceneGraphTracker(config.tracker)
        #: The last frame's camera pose, which carries the floor to the next frame.
        self._last_world_from_camera: np.ndarray | None = None

    def reset(self) -> None:
        self.floor.reset()
        self.tracker.reset()
        self._last_world_from_camera = None

    def process(self, capture: Capture, obs: Observations,
                world_from_camera: np.ndarray | None = None) -> FrameResult:
        """Run one frame. ``world_from_camera`` (4x4): the camera optical frame's pose in
        a fixed world frame (odometry), when known; see SceneGraphTracker.update."""
        if obs.segmentation.shape != capture.depth_m.shape:
            raise CoreError(f"segmentation {obs.segmentation.shape} and depth "
                            f"{capture.depth_m.shape} differ in size")
        warnings = list(obs.warnings)
        last = self.tracker.snapshot.stamp_ns
        if last and capture.stamp_ns < last:
            # time ran backwards (a bag looped, a simulator reset): start afresh, or
            # tracks would never age out
            self.reset()
            warnings.append("the frame is older than the last one: scene graph reset")
        if capture.valid_depth_fraction == 0.0:
            warnings.append("the depth image has no valid pixel: nothing can be localised")
        scene = self.floor.update(background_points(capture, obs),
                                  self._camera_motion(world_from_camera))
        if not scene.floor_found:
            warnings.append("no floor found: using a camera-aligned frame; relations that "
                            "need 'up' are not available")
        estimates = lift_objects(capture, obs, scene, self.config.objects)
        estimates = complete_objects(estimates, scene, self.config.completion,
                                     max_extent_m=self.config.objects.max_object_extent_m)
        frame_id = self.config.scene_frame_id or scene_frame_id_for(capture.camera.frame_id)
        world_from_scene = None
        if world_from_camera is not None:
            world_from_scene = np.asarray(world_from_camera) @ camera_from_scene(scene)
        graph = self.tracker.update(estimates, scene, capture.stamp_ns, frame_id,
                                    camera_frame_id=capture.camera.frame_id,
                                    world_from_scene=world_from_scene,
                                    provenance=obs.provenance,
                                    seen_empty=(free_space_check(capture, scene)
                                                if world_from_scene is not None else None))
        return FrameResult(scene, tuple(estimates), graph, tuple(warnings))

    def _camera_motion(self, world_from_camera: np.ndarray | None) -> np.ndarray | None:
        """previous_from_current from this frame's pose and the last one's; None when
        either is unknown (a frame without a pose breaks the chain)."""
        last = self._last_world_from_camera
        self._last_world_from_camera = current = (
            None if world_from_camera is None
            else checked_rigid_transform(world_from_camera, "world_from_camera"))
        if last is None or current is None:
            return None
        inverse = np.eye(4)
        inverse[:3, :3] = last[:3, :3].T
        inverse[:3, 3] = -last[:3, :3].T @ last[:3, 3]
        return inverse @ current

"""Rendered sequences as tracker input: frames, true masks and the tracker's IoU."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from spatial_vqa_ros.perception.types import SensorInputs, TrackingFrame
from spatial_vqa_ros.synthetic.bags import synthetic_scenes
from spatial_vqa_ros.synthetic.render import DepthNoise, RenderedFrame, render
from spatial_vqa_ros.synthetic.scenes import SyntheticScene

PERIOD_NS = 66_666_667  # 15 Hz


@dataclass(frozen=True)
class Sequence:
    rendered: tuple[RenderedFrame, ...]
    scenes: tuple[SyntheticScene, ...]

    def frame(self, k: int, *, pose: bool = True) -> TrackingFrame:
        r = self.rendered[k]
        return TrackingFrame(SensorInputs(r.rgb, r.camera, r.depth_m), r.depth_m,
                             k * PERIOD_NS, world_from_camera(self.scenes[k]) if pose else None)

    def truth(self, k: int, ids: np.ndarray) -> np.ndarray:
        """(N, H, W) bool: each id's pixels on frame k."""
        return self.rendered[k].instance_ids[None] == np.asarray(ids)[:, None, None]

    def ids_seen(self, k: int, min_pixels: int = 100) -> np.ndarray:
        ids, counts = np.unique(self.rendered[k].instance_ids, return_counts=True)
        return ids[(ids != 0) & (counts >= min_pixels)].astype(np.int64)


def world_from_camera(scene: SyntheticScene) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, :3] = scene.pose.rotation_world_from_cam
    pose[:3, 3] = scene.pose.position_world
    return pose


@lru_cache(maxsize=4)
def rendered(kind: str, frames: int, seed: int, size_wh: tuple[int, int] = (320, 240)
             ) -> Sequence:
    """A Kinect-like noisy recording of ``kind`` (sequence: a moving camera in a static
    room; approach: a static camera, a gripper moving onto a cube)."""
    scenes = synthetic_scenes(kind, frames, seed=seed, width=size_wh[0], height=size_wh[1])
    rng = np.random.default_rng(seed)
    return Sequence(tuple(render(s, DepthNoise(), rng) for s in scenes), tuple(scenes))


def iou(masks: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N,) intersection over union of two (N, H, W) stacks (1 where both are empty)."""
    inter = (masks & truth).reshape(len(masks), -1).sum(axis=1)
    union = (masks | truth).reshape(len(masks), -1).sum(axis=1)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)

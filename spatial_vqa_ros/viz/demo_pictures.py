"""The demo's pictures: what the node saw and measured, its map, and the reward curve.

Drawn from the node's own messages (its SceneGraph over DDS, its DistanceReward
stream) and the recorded rgb frame they were computed from, so a picture shows the
robot's understanding, not the simulator's truth; the truth appears only as the
reference curve of the reward plot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .overlay import OverlayItem, draw_overlay
from .plot import draw_series
from .topdown import MapObject, draw_topdown

__all__ = ["frame_of", "save_overlay", "save_reward_plot", "save_topdown"]


def frame_of(bag_path: Path, stamp_ns: int) -> Any:
    """The recorded frame with this stamp (or the nearest one), as a BagFrame."""
    from ..io.bags import BagFrameReader

    best, best_gap = None, None
    for frame in BagFrameReader(bag_path):
        gap = abs(frame.stamp_ns - stamp_ns)
        if best_gap is None or gap < best_gap:
            best, best_gap = frame, gap
        if gap == 0:
            break
    if best is None:
        raise ValueError(f"{bag_path} has no frames")
    return best


def _objects(graph_msg: Any) -> list[Any]:
    return [o for o in graph_msg.objects if getattr(o, "visible", True)]


def save_overlay(path: Path, rgb: np.ndarray, graph_msg: Any) -> Path:
    """Boxes (the node's regions of interest) and captions: the unique description and
    the distance from the camera."""
    camera = np.array([0.0, 0.0, float(graph_msg.camera_height)])
    items = []
    for o in _objects(graph_msg):
        roi = o.roi
        box = (roi.x_offset, roi.y_offset, roi.x_offset + roi.width,
               roi.y_offset + roi.height) if roi.width and roi.height else None
        centre = np.array([o.center.x, o.center.y, o.center.z])
        caption = f"{o.description}\n{np.linalg.norm(centre - camera):.2f} m away"
        items.append(OverlayItem(None, box, caption + ("\npartial" if o.partial else "")))
    draw_overlay(rgb, items, title="what the node measured").save(path)
    return path


def save_topdown(path: Path, graph_msg: Any, pairs: Sequence[tuple[str, str]] = (),
                 hfov_deg: float | None = None) -> Path:
    """The node's scene graph from above; ``pairs`` of descriptions get a distance."""
    objects = [MapObject(o.description, (o.center.x, o.center.y), (o.size.x, o.size.y),
                         bool(o.partial)) for o in _objects(graph_msg)]
    index = {o.name: k for k, o in enumerate(objects)}
    pair_indices = [(index[a], index[b]) for a, b in pairs if a in index and b in index]
    draw_topdown(objects, pairs=pair_indices, hfov_deg=hfov_deg,
                 title=f"scene graph from above ({graph_msg.header.frame_id}), 1 m grid"
                 ).save(path)
    return path


def save_reward_plot(path: Path, rows: Sequence[tuple[float, float, float]]) -> Path:
    """(true gap, estimated gap, reward) per frame of the approach."""
    x = list(range(len(rows)))
    draw_series(x, {"true gap [m]": [r[0] for r in rows],
                    "estimated gap [m]": [r[1] for r in rows],
                    "reward": [r[2] for r in rows]},
                x_label="frame of the approach", y_label="m / reward",
                title="gripper -> cube").save(path)
    return path


def hfov_of(camera: Any) -> float:
    """The horizontal field of view of intrinsics, degrees."""
    return math.degrees(2 * math.atan(camera.width / (2 * camera.fx)))

"""Builders shared by the tests: scene-graph objects with chosen boxes and noise.

Plain functions, not fixtures, so parametrised tests can build many variants; the
tests directory is on ``sys.path`` (pytest's rootdir conftest), so test modules
import them as ``from builders import est, graph_of``.
"""

from __future__ import annotations

import numpy as np

from spatial_vqa_ros.core.objects import ObjectEstimate
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

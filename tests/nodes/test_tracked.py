"""The node's tracked-mode glue: the fresh tracker that brings a keyframe's masks
forward shares the running tracker's loaded model where the family can (a learned
tracker's weights are not loaded again at every keyframe), and is built anew otherwise."""

from __future__ import annotations

from spatial_vqa_ros.nodes.config import SpatialNodeConfig
from spatial_vqa_ros.nodes.tracked import fresh_tracker
from spatial_vqa_ros.perception.trackers import DepthFlowTracker


class _SharedModel:
    """A tracker whose family offers ``for_camera`` (as sam2_video / sam3_tracker do)."""

    def __init__(self, model: object) -> None:
        self.model = model

    def for_camera(self) -> _SharedModel:
        return _SharedModel(self.model)


def test_a_fresh_tracker_shares_the_loaded_model_where_the_family_offers_it():
    running = _SharedModel(model=object())
    fresh = fresh_tracker(running, SpatialNodeConfig())
    assert fresh is not running and fresh.model is running.model


def test_a_tracker_without_a_model_is_built_anew():
    running = DepthFlowTracker()
    fresh = fresh_tracker(running, SpatialNodeConfig())
    assert isinstance(fresh, DepthFlowTracker) and fresh is not running

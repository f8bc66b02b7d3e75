"""What the two-rate chain says about each object reaches the core: the mask's source and
its detection's age ride on the observations into the scene graph, and a track the
tracker marks lost stops being visible."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from spatial_vqa_ros.core.gate import judge_in_graph
from spatial_vqa_ros.core.pipeline import ScenePipeline
from spatial_vqa_ros.core.relations import Margins
from spatial_vqa_ros.perception.live_chain import LiveChain, LiveConfig
from spatial_vqa_ros.perception.trackers.depth_flow import DepthFlowTracker
from spatial_vqa_ros.perception.types import TrackedMasks

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "trackers"))
from test_live_chain import EVERY_8, NEVER_AGAIN, chain_with, step
from tracking_support import PERIOD_NS, rendered, world_from_camera


def _process(pipeline: ScenePipeline, seq, k: int, result):
    return pipeline.process(result.capture, result.observations,
                            world_from_camera(seq.scenes[k]))


def test_each_frames_observations_and_graph_carry_the_mask_source_and_detection_age():
    seq = rendered("sequence", 10, 3)
    live = LiveChain(chain_with(), DepthFlowTracker(), LiveConfig(policy=EVERY_8))
    pipeline = ScenePipeline()
    for k in range(10):
        result = step(live, seq, k)
        obs = result.observations
        assert obs.mask_sources == tuple(o.origin for o in result.live.objects)
        np.testing.assert_array_equal(obs.detection_age_s,
                                      [o.detection_age_s for o in result.live.objects])
        graph = _process(pipeline, seq, k, result).graph
        seen = [o for o in graph.objects if o.visible]
        assert seen
        expected = ("detected", 0.0) if k % 8 == 0 else ("tracked", (k % 8) * PERIOD_NS * 1e-9)
        for o in seen:
            assert o.mask_source == expected[0]
            assert o.detection_age_s == pytest.approx(expected[1])
    # 1 s of tracking is within the default limit; a stricter one refuses it
    a, b = seen[:2]
    assert judge_in_graph(graph, "distance", a, b).reason != "stale"
    strict = Margins(max_detection_age_s=0.5 * seen[0].detection_age_s)
    assert judge_in_graph(graph, "distance", a, b, margins=strict).reason == "stale"


class _LosesOne(DepthFlowTracker):
    """depth_flow that marks one track lost from its ``from_call``-th track() on."""

    def __init__(self, from_call: int = 3) -> None:
        super().__init__()
        self.calls, self.from_call, self.lost_id = 0, from_call, None

    def track(self, frame) -> TrackedMasks:
        tracked = super().track(frame)
        self.calls += 1
        if self.calls < self.from_call:
            return tracked
        self.lost_id = int(tracked.ids[0]) if self.lost_id is None else self.lost_id
        lost = tracked.lost | (tracked.ids == self.lost_id)
        return replace(tracked, masks=tracked.masks & ~lost[:, None, None], lost=lost)


def test_a_track_the_tracker_marks_lost_stops_being_visible():
    seq = rendered("sequence", 6, 3)
    tracker = _LosesOne()
    live = LiveChain(chain_with(), tracker, LiveConfig(policy=NEVER_AGAIN))
    pipeline = ScenePipeline()
    graphs = []
    for k in range(6):
        result = step(live, seq, k)
        graphs.append(_process(pipeline, seq, k, result).graph)
        if tracker.lost_id is not None:
            assert tracker.lost_id in result.live.lost_ids
            assert tracker.lost_id not in result.observations.source_ids.tolist()
    first = {o.id for o in graphs[1].objects if o.visible}
    last = {o.id: o for o in graphs[-1].objects}
    hidden = [last[i] for i in first if not last[i].visible]
    assert len(hidden) == 1  # that one object, still remembered (a pose source), not seen
    assert hidden[0].mask_source == ""
    assert sum(o.visible for o in last.values()) == len(first) - 1

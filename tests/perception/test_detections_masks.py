"""Detections that carry instance masks (a family that returns masks from text, SAM 3):
validated like the rest, kept through every Detections operation, and used by the
serial chain and the two-rate chain's keyframes instead of calling the segmenter."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from spatial_vqa_ros.core.pipeline import ScenePipeline
from spatial_vqa_ros.perception.chain import PerceptionChain
from spatial_vqa_ros.perception.depth import SensorDepth
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.live_chain import LiveChain, LiveConfig
from spatial_vqa_ros.perception.simulation import SimulationDetector, SimulationSegmenter
from spatial_vqa_ros.perception.trackers.depth_flow import DepthFlowTracker
from spatial_vqa_ros.perception.types import Detections, SensorInputs

sys.path.insert(0, str(Path(__file__).parent / "trackers"))
from tracking_support import PERIOD_NS, rendered, world_from_camera


def _detections(n: int = 3, size_hw=(6, 8), masks: bool = True) -> Detections:
    xyxy = np.array([[0, 0, 4, 4], [-3, 1, 2, 5], [10, 10, 12, 12]], np.float32)[:n]
    stack = np.zeros((n, *size_hw), bool)
    for k in range(n):
        stack[k, k, k] = True  # each mask tells which detection it belongs to
    return Detections(xyxy, ("a", "b", "c")[:n], np.array([0.9, 0.8, 0.7], np.float32)[:n],
                      ("unicorn",), np.arange(1, n + 1, dtype=np.int64),
                      stack if masks else None)


@pytest.mark.parametrize(("masks", "message"), [
    (np.zeros((2, 6, 8), bool), r"must be \(3, H, W\) bool, one per box, got \(2, 6, 8\)"),
    (np.zeros((3, 6, 8), np.uint8), r"got \(3, 6, 8\) uint8"),
    (np.zeros((3, 6), bool), r"got \(3, 6\) bool"),
])
def test_masks_of_another_count_shape_or_dtype_are_refused(masks, message):
    with pytest.raises(PerceptionError, match=message):
        Detections(np.zeros((3, 4), np.float32), ("a", "b", "c"), np.ones(3, np.float32),
                   masks=masks)


def test_clipping_drops_the_masks_of_the_boxes_it_drops_and_keeps_the_others():
    clipped = _detections().clipped(8, 6)  # the third box lies outside the 8x6 image
    assert clipped.labels == ("a", "b") and clipped.masks.shape == (2, 6, 8)
    assert clipped.masks[0, 0, 0] and clipped.masks[1, 1, 1]
    np.testing.assert_array_equal(clipped.source_ids, [1, 2])
    np.testing.assert_array_equal(clipped.xyxy[1], [0, 1, 2, 5])
    assert clipped.unknown_prompts == ("unicorn",)


def test_clipping_refuses_masks_of_another_size_than_the_image():
    with pytest.raises(PerceptionError, match="detection masks are 8x6, the image 10x6"):
        _detections().clipped(10, 6)


def test_selecting_keeps_every_field_in_the_order_asked():
    picked = _detections().selected([2, 0])
    assert picked.labels == ("c", "a")
    np.testing.assert_array_equal(picked.scores, np.array([0.7, 0.9], np.float32))
    np.testing.assert_array_equal(picked.source_ids, [3, 1])
    assert picked.masks[0, 2, 2] and picked.masks[1, 0, 0]
    assert _detections(masks=False).selected([1]).masks is None
    assert len(_detections().selected([])) == 0


def test_selecting_an_index_out_of_range_is_refused():
    with pytest.raises(PerceptionError, match=r"within \[0, 3\), got \[3\]"):
        _detections().selected([3])


class MaskingDetector(SimulationDetector):
    """The simulation's boxes with masks of its own: each instance eroded by one pixel,
    so they differ from what the simulation segmenter would give."""

    name = "masking_double"
    masks_from_text = True

    def detect(self, inputs, prompts):
        found = super().detect(inputs, prompts)
        masks = np.stack([ndimage.binary_erosion(inputs.instance_ids == i)
                          for i in found.source_ids]) if len(found) else np.zeros(
            (0, *inputs.size_hw), bool)
        self.last_masks = masks
        return Detections(found.xyxy, found.labels, found.scores, found.unknown_prompts,
                          found.source_ids, masks)


class CountingSegmenter(SimulationSegmenter):
    name = "counting"

    def __init__(self):
        self.calls = 0

    def segment(self, inputs, xyxy, depth_m):
        self.calls += 1
        return super().segment(inputs, xyxy, depth_m)


def _inputs(seq, k: int) -> SensorInputs:
    r = seq.rendered[k]
    return SensorInputs(r.rgb, r.camera, r.depth_m, r.instance_ids, r.id_to_label)


def test_masks_from_the_detector_reach_the_observations_and_the_segmenter_is_never_called():
    seq = rendered("sequence", 1, 3)
    detector, segmenter = MaskingDetector(), CountingSegmenter()
    result = PerceptionChain(SensorDepth(), detector, segmenter).run(_inputs(seq, 0), ())
    assert len(result.observations) >= 3
    np.testing.assert_array_equal(result.observations.masks, detector.last_masks)
    assert segmenter.calls == 0 and "segment" not in result.timings_s
    assert result.provenance.detector == result.provenance.segmenter == "masking_double"
    graph = ScenePipeline().process(result.capture, result.observations).graph
    assert len(graph.objects) >= 3
    assert graph.provenance["segmenter"] == "masking_double"


def test_detections_without_masks_go_through_the_segmenter_as_before():
    seq = rendered("sequence", 1, 3)
    segmenter = CountingSegmenter()
    result = PerceptionChain(SensorDepth(), SimulationDetector(), segmenter).run(
        _inputs(seq, 0), ())
    assert segmenter.calls == 1 and "segment" in result.timings_s
    assert (result.provenance.detector, result.provenance.segmenter) == ("simulation",
                                                                        "counting")
    truth = seq.rendered[0].instance_ids[None] == result.observations.source_ids[:, None, None]
    np.testing.assert_array_equal(result.observations.masks, truth)


def test_detector_masks_of_the_wrong_size_fail_the_detect_stage_by_name():
    class WrongSize(MaskingDetector):
        def detect(self, inputs, prompts):
            found = super().detect(inputs, prompts)
            return Detections(found.xyxy, found.labels, found.scores,
                              masks=found.masks[:, :-1])

    seq = rendered("sequence", 1, 3)
    with pytest.raises(PerceptionError, match=r"detect \(masking_double\): detection masks "
                                              r"are 320x239, the image 320x240"):
        PerceptionChain(SensorDepth(), WrongSize(), CountingSegmenter()).run(_inputs(seq, 0), ())


def test_the_two_rate_chain_takes_keyframe_masks_from_the_detector_and_never_segments():
    seq = rendered("sequence", 9, 3)
    detector, segmenter = MaskingDetector(), CountingSegmenter()
    live = LiveChain(PerceptionChain(SensorDepth(), detector, segmenter), DepthFlowTracker(),
                     LiveConfig())
    keyframes = 0
    for k in range(9):
        result = live.step(_inputs(seq, k), (), k * PERIOD_NS, world_from_camera(seq.scenes[k]))
        assert result.provenance.segmenter == "masking_double"
        if result.live.keyframe:
            keyframes += 1
            masks = {int(i): m for i, m in zip(result.observations.source_ids,
                                               result.observations.masks)}
            # on a synchronous keyframe the objects are the detector's own masks
            assert sorted(m.sum() for m in masks.values()) == sorted(
                m.sum() for m in detector.last_masks if m.any())
    assert keyframes >= 1 and segmenter.calls == 0

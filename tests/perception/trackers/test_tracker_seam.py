"""The Tracker seam: validated types, init/update/drop/track semantics, the factory
table and plugins by path, and what families say they need (needs_instances)."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.factories import (
    PerceptionSpec,
    build_tracker,
    family_class,
    needs_instances,
)
from spatial_vqa_ros.perception.protocols import Tracker
from spatial_vqa_ros.perception.trackers import DepthFlowTracker
from spatial_vqa_ros.perception.types import SensorInputs, TrackedMasks, TrackingFrame
from spatial_vqa_ros.synthetic.doubles import SLOW_DETECTOR

H, W = 48, 64


def _frame(stamp_ns: int = 0, shift: int = 0, depth: bool = True) -> TrackingFrame:
    """A textured floor at 2 m with a square at 1 m, moved ``shift`` pixels right."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (H, W + 32, 3), np.uint8)
    texture = cv2.GaussianBlur(noise, (0, 0), 1.5)  # smooth enough for flow to lock on
    rgb = np.ascontiguousarray(texture[:, 16 - shift:16 - shift + W])
    depth_m = np.full((H, W), 2.0, np.float32)
    depth_m[10:30, 10 + shift:30 + shift] = 1.0
    return TrackingFrame(SensorInputs(rgb), depth_m if depth else None, stamp_ns)


def _square(shift: int = 0) -> np.ndarray:
    mask = np.zeros((1, H, W), bool)
    mask[0, 10:30, 10 + shift:30 + shift] = True
    return mask


def test_depth_flow_is_the_default_tracker_and_a_tracker():
    tracker = build_tracker(PerceptionSpec())
    assert isinstance(tracker, DepthFlowTracker) and isinstance(tracker, Tracker)
    assert tracker.name == "depth_flow"


def test_track_gives_objects_in_the_order_given_then_new_ids_of_update():
    tracker = DepthFlowTracker()
    tracker.init(_frame(0), np.concatenate([_square(), _square(20)]), np.array([7, 3]))
    tracker.update(_frame(0), _square(5), np.array([11]))
    out = tracker.track(_frame(1))
    assert out.ids.tolist() == [7, 3, 11] and out.masks.shape == (3, H, W)
    assert out.ids.dtype == np.int64 and out.confidence.dtype == np.float32


def test_update_corrects_a_known_id_and_revives_a_lost_one():
    tracker = DepthFlowTracker()
    tracker.init(_frame(0), _square(), np.array([1]))
    tracker.update(_frame(0), np.zeros((1, H, W), bool), np.array([1]))
    assert tracker.track(_frame(1)).lost.tolist() == [True]  # an empty mask is lost
    tracker.update(_frame(1), _square(), np.array([1]))
    out = tracker.result()
    assert out.lost.tolist() == [False] and (out.masks == _square()).all()
    assert out.confidence.tolist() == [1.0]


def test_update_on_a_new_frame_tracks_the_other_objects_onto_it_first():
    tracker = DepthFlowTracker()
    tracker.init(_frame(0), _square(), np.array([1]))
    tracker.update(_frame(1, shift=4), _square(20), np.array([2]))
    out = tracker.result()
    assert out.ids.tolist() == [1, 2]
    moved = _square(4)[0]
    assert (out.masks[0] & moved).sum() >= 0.9 * moved.sum()  # 1 followed the square


def test_drop_forgets_ids_and_ignores_unknown_ones():
    tracker = DepthFlowTracker()
    tracker.init(_frame(0), np.concatenate([_square(), _square(20)]), np.array([1, 2]))
    tracker.drop(np.array([1, 99]))
    assert tracker.track(_frame(1)).ids.tolist() == [2]


def test_init_starts_over_with_exactly_its_objects():
    tracker = DepthFlowTracker()
    tracker.init(_frame(0), np.concatenate([_square(), _square(20)]), np.array([1, 2]))
    tracker.init(_frame(5), _square(), np.array([9]))
    assert tracker.track(_frame(6)).ids.tolist() == [9]


def test_a_frame_already_seen_returns_the_state_unchanged():
    tracker = DepthFlowTracker()
    tracker.init(_frame(0), _square(), np.array([1]))
    out = tracker.track(_frame(0, shift=6))  # same stamp: not a new frame
    assert (out.masks == _square()).all() and out.confidence.tolist() == [1.0]


def test_a_square_moving_by_itself_is_followed_without_depth_or_pose():
    tracker = DepthFlowTracker()
    tracker.init(_frame(0, depth=False), _square(), np.array([1]))
    out = tracker.track(_frame(1, shift=3, depth=False))
    truth = _square(3)[0]
    assert (out.masks[0] & truth).sum() / (out.masks[0] | truth).sum() >= 0.8


@pytest.mark.parametrize("call,match", [
    (lambda t: t.track(_frame(1)), r"track\(\) before init\(\)"),
    (lambda t: t.init(_frame(0), np.zeros((2, H, W), bool), np.array([1])),
     r"masks must have shape \(1, 48, 64\) for 1 ids on a 64x48 frame, got \(2, 48, 64\)"),
    (lambda t: t.init(_frame(0), np.zeros((2, H, W), bool), np.array([1, 1])),
     r"ids must be unique, got \[1, 1\]"),
    (lambda t: t.init(_frame(0), np.zeros((1, H, W), bool), np.array([0.5])),
     r"ids must be \(N,\) integers"),
])
def test_bad_calls_are_refused_with_the_expected_shape(call, match):
    with pytest.raises(PerceptionError, match=match):
        call(DepthFlowTracker())


def test_a_frame_of_another_size_is_refused():
    tracker = DepthFlowTracker()
    tracker.init(_frame(0), _square(), np.array([1]))
    small = TrackingFrame(SensorInputs(np.zeros((24, 32, 3), np.uint8)), None, 1)
    with pytest.raises(PerceptionError, match=r"frame is \(24, 32\), the tracked objects' "
                       r"frame \(48, 64\)"):
        tracker.track(small)


@pytest.mark.parametrize("kwargs,match", [
    ({"depth_m": np.zeros((H, W - 1), np.float32)},
     r"depth_m must be \(48, 64\) float32 metres like its rgb, got \(48, 63\) float32"),
    ({"depth_m": np.zeros((H, W), np.float64)}, r"got \(48, 64\) float64"),
    ({"world_from_camera": np.eye(3)}, r"world_from_camera must have shape \(4, 4\), got "
                                       r"\(3, 3\)"),
    ({"world_from_camera": np.full((4, 4), np.nan)}, "finite rigid transform"),
    ({"stamp_ns": 1.5}, "stamp_ns must be an integer"),
])
def test_tracking_frames_are_validated(kwargs, match):
    values = {"inputs": SensorInputs(np.zeros((H, W, 3), np.uint8)), "depth_m": None,
              "stamp_ns": 0, **kwargs}
    with pytest.raises(PerceptionError, match=match):
        TrackingFrame(**values)


@pytest.mark.parametrize("field,value,match", [
    ("ids", np.zeros(2, np.int32), r"ids must be \(2,\) int64, got \(2,\) int32"),
    ("confidence", np.zeros(3, np.float32), r"confidence must be \(2,\) float32, got \(3,\)"),
    ("lost", np.zeros(2, np.int64), r"lost must be \(2,\) bool"),
    ("masks", np.zeros((3, H, W), bool), r"masks must be \(2, H, W\) bool, got \(3, 48, 64\)"),
    ("confidence", np.array([0.5, 1.5], np.float32), r"within \[0, 1\]"),
])
def test_tracked_masks_are_validated(field, value, match):
    values = {"ids": np.array([1, 2], np.int64), "masks": np.zeros((2, H, W), bool),
              "confidence": np.ones(2, np.float32), "lost": np.zeros(2, bool), field: value}
    with pytest.raises(PerceptionError, match=match):
        TrackedMasks(**values)


def test_a_lost_object_must_have_an_empty_mask():
    with pytest.raises(PerceptionError, match="a lost object's mask must be empty"):
        TrackedMasks(np.array([1], np.int64), np.ones((1, H, W), bool),
                     np.zeros(1, np.float32), np.ones(1, bool))


PLUGINS = """
calls = []


class Tracker:
    def __init__(self):
        calls.append("Tracker")

    def init(self, frame, masks, ids): ...
    def update(self, frame, masks, ids): ...
    def drop(self, ids): ...
    def track(self, frame): ...


class NoDrop:
    def __init__(self):
        calls.append("NoDrop")

    def init(self, frame, masks, ids): ...
    def update(self, frame, masks, ids): ...
    def track(self, frame): ...


def make_tracker():
    calls.append("make_tracker")


class InstanceSegmenter:
    needs_instances = True

    def __init__(self):
        calls.append("InstanceSegmenter")

    def segment(self, inputs, xyxy, depth_m): ...
"""


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """A module of candidate plugins, importable as ``tracker_plugins_21``."""
    (tmp_path / "tracker_plugins_21.py").write_text(PLUGINS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield __import__("tracker_plugins_21")
    sys.modules.pop("tracker_plugins_21", None)


def test_a_tracker_plugin_is_built_by_path(plugins):
    tracker = build_tracker(PerceptionSpec(tracker="tracker_plugins_21:Tracker"))
    assert type(tracker).__name__ == "Tracker" and plugins.calls == ["Tracker"]


@pytest.mark.parametrize("path,match", [
    ("tracker_plugins_21:NoDrop", r"tracker 'tracker_plugins_21:NoDrop' has no drop\(\) "
                                  "method"),
    ("tracker_plugins_21:make_tracker", r"is a function, not a class: a plugin is a class "
                                        r"whose instances have init\(\), update\(\), "
                                        r"drop\(\), track\(\)"),
])
def test_a_path_that_is_not_a_tracker_class_is_refused_without_calling_it(plugins, path,
                                                                         match):
    with pytest.raises(PerceptionError, match=match):
        build_tracker(PerceptionSpec(tracker=path))
    assert plugins.calls == []


def test_an_unknown_tracker_name_is_refused():
    with pytest.raises(ValueError, match=r"tracker must be one of \['depth_flow', "
                       r"'sam2_video', 'sam3_tracker'\]"):
        PerceptionSpec(tracker="sam9")


@pytest.mark.parametrize("fields,needed", [
    ({}, True),  # the simulation detector and segmenter
    ({"detector": SLOW_DETECTOR, "segmenter": "depth_box"}, True),  # a subclass of it
    ({"detector": "opencv_dnn", "segmenter": "depth_box"}, False),
    ({"detector": "owlv2", "segmenter": "sam2", "depth_estimator": "depth_anything"}, False),
])
def test_the_instance_image_is_needed_when_a_family_class_says_so(fields, needed):
    assert needs_instances(PerceptionSpec(**fields)) is needed


def test_a_plugin_says_it_needs_instances_without_being_constructed(plugins):
    spec = PerceptionSpec(detector="opencv_dnn",
                          segmenter="tracker_plugins_21:InstanceSegmenter")
    assert needs_instances(spec) is True and plugins.calls == []
    assert family_class("tracker", "depth_flow") is DepthFlowTracker


def test_a_plugin_that_cannot_load_needs_nothing_and_the_other_roles_still_answer():
    assert not needs_instances(PerceptionSpec(detector="no_such_package.mod:Detector",
                                              segmenter="depth_box"))
    assert needs_instances(PerceptionSpec(depth_estimator="no_such_package.mod:Depth",
                                          detector="opencv_dnn", segmenter="simulation"))
    with pytest.raises(PerceptionError, match="cannot be loaded: ModuleNotFoundError"):
        family_class("detector", "no_such_package.mod:Detector")  # the chain says why

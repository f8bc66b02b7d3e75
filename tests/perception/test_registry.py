"""Perception chains by name: registered families, and plugins named package.module:Class."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.perception.chain import PerceptionChain
from spatial_vqa_ros.perception.depth import SensorDepth
from spatial_vqa_ros.perception.depth_box import DepthBoxSegmenter
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.registry import PerceptionSpec, assumed_camera, build_chain
from spatial_vqa_ros.perception.simulation import SimulationDetector
from spatial_vqa_ros.synthetic.doubles import SLOW_DETECTOR, SlowSimulationDetector


def test_registered_names_make_their_stages():
    chain = build_chain(PerceptionSpec(segmenter="depth_box"))
    assert isinstance(chain, PerceptionChain)
    assert isinstance(chain.depth, SensorDepth)
    assert isinstance(chain.detector, SimulationDetector)
    assert isinstance(chain.segmenter, DepthBoxSegmenter)


def test_a_plugin_is_loaded_by_path(monkeypatch):
    monkeypatch.setenv("SPATIAL_VQA_SLOW_DETECTOR_S", "0.25")
    chain = build_chain(PerceptionSpec(detector=SLOW_DETECTOR))
    assert isinstance(chain.detector, SlowSimulationDetector) and chain.detector.delay_s == 0.25


@pytest.mark.parametrize("name", ["yolo", "", "module:", ":Class", "a b:C", "pkg.mod:1x"])
def test_names_that_are_neither_registered_nor_a_path_are_refused(name):
    with pytest.raises(ValueError, match="detector must be one of"):
        PerceptionSpec(detector=name)


def test_a_plugin_that_does_not_load_says_why():
    with pytest.raises(PerceptionError, match="cannot be loaded: No module named"):
        build_chain(PerceptionSpec(detector="no_such_package.backends:Detector"))
    with pytest.raises(PerceptionError, match="cannot be loaded"):
        build_chain(PerceptionSpec(segmenter="spatial_vqa_ros.synthetic.doubles:Nothing"))
    with pytest.raises(PerceptionError, match=r"has no segment\(\) method"):
        build_chain(PerceptionSpec(segmenter="collections:OrderedDict"))


def test_opencv_dnn_without_weights_says_what_to_set():
    with pytest.raises(PerceptionError, match="needs detector_model"):
        build_chain(PerceptionSpec(detector="opencv_dnn"))


def test_an_assumed_field_of_view_gives_a_centred_pinhole_camera():
    camera = assumed_camera(640, 480, 90.0)
    assert camera.fx == pytest.approx(320.0) and camera.fy == camera.fx
    assert (camera.cx, camera.cy) == (319.5, 239.5)
    chain = build_chain(PerceptionSpec(assumed_hfov_deg=60.0), size_wh=(640, 480))
    assert chain.fallback_camera[1] == "assumed_fov"

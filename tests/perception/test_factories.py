"""Perception chains by name: registered families, and plugins named package.module:Class."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.perception.chain import PerceptionChain
from spatial_vqa_ros.perception.depth import SensorDepth
from spatial_vqa_ros.perception.depth_box import DepthBoxSegmenter
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.factories import PerceptionSpec, assumed_camera, build_chain
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
    with pytest.raises(PerceptionError, match="cannot be loaded: ModuleNotFoundError: No "
                       "module named"):
        build_chain(PerceptionSpec(detector="no_such_package.backends:Detector"))
    with pytest.raises(PerceptionError, match="cannot be loaded"):
        build_chain(PerceptionSpec(segmenter="spatial_vqa_ros.synthetic.doubles:Nothing"))
    with pytest.raises(PerceptionError, match=r"has no segment\(\) method"):
        build_chain(PerceptionSpec(segmenter="collections:OrderedDict"))


PLUGINS = """
calls = []


def make_detector():
    calls.append("make_detector")


class Detector:
    def __init__(self):
        calls.append("Detector")

    def detect(self, inputs, prompts):
        return None


class NeedsCalibration:
    def __init__(self):
        raise RuntimeError("no calibration file at /etc/cam.yaml")

    def detect(self, inputs, prompts):
        return None


class Segmenter:
    def __init__(self):
        calls.append("Segmenter")

    def segment(self, inputs, xyxy, depth_m):
        return None
"""


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """A module of candidate plugins, importable as ``test_plugins_43``."""
    (tmp_path / "test_plugins_43.py").write_text(PLUGINS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield __import__("test_plugins_43")
    sys.modules.pop("test_plugins_43", None)


@pytest.mark.parametrize("path,match", [
    ("test_plugins_43:make_detector", "is a function, not a class"),
    ("test_plugins_43:Segmenter", r"has no detect\(\) method"),
    ("test_plugins_43:calls", "is a list, not a class"),
])
def test_a_path_that_is_not_a_detector_class_is_refused_without_calling_it(plugins, path,
                                                                          match):
    with pytest.raises(PerceptionError, match=match):
        build_chain(PerceptionSpec(detector=path))
    assert plugins.calls == []  # nothing named was called


def test_a_plugin_whose_constructor_raises_says_why(plugins):
    with pytest.raises(PerceptionError, match=r"detector 'test_plugins_43:NeedsCalibration' "
                       r"could not be constructed: RuntimeError: no calibration file"):
        build_chain(PerceptionSpec(detector="test_plugins_43:NeedsCalibration"))
    chain = build_chain(PerceptionSpec(detector="test_plugins_43:Detector"))
    assert type(chain.detector).__name__ == "Detector" and plugins.calls == ["Detector"]


@pytest.mark.parametrize("path,message", [
    ("os:system", "detector 'os:system' is a builtin_function_or_method, not a class"),
    ("os:getcwd", "detector 'os:getcwd' is a builtin_function_or_method, not a class"),
])
def test_perceive_with_a_function_as_detector_exits_2_with_the_reason(tmp_path, capsys, path,
                                                                     message):
    image = tmp_path / "image.png"
    _write_png(image)
    assert main(["perceive", str(image), "--out", str(tmp_path / "out"), "--detector",
                 path]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def _write_png(path):
    import numpy as np
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)


@pytest.mark.parametrize("family_field,family,flag,first", [
    ("depth_estimator", "depth_anything", "--depth-model",
     "depth_anything_v2_metric_indoor_small"),
    ("depth_estimator", "depth_pro", "--depth-model", "depth_pro"),
    ("detector", "owlv2", "--detector-model", "owlv2_base_ensemble"),
    ("detector", "grounding_dino", "--detector-model", "grounding_dino_tiny"),
    ("segmenter", "sam", "--segmenter-model", "sam_vit_base"),
    ("segmenter", "sam2", "--segmenter-model", "sam2_hiera_tiny"),
])
def test_a_family_without_a_model_names_the_option_and_a_registered_pull(family_field, family,
                                                                         flag, first):
    with pytest.raises(PerceptionError, match=rf"{family} needs a model: set {flag} \(node "
                       rf"parameter {flag[2:].replace('-', '_')}\) to a registry name, e.g. "
                       rf"{first}.*'spatial-vqa models pull {first}'"):
        build_chain(PerceptionSpec(**{family_field: family}))


def test_perceive_with_depth_anything_and_no_model_exits_2_naming_flag_and_pull(tmp_path,
                                                                                capsys):
    image = tmp_path / "image.png"
    _write_png(image)
    assert main(["perceive", str(image), "--out", str(tmp_path / "out"),
                 "--depth-estimator", "depth_anything"]) == 2
    err = capsys.readouterr().err
    assert "set --depth-model" in err
    assert "'spatial-vqa models pull depth_anything_v2_metric_indoor_small'" in err


@pytest.mark.parametrize("raised", [AttributeError("'list' object has no attribute 'get'"),
                                    RuntimeError("Error(s) in loading state_dict")])
def test_whatever_a_family_loader_lets_through_is_a_corrupt_snapshot(tmp_path, monkeypatch,
                                                                     raised):
    from spatial_vqa_ros.perception.families.owlv2.adapter import Owlv2Detector

    directory = tmp_path / "owlv2_base_ensemble"
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    (directory / "model.safetensors").write_bytes(b"x")

    def from_pretrained(*args, **kwargs):
        raise raised
    monkeypatch.setattr(Owlv2Detector, "from_pretrained", from_pretrained)
    with pytest.raises(PerceptionError, match=rf"the snapshot at {directory} is corrupt "
                       rf"\({type(raised).__name__}: .*\): run 'spatial-vqa models pull "
                       "owlv2_base_ensemble' again"):
        build_chain(PerceptionSpec(detector="owlv2", detector_model="owlv2_base_ensemble",
                                   models_dir=str(tmp_path), perception_device="cpu"))


def test_opencv_dnn_without_weights_says_what_to_set():
    with pytest.raises(PerceptionError, match="needs detector_model"):
        build_chain(PerceptionSpec(detector="opencv_dnn"))


def test_an_assumed_field_of_view_gives_a_centred_pinhole_camera():
    camera = assumed_camera(640, 480, 90.0)
    assert camera.fx == pytest.approx(320.0) and camera.fy == camera.fx
    assert (camera.cx, camera.cy) == (319.5, 239.5)
    chain = build_chain(PerceptionSpec(assumed_hfov_deg=60.0), size_wh=(640, 480))
    assert chain.fallback_camera[1] == "assumed_fov"


# --- field names: the node's parameters; the old ones still read ----------------------

#: A spec as ``asdict`` wrote it before its fields took the node's parameter names.
OLD_SPELLING = {"depth": "depth_anything", "detector": "owlv2", "segmenter": "sam2",
                "runtime": "onnxruntime", "device": "cpu", "score_threshold": 0.3,
                "depth_model": "da", "detector_model": "ow", "segmenter_model": "s2"}


def test_a_spec_written_with_the_old_field_names_reads_as_the_same_spec():
    spec = PerceptionSpec.from_dict(OLD_SPELLING)
    assert spec == PerceptionSpec(depth_estimator="depth_anything", detector="owlv2",
                                  segmenter="sam2", perception_runtime="onnxruntime",
                                  perception_device="cpu", detector_score_threshold=0.3,
                                  depth_model="da", detector_model="ow", segmenter_model="s2")
    assert PerceptionSpec.from_dict(dataclasses.asdict(spec)) == spec


def test_a_spec_naming_one_field_in_both_spellings_is_refused():
    with pytest.raises(ValueError, match="name both 'device' and 'perception_device'"):
        PerceptionSpec.from_dict({"device": "cpu", "perception_device": "cuda"})


def test_a_key_that_is_no_field_is_refused_as_by_the_constructor():
    with pytest.raises(TypeError, match="unexpected keyword argument 'detector_thresh'"):
        PerceptionSpec.from_dict({"detector_thresh": 0.3})


def test_a_bad_value_is_refused_naming_the_field_by_its_parameter_name():
    with pytest.raises(ValueError, match="perception_device must be auto, cpu"):
        PerceptionSpec(perception_device="gpu")
    with pytest.raises(ValueError, match="depth_estimator must be one of"):
        PerceptionSpec.from_dict({"depth": "lidar"})

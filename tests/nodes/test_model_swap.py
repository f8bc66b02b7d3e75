"""Model swaps without ROS: a new checkpoint swaps in on success; on failure the old model
stays and the parameters are set back; with unload_first, a previous model that cannot
be loaded back leaves a stand-in that fails every frame with the reason; a threshold
change reuses the loaded weights."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("cv2", reason="opencv-python-headless is not installed")
pytest.importorskip("onnx", reason="onnx (to write the tiny detectors) is not installed")

from tiny_detectors import BOTTLE, CHAIR, CUP, fixed_onnx

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.nodes.model_swap import ModelSwapper, with_threshold
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain
from spatial_vqa_ros.perception.types import SensorInputs

CAMERA = CameraIntrinsics(160, 120, 140.0, 140.0, 79.5, 59.5)


def inputs() -> SensorInputs:
    return SensorInputs(np.full((120, 160, 3), 90, np.uint8), CAMERA,
                        np.full((120, 160), 2.0, np.float32))


@pytest.fixture
def models(tmp_path):
    return {"a": str(fixed_onnx(tmp_path / "a.onnx", [CUP, CHAIR])),
            "b": str(fixed_onnx(tmp_path / "b.onnx", [BOTTLE])),
            "missing": str(tmp_path / "missing.onnx")}


class Recorder:
    def __init__(self) -> None:
        self.reverts: list[dict] = []
        self.logs: list[tuple[str, str]] = []

    def revert(self, values: dict) -> None:
        self.reverts.append(values)

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))


def swapper_on(model: str, recorder: Recorder) -> tuple[ModelSwapper, PerceptionSpec]:
    spec = PerceptionSpec(detector="opencv_dnn", segmenter="depth_box", detector_model=model)
    return ModelSwapper(build_chain(spec), spec, revert=recorder.revert,
                        log=recorder.log), spec


def settle(recorder: Recorder, count: int, timeout_s: float = 20.0) -> None:
    """Wait until the swapper logged ``count`` messages (a swap's outcome is logged)."""
    deadline = time.monotonic() + timeout_s
    while len(recorder.logs) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(recorder.logs) >= count, recorder.logs


@pytest.mark.parametrize("policy", ["beside", "unload_first"])
def test_a_good_checkpoint_swaps_in_and_a_bad_one_keeps_the_old(models, policy):
    recorder = Recorder()
    swapper, spec = swapper_on(models["a"], recorder)
    try:
        swapper.request(replace(spec, detector_model=models["b"]), policy)
        settle(recorder, 1)
        assert swapper.chain.detector.name == "opencv-dnn:b"
        assert swapper.running.detector_model == models["b"]
        assert swapper.chain.run(inputs(), ["bottle"]).detections.labels == ("bottle",)
        assert not swapper.status.failed and recorder.reverts == []

        swapper.request(replace(spec, detector_model=models["missing"]), policy)
        settle(recorder, 2)
        assert recorder.logs[-1][0] == "error"
        assert swapper.status.failed and "does not exist" in swapper.status.last
        assert swapper.chain.detector.name == "opencv-dnn:b"
        assert recorder.reverts == [{"detector_model": models["b"], "detector_config": ""}]
    finally:
        swapper.stop()


def test_unload_first_without_the_old_model_fails_frames_with_the_reason(models, tmp_path):
    recorder = Recorder()
    swapper, spec = swapper_on(models["a"], recorder)
    try:
        (tmp_path / "a.onnx").unlink()  # the running model's file is gone
        swapper.request(replace(spec, detector_model=models["missing"]), "unload_first")
        settle(recorder, 1)
        assert swapper.chain.detector.name == "unloaded detector"
        with pytest.raises(PerceptionError, match=r"no detector model: .*missing\.onnx.* "
                                                  r"failed .*could not be loaded back"):
            swapper.chain.run(inputs(), ["cup"])
        assert swapper.status.gap_s > 0
    finally:
        swapper.stop()


def test_a_threshold_change_reuses_the_loaded_weights(models):
    recorder = Recorder()
    swapper, spec = swapper_on(models["a"], recorder)
    try:
        before = swapper.chain.detector
        swapper.request(replace(spec, detector_score_threshold=0.7), "beside")
        settle(recorder, 1)
        after = swapper.chain.detector
        assert after is not before and after.net is before.net
        assert swapper.chain.run(inputs(), ["cup", "chair"]).detections.labels == ("chair",)
        assert with_threshold(after, 0.0).score_threshold == 0.5  # the family's default
    finally:
        swapper.stop()

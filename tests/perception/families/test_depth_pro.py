"""Depth Pro adapter: a tiny random model saved and loaded through the real loading
code; metric depth follows the reference post-processing from the model's own outputs,
CameraInfo's fx is used when there is one, the field-of-view head gives the camera (and
the chain marks it as the model's) when there is none, nonsense angles are refused, and
the adapter runs through the chain into a scene graph."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tiny_models import depth_pro_preprocessor_config, tiny_depth_pro  # noqa: E402

from spatial_vqa_ros.core.camera import CameraIntrinsics  # noqa: E402
from spatial_vqa_ros.core.pipeline import ScenePipeline  # noqa: E402
from spatial_vqa_ros.perception.chain import PerceptionChain  # noqa: E402
from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.depth_pro.adapter import (  # noqa: E402
    DepthProDepth,
    focal_from_fov,
    inverse_to_metres,
)
from spatial_vqa_ros.perception.families.processing import normalize_then_resize  # noqa: E402
from spatial_vqa_ros.perception.protocols import DepthEstimator  # noqa: E402
from spatial_vqa_ros.perception.simulation import (  # noqa: E402
    SimulationDetector,
    SimulationSegmenter,
)
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402
from spatial_vqa_ros.synthetic.scoring import render_case  # noqa: E402


@pytest.fixture(scope="module")
def estimator(depth_pro_dir):
    return DepthProDepth.from_pretrained(depth_pro_dir)


def frame(seed=0, size_hw=(45, 67), camera=None) -> SensorInputs:
    rng = np.random.default_rng(seed)
    return SensorInputs(rng.integers(0, 256, (*size_hw, 3), dtype=np.uint8), camera)


def model_outputs(estimator, inputs):
    pixels = normalize_then_resize(inputs.rgb, estimator.processing)
    with torch.inference_mode():
        out = estimator.model(pixel_values=pixels)
    return out.predicted_depth.numpy(), float(out.field_of_view[0])


def test_without_camera_info_the_head_gives_depth_and_an_estimated_camera(estimator):
    inputs = frame()
    result = estimator.estimate(inputs)
    assert isinstance(estimator, DepthEstimator)
    inverse, fov_deg = model_outputs(estimator, inputs)
    assert 50 < fov_deg < 70
    expected, focal_px = inverse_to_metres(inverse, (45, 67), fov_deg=fov_deg)
    assert result.intrinsics.fx == pytest.approx(focal_px)
    assert result.depth_m.shape == (45, 67) and result.depth_m.dtype == np.float32
    np.testing.assert_array_equal(result.depth_m, expected)
    assert np.nanstd(result.depth_m) > 0, "re-drawn weights should give varied depth"
    camera = result.intrinsics
    assert camera.fx == pytest.approx(0.5 * 67 / math.tan(math.radians(fov_deg) / 2))
    assert (camera.width, camera.height, camera.fy) == (67, 45, camera.fx)
    assert (camera.cx, camera.cy) == (33.0, 22.0)
    assert result.source == "model" and result.model_id == "depth-pro-tiny"


def test_camera_info_fx_is_used_instead_of_the_estimate(estimator):
    camera = CameraIntrinsics(67, 45, 80.0, 80.0, 33.0, 22.0)
    with_info = estimator.estimate(frame(1, camera=camera))
    without = estimator.estimate(frame(1))
    assert with_info.intrinsics is None
    # depth is proportional to fx: metres = fx / (W * inverse), away from the clamp at
    # 1e4 m where the random model's inverse depth is 0
    ratio = with_info.depth_m / without.depth_m
    valid = (with_info.depth_m < 1e3) & (without.depth_m < 1e3)
    assert valid.mean() > 0.5
    np.testing.assert_allclose(ratio[valid], 80.0 / without.intrinsics.fx, rtol=1e-5)


def test_the_chain_marks_the_estimated_intrinsics_as_the_models(estimator):
    _, rendered, _ = render_case(0)
    inputs = SensorInputs(rendered.rgb, None, None, rendered.instance_ids,
                          rendered.id_to_label)
    result = PerceptionChain(estimator, SimulationDetector(), SimulationSegmenter()).run(
        inputs, ())
    assert result.provenance.intrinsics_source == "model"
    assert result.capture.camera.fx == pytest.approx(
        estimator.estimate(inputs).intrinsics.fx)
    graph = ScenePipeline().process(result.capture, result.observations).graph
    assert graph.provenance["depth_model"] == "depth-pro-tiny"
    assert graph.provenance["intrinsics_source"] == "model"


@pytest.mark.parametrize("fov_deg", [-7.4, 0.5, 179.5, float("nan")])
def test_a_field_of_view_that_is_no_camera_is_refused(fov_deg):
    with pytest.raises(PerceptionError, match="not a camera"):
        focal_from_fov(640, fov_deg)


def test_a_model_without_the_head_needs_camera_info(tmp_path):
    path = tmp_path / "no-fov"
    tiny_depth_pro(fov_head=False).save_pretrained(path)
    (path / "preprocessor_config.json").write_text(json.dumps(depth_pro_preprocessor_config()))
    estimator = DepthProDepth.from_pretrained(path)
    with pytest.raises(PerceptionError, match="no field-of-view head.*CameraInfo"):
        estimator.estimate(frame())
    camera = CameraIntrinsics(67, 45, 80.0, 80.0, 33.0, 22.0)
    assert estimator.estimate(frame(camera=camera)).depth_m.shape == (45, 67)


def test_build_chain_builds_depth_pro_from_a_local_snapshot(depth_pro_dir):
    from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain

    chain = build_chain(PerceptionSpec(depth_estimator="depth_pro", depth_model=str(depth_pro_dir)))
    assert isinstance(chain.depth, DepthProDepth)


def test_missing_and_foreign_snapshots_say_what_to_do(tmp_path):
    with pytest.raises(PerceptionError, match="not found.*spatial-vqa models pull depth_pro'"):
        DepthProDepth.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "dpt"}))
    (tmp_path / "model.safetensors").write_bytes(b"x")
    with pytest.raises(PerceptionError, match="holds a 'dpt' model"):
        DepthProDepth.from_pretrained(tmp_path)

"""Depth Pro on ONNX Runtime: a tiny random Depth Pro (weights re-drawn) exported and
loaded back; inverse depth and field of view equal torch's within 1e-4 (relative), the
adapter's metres and estimated camera equal the torch adapter's at two camera sizes,
and a missing or stale export says to export again (or is made when asked)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

from spatial_vqa_ros.core.camera import CameraIntrinsics  # noqa: E402
from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.depth_pro.adapter import DepthProDepth  # noqa: E402
from spatial_vqa_ros.perception.families.depth_pro.onnx_adapter import (  # noqa: E402
    DepthProOnnxDepth,
    export,
)
from spatial_vqa_ros.perception.families.processing import normalize_then_resize  # noqa: E402
from spatial_vqa_ros.perception.protocols import DepthEstimator  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402


@pytest.fixture(scope="module")
def exported(depth_pro_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("depth-pro-onnx")
    return out, export(depth_pro_dir, out)


@pytest.fixture(scope="module")
def torch_dp(depth_pro_dir):
    return DepthProDepth.from_pretrained(depth_pro_dir)


@pytest.fixture(scope="module")
def onnx_dp(depth_pro_dir, exported):
    return DepthProOnnxDepth.from_pretrained(depth_pro_dir, exported[0])


def frame(seed=0, size_hw=(45, 67), camera=None) -> SensorInputs:
    rng = np.random.default_rng(seed)
    return SensorInputs(rng.integers(0, 256, (*size_hw, 3), dtype=np.uint8), camera)


def test_the_graph_equals_torch(torch_dp, onnx_dp):
    pixels = normalize_then_resize(frame(3).rgb, torch_dp.processing)
    with torch.inference_mode():
        expected = torch_dp.model(pixel_values=pixels)
    got = onnx_dp._torch_adapter.model(pixel_values=pixels)
    reference = expected.predicted_depth.numpy()
    assert reference.std() > 0, "re-drawn weights give varied depth"
    error = np.abs(got.predicted_depth.numpy() - reference).max() / np.abs(reference).max()
    assert error <= 1e-4
    assert float(got.field_of_view[0]) == pytest.approx(float(expected.field_of_view[0]),
                                                        rel=1e-4)


@pytest.mark.parametrize("size_hw", [(45, 67), (80, 31)])
def test_metres_and_the_estimated_camera_equal_the_torch_adapter(torch_dp, onnx_dp, size_hw):
    inputs = frame(1, size_hw)
    got, expected = onnx_dp.estimate(inputs), torch_dp.estimate(inputs)
    assert isinstance(onnx_dp, DepthEstimator)
    # compared as inverse depth, what the model predicts: relative to its largest value,
    # as every parity check here (far pixels of a random model are ill-conditioned)
    inverse_got, inverse_expected = 1 / got.depth_m, 1 / expected.depth_m
    assert inverse_expected.std() > 0
    error = np.abs(inverse_got - inverse_expected).max() / np.abs(inverse_expected).max()
    assert error <= 1e-4
    assert got.intrinsics.fx == pytest.approx(expected.intrinsics.fx, rel=1e-4)
    camera = CameraIntrinsics(size_hw[1], size_hw[0], 50.0, 50.0, 10.0, 10.0)
    assert onnx_dp.estimate(frame(1, size_hw, camera)).intrinsics is None
    assert onnx_dp.name.startswith("depth_pro:depth-pro-tiny@onnxruntime:")


def test_the_export_record(depth_pro_dir, exported):
    out, paths = exported
    assert sorted(p.name for p in out.iterdir()) == ["export.json", "model.onnx"]
    assert [p.name for p in paths] == ["model.onnx", "export.json"]
    record = json.loads(paths[1].read_text())
    assert record["family"] == "depth_pro" and record["field_of_view"] is True
    assert record["pixel_size_hw"] == [256, 256]


def test_missing_or_stale_exports(depth_pro_dir, exported, tmp_path):
    with pytest.raises(PerceptionError, match="no depth_pro ONNX export.*models export"):
        DepthProOnnxDepth.from_pretrained(depth_pro_dir, tmp_path / "onnx")
    snapshot = shutil.copytree(depth_pro_dir, tmp_path / "depth-pro-tiny")
    (snapshot / "model.safetensors").write_bytes(b"other weights")
    with pytest.raises(PerceptionError, match="another snapshot"):
        DepthProOnnxDepth.from_pretrained(snapshot, exported[0])
    with pytest.raises(PerceptionError, match="models pull depth_pro'"):
        DepthProOnnxDepth.from_pretrained(tmp_path / "nowhere", exported[0])


def test_a_corrupt_graph_is_re_exported_when_asked(depth_pro_dir, exported, tmp_path):
    onnx_dir = shutil.copytree(exported[0], tmp_path / "onnx")
    (onnx_dir / "model.onnx").write_bytes(b"\x08\x07 not a model")
    with pytest.raises(PerceptionError, match="cannot be loaded.*models export"):
        DepthProOnnxDepth.from_pretrained(depth_pro_dir, onnx_dir)
    (onnx_dir / "export.json").unlink()
    estimator = DepthProOnnxDepth.from_pretrained(depth_pro_dir, onnx_dir, export_missing=True)
    assert estimator.estimate(frame()).depth_m.shape == (45, 67)

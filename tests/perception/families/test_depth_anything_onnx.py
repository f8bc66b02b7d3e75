"""Depth Anything on ONNX Runtime: exported at two camera sizes from tiny random models
(weights re-drawn, std 0.15: above it the metric head's sigmoid saturates) and loaded
back from the snapshot + export directory; depth equals the torch adapter's within 1e-4
(relative to the largest depth), frames and cameras of another size are refused, a
missing, corrupt or stale export says to export again, and the adapter runs through the
perception chain into a scene graph."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

from spatial_vqa_ros.core.pipeline import ScenePipeline  # noqa: E402
from spatial_vqa_ros.perception.chain import PerceptionChain  # noqa: E402
from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.depth_anything.adapter import DepthAnythingDepth  # noqa: E402
from spatial_vqa_ros.perception.families.depth_anything.onnx_adapter import (  # noqa: E402
    DepthAnythingOnnxDepth,
    export,
)
from spatial_vqa_ros.perception.protocols import DepthEstimator  # noqa: E402
from spatial_vqa_ros.perception.runtime import PROVIDER_ORDER  # noqa: E402
from spatial_vqa_ros.perception.scale import align_depth  # noqa: E402
from spatial_vqa_ros.perception.simulation import (  # noqa: E402
    SimulationDetector,
    SimulationSegmenter,
)
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402
from spatial_vqa_ros.synthetic.scoring import render_case  # noqa: E402

RENDER_HW = (480, 640)  # render_case's camera
SMALL_HW = (37, 53)
@pytest.fixture(scope="module")
def exports(da_metric_dir, tmp_path_factory):
    """One export directory per camera size, and what export returned."""
    root = tmp_path_factory.mktemp("onnx")
    return {size_hw: (root / f"{size_hw[1]}x{size_hw[0]}",
                      export(da_metric_dir, root / f"{size_hw[1]}x{size_hw[0]}", size_hw=size_hw))
            for size_hw in (RENDER_HW, SMALL_HW)}


@pytest.fixture(scope="module")
def torch_metric(da_metric_dir):
    return DepthAnythingDepth.from_pretrained(da_metric_dir)


def photo(height, width, seed=0):
    """A smooth image with some texture, so the tiny model's output varies."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def sensor_depth(height, width):
    y, x = np.mgrid[0:height, 0:width]
    return (1.0 + 2.0 * y / height + 0.5 * x / width).astype(np.float32)


def relative_error(got, expected):
    """max |got - expected| / max |expected| over valid pixels; NaN where either is."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    keep = np.isfinite(expected)
    return float(np.abs(got[keep] - expected[keep]).max() / np.abs(expected[keep]).max())


# --- parity and the seam --------------------------------------------------------------

@pytest.mark.parametrize("size_hw", [RENDER_HW, SMALL_HW])
def test_onnx_depth_equals_the_torch_adapter_at_two_camera_sizes(da_metric_dir, exports,
                                                                 torch_metric, size_hw):
    onnx_dir, _ = exports[size_hw]
    adapter = DepthAnythingOnnxDepth.from_pretrained(da_metric_dir, onnx_dir, size_hw=size_hw)
    assert isinstance(adapter, DepthEstimator)
    assert adapter.provider in PROVIDER_ORDER
    assert adapter.name == f"depth_anything:da-v2-metric-tiny@onnxruntime:{adapter.provider}"
    for seed in (1, 2):
        inputs = SensorInputs(photo(*size_hw, seed=seed))
        got, expected = adapter.estimate(inputs), torch_metric.estimate(inputs)
        assert got.depth_m.shape == size_hw and got.depth_m.dtype == np.float32
        assert (got.source, got.model_id) == (expected.source, expected.model_id)
        assert np.nanstd(expected.depth_m) > 0.01, "re-drawn weights give a varying depth"
        assert relative_error(got.depth_m, expected.depth_m) <= 1e-4


def test_the_export_record_names_sizes_opset_source_and_versions(da_metric_dir, exports):
    onnx_dir, paths = exports[SMALL_HW]
    assert [p.name for p in paths] == ["model.onnx", "export.json"]
    record = json.loads(paths[1].read_text())
    assert record["family"] == "depth_anything" and record["model_type"] == "depth_anything"
    assert record["camera_size_hw"] == list(SMALL_HW)
    assert record["input_size_hw"] == [42, 70]  # the processor: 70 long side, multiple of 14
    assert record["opset"] == 18 and record["inputs"] == ["pixel_values"]
    assert record["source"] == str(da_metric_dir.resolve())
    assert set(record["source_files"]) == {"config.json", "model.safetensors"}
    assert record["torch"] == torch.__version__
    assert record["transformers"] == transformers.__version__
    assert sorted(p.name for p in onnx_dir.iterdir()) == ["export.json", "model.onnx"]


def test_prompt_depth_anything_exports_with_its_prompt(da_prompt_dir, tmp_path):
    size_hw = (48, 64)
    export(da_prompt_dir, tmp_path, size_hw=size_hw)
    adapter = DepthAnythingOnnxDepth.from_pretrained(da_prompt_dir, tmp_path)
    reference = DepthAnythingDepth.from_pretrained(da_prompt_dir)
    depth = sensor_depth(*size_hw)
    depth[5:9, 10:20] = np.nan  # holes are filled by the torch adapter's own code
    inputs = SensorInputs(photo(*size_hw, seed=3), depth_m=depth)
    got, expected = adapter.estimate(inputs), reference.estimate(inputs)
    assert got.source == expected.source == "model+sensor"
    assert relative_error(got.depth_m, expected.depth_m) <= 1e-4
    assert adapter.name.startswith("prompt_depth_anything:prompt-da-tiny@onnxruntime:")
    with pytest.raises(PerceptionError, match="takes the sensor depth as its prompt"):
        adapter.estimate(SensorInputs(photo(*size_hw)))


# --- sizes ------------------------------------------------------------------------------

def test_a_frame_of_another_size_is_refused(da_metric_dir, exports):
    adapter = DepthAnythingOnnxDepth.from_pretrained(da_metric_dir, exports[SMALL_HW][0])
    with pytest.raises(PerceptionError,
                       match="exported for 53x37 images and this frame is 64x48.*"
                             "spatial-vqa models export"):
        adapter.estimate(SensorInputs(photo(48, 64)))


def test_a_camera_of_another_size_is_refused_or_exported_again(da_metric_dir, exports, tmp_path):
    onnx_dir = tmp_path / "onnx"
    shutil.copytree(exports[SMALL_HW][0], onnx_dir)
    with pytest.raises(PerceptionError, match="is for 53x37 images, the camera gives 64x48"):
        DepthAnythingOnnxDepth.from_pretrained(da_metric_dir, onnx_dir, size_hw=(48, 64))
    adapter = DepthAnythingOnnxDepth.from_pretrained(da_metric_dir, onnx_dir, size_hw=(48, 64),
                                                     export_missing=True)
    assert adapter.camera_size_hw == (48, 64)
    assert adapter.estimate(SensorInputs(photo(48, 64))).depth_m.shape == (48, 64)
    with pytest.raises(PerceptionError, match="needs the camera's size_hw"):
        DepthAnythingOnnxDepth.from_pretrained(da_metric_dir, onnx_dir, export_missing=True)


# --- missing, corrupt, stale --------------------------------------------------------------

def test_a_missing_export_says_to_export(da_metric_dir, tmp_path):
    with pytest.raises(PerceptionError, match="no depth_anything ONNX export.*"
                                              "spatial-vqa models export"):
        DepthAnythingOnnxDepth.from_pretrained(da_metric_dir, tmp_path / "nowhere")


def test_a_corrupt_onnx_file_says_to_export_again(da_metric_dir, exports, tmp_path):
    shutil.copytree(exports[SMALL_HW][0], tmp_path / "onnx")
    (tmp_path / "onnx" / "model.onnx").write_bytes(b"\x08\x07 not an onnx model")
    with pytest.raises(PerceptionError, match="cannot be loaded.*spatial-vqa models export"):
        DepthAnythingOnnxDepth.from_pretrained(da_metric_dir, tmp_path / "onnx")
    (tmp_path / "onnx" / "export.json").write_text("{ truncated")
    with pytest.raises(PerceptionError, match="unreadable.*spatial-vqa models export"):
        DepthAnythingOnnxDepth.from_pretrained(da_metric_dir, tmp_path / "onnx")


def test_an_export_of_another_snapshot_is_refused(da_metric_dir, exports, tmp_path):
    snapshot = tmp_path / "da-v2-metric-tiny"
    shutil.copytree(da_metric_dir, snapshot)
    config = json.loads((snapshot / "config.json").read_text())
    config["max_depth"] = 80
    (snapshot / "config.json").write_text(json.dumps(config))
    with pytest.raises(PerceptionError, match="another snapshot.*config.json differ"):
        DepthAnythingOnnxDepth.from_pretrained(snapshot, exports[SMALL_HW][0])


def test_a_missing_snapshot_says_how_to_get_the_weights(exports, tmp_path):
    with pytest.raises(PerceptionError, match="spatial-vqa models pull "
                       "depth_anything_v2_metric_indoor_small'"):
        DepthAnythingOnnxDepth.from_pretrained(tmp_path / "nowhere", exports[SMALL_HW][0])


# --- through the chain into the core ----------------------------------------------------

def test_the_onnx_adapter_feeds_a_chain_and_the_scene_pipeline(da_metric_dir, exports):
    depth = DepthAnythingOnnxDepth.from_pretrained(da_metric_dir, exports[RENDER_HW][0])
    _, rendered, _ = render_case(0)
    inputs = SensorInputs(rendered.rgb, rendered.camera, rendered.depth_m,
                          rendered.instance_ids, rendered.id_to_label)
    chain = PerceptionChain(depth, SimulationDetector(), SimulationSegmenter(),
                            align=align_depth)
    result = chain.run(inputs, prompts=())
    assert result.capture.depth_m.shape == rendered.depth_m.shape
    assert result.provenance.depth_model == depth.model_id
    graph = ScenePipeline().process(result.capture, result.observations).graph
    assert {o.label for o in graph.objects} <= set(rendered.id_to_label.values())

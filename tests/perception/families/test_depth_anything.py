"""Depth Anything V2 metric and Prompt Depth Anything behind the DepthEstimator seam.

Tiny randomly initialised models of the real classes (PERCEPTION.md's configs, weights
re-drawn so outputs vary) are saved with their processors and loaded back through
``DepthAnythingDepth.from_pretrained``: the real loading code, no network. The
adapter must equal the reference path (processor -> model -> post_process) exactly,
prompt in metres, holes filled, constant and empty prompts refused.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from tiny_models import tiny_depth_anything_config

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from spatial_vqa_ros.core.pipeline import ScenePipeline  # noqa: E402
from spatial_vqa_ros.perception.chain import PerceptionChain  # noqa: E402
from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.depth_anything.adapter import (  # noqa: E402
    DepthAnythingDepth,
    fill_invalid_nearest,
)
from spatial_vqa_ros.perception.protocols import DepthEstimator  # noqa: E402
from spatial_vqa_ros.perception.scale import align_depth  # noqa: E402
from spatial_vqa_ros.perception.simulation import (  # noqa: E402
    SimulationDetector,
    SimulationSegmenter,
)
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402
from spatial_vqa_ros.synthetic.scoring import render_case  # noqa: E402


@pytest.fixture(scope="module")
def metric(da_metric_dir):
    return DepthAnythingDepth.from_pretrained(da_metric_dir)


@pytest.fixture(scope="module")
def prompted(da_prompt_dir):
    return DepthAnythingDepth.from_pretrained(da_prompt_dir)


def photo(height=48, width=64, seed=0):
    """A smooth image with some texture, so the tiny model's output varies."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def sensor_depth(height=48, width=64):
    y, x = np.mgrid[0:height, 0:width]
    return (1.0 + 2.0 * y / height + 0.5 * x / width).astype(np.float32)


def reference(adapter, rgb, prompt_m=None):
    """The transformers path: processor -> model -> post_process, by hand."""
    kwargs = {} if prompt_m is None else {"prompt_depth": prompt_m * 1000.0}
    batch = adapter.processor(images=rgb, return_tensors="pt", **kwargs)
    with torch.inference_mode():
        outputs = adapter.model(**batch)
    depth = adapter.processor.post_process_depth_estimation(
        outputs, target_sizes=[rgb.shape[:2]])[0]["predicted_depth"]
    return depth.numpy()


# --- the seam, units and shapes ------------------------------------------------------

@pytest.mark.parametrize("size_hw", [(48, 64), (37, 53)])
def test_metric_depth_is_float32_metres_at_the_rgb_size(metric, size_hw):
    result = metric.estimate(SensorInputs(photo(*size_hw)))
    assert isinstance(metric, DepthEstimator)
    assert result.depth_m.shape == size_hw and result.depth_m.dtype == np.float32
    assert result.source == "model" and result.scale == 1.0
    assert result.model_id == metric.model_id and metric.model_id.startswith("da-v2-metric-tiny")
    assert metric.name == f"depth_anything:{metric.model_id}"
    valid = result.depth_m[np.isfinite(result.depth_m)]
    assert valid.size > 0.9 * result.depth_m.size
    assert (valid > 0).all() and (valid <= 20 * 1.1).all()  # max_depth 20
    assert valid.std() > 0.01, "re-drawn weights should give a varying depth"


def test_metric_depth_equals_the_processor_model_post_process_path(metric):
    rgb = photo(seed=3)
    expected = reference(metric, rgb)
    got = metric.estimate(SensorInputs(rgb)).depth_m
    keep = np.isfinite(got)
    np.testing.assert_array_equal(got[keep], expected[keep])
    assert not ((expected[~keep] > 0) & np.isfinite(expected[~keep])).any()


def test_non_positive_model_depth_becomes_nan():
    class Processor:
        def __call__(self, images, return_tensors):
            return transformers.BatchFeature({"pixel_values": torch.zeros(1, 3, 2, 2)})

        def post_process_depth_estimation(self, outputs, target_sizes):
            return [{"predicted_depth": outputs}]

    class Model(torch.nn.Module):
        config = transformers.DepthAnythingConfig(depth_estimation_type="metric")
        device = torch.device("cpu")

        def forward(self, pixel_values):
            return torch.tensor([[-1.0, 0.0], [float("inf"), 2.5]])

    result = DepthAnythingDepth(Model(), Processor()).estimate(
        SensorInputs(np.zeros((2, 2, 3), np.uint8)))
    np.testing.assert_array_equal(result.depth_m, [[np.nan, np.nan], [np.nan, 2.5]])
    assert result.model_id == "depth_anything"


# --- Prompt Depth Anything -----------------------------------------------------------

def test_sensor_depth_prompts_the_model_in_metres(prompted):
    rgb, depth = photo(seed=1), sensor_depth()
    result = prompted.estimate(SensorInputs(rgb, depth_m=depth))
    assert result.source == "model+sensor"
    np.testing.assert_array_equal(depth, sensor_depth())  # the sensor's image is not touched
    assert prompted.name == f"prompt_depth_anything:{prompted.model_id}"
    expected = reference(prompted, rgb, depth)  # millimetres, the processor's default
    np.testing.assert_allclose(result.depth_m, expected, rtol=1e-5)
    # the prompt fixes the scale: twice the sensor depth, twice the output
    doubled = prompted.estimate(SensorInputs(rgb, depth_m=2 * depth)).depth_m
    np.testing.assert_allclose(doubled, 2 * result.depth_m, rtol=1e-4)


def test_holes_in_the_prompt_are_filled_not_spread_as_nan(prompted):
    rgb, depth = photo(seed=2), sensor_depth()
    holed = depth.copy()
    holed[10:20, 5:30] = np.nan
    holed[0, :] = 0.0
    result = prompted.estimate(SensorInputs(rgb, depth_m=holed))
    assert np.isfinite(result.depth_m).all()
    filled = fill_invalid_nearest(holed)
    np.testing.assert_allclose(result.depth_m, reference(prompted, rgb, filled), rtol=1e-5)
    # the trap the filling avoids: one NaN in a raw prompt poisons every pixel
    assert np.isnan(reference(prompted, rgb, holed)).all()


def test_fill_invalid_nearest_copies_the_nearest_valid_pixel():
    depth = np.array([[1.0, np.nan, np.nan, 4.0, np.inf, -1.0, 7.0, 0.0]], np.float32)
    np.testing.assert_array_equal(fill_invalid_nearest(depth),
                                  [[1.0, 1.0, 4.0, 4.0, 4.0, 7.0, 7.0, 7.0]])
    full = np.ones((2, 2), np.float32)
    assert fill_invalid_nearest(full) is full


@pytest.mark.parametrize(("depth", "match"), [
    (np.full((48, 64), np.nan, np.float32), "no valid pixel"),
    (np.zeros((48, 64), np.float32), "no valid pixel"),
    (np.full((48, 64), 2.0, np.float32), "constant"),
    (np.where(np.eye(48, 64) > 0, np.nan, 2.0).astype(np.float32), "constant"),
])
def test_an_empty_or_constant_prompt_is_refused(prompted, depth, match):
    with pytest.raises(PerceptionError, match=match):
        prompted.estimate(SensorInputs(photo(), depth_m=depth))


def test_without_a_depth_image_the_prompt_model_runs_unprompted(prompted):
    rgb = photo(seed=4)
    result = prompted.estimate(SensorInputs(rgb))
    assert result.source == "model"
    keep = np.isfinite(result.depth_m)
    np.testing.assert_array_equal(result.depth_m[keep], reference(prompted, rgb)[keep])


def test_the_metric_model_ignores_sensor_depth(metric):
    rgb = photo(seed=5)
    with_sensor = metric.estimate(SensorInputs(rgb, depth_m=sensor_depth()))
    assert with_sensor.source == "model"
    np.testing.assert_array_equal(with_sensor.depth_m, metric.estimate(SensorInputs(rgb)).depth_m)


# --- through the chain into the core ------------------------------------------------

@pytest.mark.parametrize("family", ["metric", "prompted"])
def test_the_adapter_feeds_a_chain_and_the_scene_pipeline(request, family):
    depth = request.getfixturevalue(family)
    _, rendered, _ = render_case(0)
    inputs = SensorInputs(rendered.rgb, rendered.camera, rendered.depth_m,
                          rendered.instance_ids, rendered.id_to_label)
    chain = PerceptionChain(depth, SimulationDetector(), SimulationSegmenter(),
                            align=align_depth)
    result = chain.run(inputs, prompts=())
    assert result.capture.depth_m.shape == rendered.depth_m.shape
    assert result.provenance.depth_model == depth.model_id
    assert result.provenance.depth_source == "model+sensor"  # aligned, or prompted
    # prompted depth is already metric: the chain aligns only what the model alone gave
    aligned = {"align"} if family == "metric" else set()
    assert set(result.timings_s) == {"depth", "detect", "segment"} | aligned
    graph = ScenePipeline().process(result.capture, result.observations).graph
    assert {o.label for o in graph.objects} <= set(rendered.id_to_label.values())


# --- loading ------------------------------------------------------------------------

def test_it_loads_in_eval_mode_on_the_cpu_in_float32(da_metric_dir):
    adapter = DepthAnythingDepth.from_pretrained(str(da_metric_dir))
    assert not adapter.model.training
    assert adapter.model.device.type == "cpu"
    assert next(adapter.model.parameters()).dtype == torch.float32


def test_a_missing_directory_says_how_to_get_the_weights(tmp_path):
    with pytest.raises(PerceptionError, match="spatial-vqa models pull "
                       "depth_anything_v2_metric_indoor_small'"):
        DepthAnythingDepth.from_pretrained(tmp_path / "nowhere")


@pytest.mark.parametrize("keep", [("config.json", "preprocessor_config.json"),
                                  ("config.json", "model.safetensors")])
def test_an_incomplete_directory_says_how_to_get_the_weights(da_metric_dir, tmp_path, keep):
    for name in keep:
        shutil.copy(da_metric_dir / name, tmp_path / name)
    with pytest.raises(PerceptionError, match="spatial-vqa models pull"):
        DepthAnythingDepth.from_pretrained(tmp_path)


def test_a_config_transformers_rejects_is_reported(da_metric_dir, tmp_path):
    for name in ("config.json", "preprocessor_config.json", "model.safetensors"):
        shutil.copy(da_metric_dir / name, tmp_path / name)
    config = (tmp_path / "config.json").read_text()
    (tmp_path / "config.json").write_text(config.replace('"max_depth": 20', '"max_depth": 20.5'))
    with pytest.raises(PerceptionError, match="cannot be read by transformers"):
        DepthAnythingDepth.from_pretrained(tmp_path)


def test_a_directory_of_another_model_type_is_refused(tmp_path):
    transformers.Dinov2Config().save_pretrained(tmp_path)
    with pytest.raises(PerceptionError, match="holds a 'dinov2' model"):
        DepthAnythingDepth.from_pretrained(tmp_path)


def test_a_relative_depth_checkpoint_is_refused(metric):
    config = tiny_depth_anything_config(transformers.DepthAnythingConfig,
                                        depth_estimation_type="relative")
    model = transformers.DepthAnythingForDepthEstimation(config)
    with pytest.raises(PerceptionError, match="relative inverse depth"):
        DepthAnythingDepth(model, metric.processor)


def test_another_model_type_is_refused(metric):
    class Other:
        config = transformers.Dinov2Config()

    with pytest.raises(PerceptionError, match="runs"):
        DepthAnythingDepth(Other(), metric.processor)


def test_build_chain_builds_a_monocular_chain_from_a_local_snapshot(da_metric_dir):
    from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain
    from spatial_vqa_ros.perception.types import SensorInputs

    chain = build_chain(PerceptionSpec(depth_estimator="depth_anything",
                                       depth_model=str(da_metric_dir), camera_height_m=1.2))
    assert isinstance(chain.depth, DepthAnythingDepth) and chain.align is not None
    rgb = photo()
    depth = chain.depth.estimate(SensorInputs(rgb))
    assert depth.source == "model" and depth.depth_m.shape == rgb.shape[:2]


def test_a_reduced_input_size_makes_a_smaller_model_input_and_is_checked(da_metric_dir):
    reduced = DepthAnythingDepth.from_pretrained(da_metric_dir, input_size=28)
    calls = []
    reduced.model.register_forward_hook(
        lambda module, args, kwargs, out: calls.append(tuple(kwargs["pixel_values"].shape)),
        with_kwargs=True)
    depth = reduced.estimate(SensorInputs(photo(48, 64))).depth_m
    assert depth.shape == (48, 64)
    assert calls == [(1, 3, 28, 42)]  # short side 28, the long side kept to the aspect
    with pytest.raises(PerceptionError, match="input_size must be an int >= 14 px"):
        DepthAnythingDepth.from_pretrained(da_metric_dir, input_size=5)

"""The one path into perception: raw images + settings -> SensorInputs, and the valid
depth range held on every depth (decoded, given, or estimated by a model)."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.capture import DEPTH_MAX_M, DEPTH_MIN_M
from spatial_vqa_ros.core.errors import CoreError
from spatial_vqa_ros.core.pipeline import ScenePipeline
from spatial_vqa_ros.core.query import answer_question
from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.perception.chain import PerceptionChain
from spatial_vqa_ros.perception.depth import SensorDepth, within_range
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.inputs import sensor_inputs
from spatial_vqa_ros.perception.simulation import SimulationDetector, SimulationSegmenter
from spatial_vqa_ros.perception.types import DepthResult, InputSettings
from spatial_vqa_ros.synthetic.scoring import render_case

#: The depth the issue reported: "It is roughly 1.2e29 meters across".
ABSURD_M = 1e30


def test_input_settings_default_to_the_node_defaults():
    from spatial_vqa_ros.nodes.config import SpatialNodeConfig

    node = SpatialNodeConfig()
    assert InputSettings() == InputSettings(node.depth_min_m, node.depth_max_m)
    assert InputSettings() == InputSettings(DEPTH_MIN_M, DEPTH_MAX_M)


@pytest.mark.parametrize("low,high", [(0.0, 5.0), (5.0, 1.0), (1.0, 1.0), (0.1, np.inf),
                                      (np.nan, 5.0)])
def test_input_settings_refuse_a_range_that_is_not_finite_and_increasing(low, high):
    with pytest.raises(PerceptionError, match="need 0 < depth_min_m < depth_max_m"):
        InputSettings(low, high)


def test_rgb_is_converted_from_its_encoding():
    rgb = np.random.default_rng(0).integers(0, 255, (4, 5, 3), dtype=np.uint8)
    built = sensor_inputs(rgb[..., ::-1].copy(), None, None, InputSettings(),
                          rgb_encoding="bgr8")
    np.testing.assert_array_equal(built.rgb, rgb)
    with pytest.raises(DataIOError, match="cannot convert encoding 'yuv422'"):
        sensor_inputs(rgb, None, None, InputSettings(), rgb_encoding="yuv422")


@pytest.mark.parametrize("encoding,scale", [("32FC1", 1.0), ("16UC1", 1000.0)])
def test_depth_outside_the_settings_range_is_invalid(encoding, scale):
    settings = InputSettings(0.5, 3.0)
    metres = np.array([[0.0, 0.4, 0.5, 2.0], [2.9, 3.5, 60.0, 2.5]])
    raw = (metres * scale).astype(np.float32 if scale == 1.0 else np.uint16)
    built = sensor_inputs(np.zeros((2, 4, 3), np.uint8), raw, None, settings,
                          depth_encoding=encoding)
    assert built.settings == settings
    np.testing.assert_array_equal(np.isfinite(built.depth_m),
                                  [[False, False, True, True], [True, False, False, True]])


def test_the_depth_max_millimetre_itself_is_valid_live_and_offline():
    """16UC1 3000 mm with depth_max_m 3 is valid (float32 3000 * 1e-3 was 3.0000002,
    just beyond 3.0), on the node's message path as on the offline arrays, and the
    chain's range check on the decoded depth keeps it."""
    from types import SimpleNamespace

    from spatial_vqa_ros.nodes.msg_to_core import sensor_inputs_from_msgs

    settings = InputSettings(0.05, 3.0)
    raw = np.array([[2999, 3000, 3001, 50, 49]], np.uint16)
    offline = sensor_inputs(np.zeros((1, 5, 3), np.uint8), raw, None, settings,
                            depth_encoding="16UC1")
    msg = SimpleNamespace(height=1, width=5, is_bigendian=False, encoding="16UC1", step=10,
                          data=raw.tobytes())
    rgb = SimpleNamespace(height=1, width=5, is_bigendian=False, encoding="rgb8", step=15,
                          data=bytes(15))
    live = sensor_inputs_from_msgs(rgb, msg, None, None, settings)
    for built in (offline, live):
        np.testing.assert_array_equal(built.depth_m, np.array(
            [[2.999, 3.0, np.nan, 0.05, np.nan]], np.float32))
        kept = within_range(DepthResult(built.depth_m, "sensor"), settings)
        np.testing.assert_array_equal(kept.depth_m, built.depth_m)


def test_every_millimetre_is_valid_at_the_limit_written_as_its_metres():
    """For each 16-bit millimetre m, depth_max_m typed as m/1000 ("2.345") keeps it and
    the next millimetre is beyond it: the decoded value rounds like the typed limit."""
    from spatial_vqa_ros.core.capture import depth_in_metres

    mm = np.arange(1, 65535, dtype=np.uint16)
    limits = np.array([float(f"{m / 1000:.3f}") for m in mm.tolist()])
    decoded = depth_in_metres(mm[None, :], "16UC1")[0]
    nxt = depth_in_metres((mm + 1)[None, :], "16UC1")[0]
    assert (decoded <= limits.astype(np.float32)).all()
    assert (nxt > limits.astype(np.float32)).all()


def test_absurd_depth_is_invalid_with_the_default_settings():
    depth = np.array([[ABSURD_M, np.inf, -1.0, 2.0]], np.float32)
    built = sensor_inputs(np.zeros((1, 4, 3), np.uint8), depth, None, InputSettings())
    np.testing.assert_array_equal(np.isfinite(built.depth_m), [[False, False, False, True]])


def test_an_unsupported_depth_encoding_says_what_is_supported():
    with pytest.raises(CoreError, match="unsupported depth encoding 'rgb8'"):
        sensor_inputs(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint8), None,
                      InputSettings(), depth_encoding="rgb8")


def test_within_range_keeps_valid_depth_as_is_and_invalidates_the_rest():
    valid = DepthResult(np.array([[1.0, np.nan]], np.float32), "model")
    assert within_range(valid, InputSettings()) is valid
    result = within_range(DepthResult(np.array([[1.0, ABSURD_M, 0.01]], np.float32), "model",
                                      scale=2.0), InputSettings())
    np.testing.assert_array_equal(np.isfinite(result.depth_m), [[True, False, False]])
    assert result.source == "model" and result.scale == 2.0


class _AbsurdModel:
    """A depth model that puts one object ``ABSURD_M`` away and the rest where it is."""

    name = "absurd"

    def __init__(self, depth_m: np.ndarray, mask: np.ndarray) -> None:
        self.depth_m = depth_m.astype(np.float32, copy=True)
        self.depth_m[mask] = ABSURD_M

    def estimate(self, inputs):
        return DepthResult(self.depth_m, "model", model_id="test/absurd")


def _largest_whole_object(rendered) -> tuple[int, str]:
    """The instance id and label of the object with the most pixels and a unique label."""
    labels = list(rendered.id_to_label.values())
    ids, counts = np.unique(rendered.instance_ids[rendered.instance_ids > 0], return_counts=True)
    ranked = [i for _, i in sorted(zip(counts, ids), reverse=True)
              if labels.count(rendered.id_to_label.get(int(i), "")) == 1]
    return int(ranked[0]), rendered.id_to_label[int(ranked[0])]


@pytest.mark.parametrize("source", ["model", "sensor"])
def test_an_object_at_absurd_depth_is_never_measured(source):
    _, rendered, _ = render_case(1)
    instance, label = _largest_whole_object(rendered)
    mask = rendered.instance_ids == instance
    if source == "model":
        depth, sensor_depth = _AbsurdModel(rendered.depth_m, mask), None
    else:  # depth handed in already "decoded": the chain still holds it to the range
        depth, sensor_depth = SensorDepth(), np.where(mask, np.float32(ABSURD_M),
                                                      rendered.depth_m).astype(np.float32)
    chain = PerceptionChain(depth, SimulationDetector(), SimulationSegmenter())
    inputs = sensor_inputs(rendered.rgb, None, rendered.camera, InputSettings(),
                           instance_ids=rendered.instance_ids,
                           id_to_label=rendered.id_to_label)
    if sensor_depth is not None:
        from dataclasses import replace

        inputs = replace(inputs, depth_m=sensor_depth)
    result = chain.run(inputs, ())
    assert not np.isfinite(result.capture.depth_m[mask]).any()
    graph = ScenePipeline().process(result.capture, result.observations).graph
    assert label not in [o.label for o in graph.objects]
    assert label in [name for name, _ in graph.unlocalised]
    assert all(np.abs(o.extent_scene).max() < 2 * DEPTH_MAX_M for o in graph.objects)
    answer = answer_question(graph, f"how wide is the {label}?")
    assert not answer.success and "meters across" not in answer.text


def test_model_depth_beyond_a_custom_range_is_invalid():
    _, rendered, _ = render_case(1)
    far = rendered.depth_m > 3.0
    assert far.any() and (~far & np.isfinite(rendered.depth_m)).any()
    chain = PerceptionChain(_AbsurdModel(rendered.depth_m, np.zeros_like(far)),
                            SimulationDetector(), SimulationSegmenter())
    inputs = sensor_inputs(rendered.rgb, None, rendered.camera, InputSettings(0.05, 3.0),
                           instance_ids=rendered.instance_ids,
                           id_to_label=rendered.id_to_label)
    depth_m = chain.run(inputs, ()).capture.depth_m
    assert not np.isfinite(depth_m[far]).any()
    np.testing.assert_array_equal(depth_m[~far], rendered.depth_m[~far])

"""SAM 3 (``sam3``): the torch-only processing equals ``Sam3Processor`` (golden outputs
made where torchvision imports), and a tiny random ``Sam3Model`` loaded from a snapshot
gives instances for several prompts in one pass, with prompts, thresholds and masks
handled as documented, through the chain into a scene graph without a segmenter."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from make_goldens import (  # noqa: E402
    IMAGES,
    SAM3_GOLDEN,
    SAM3_MASK_THRESHOLD,
    SAM3_PROMPTS,
    SAM3_SCORE_THRESHOLD,
    SAM3_SIZE,
)
from tiny_models import clip_vocab  # noqa: E402
from tiny_sam3 import (  # noqa: E402
    SAM3_QUERIES,
    sam3_preprocessor_config,
    save_tiny_sam3,
    tiny_sam3_lite_text,
)

from spatial_vqa_ros.core.pipeline import ScenePipeline  # noqa: E402
from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain  # noqa: E402
from spatial_vqa_ros.perception.families import descriptors, family_names  # noqa: E402
from spatial_vqa_ros.perception.families.processing import resize_then_normalize  # noqa: E402
from spatial_vqa_ros.perception.families.sam3.adapter import (  # noqa: E402
    TEXT_TOKENS,
    Sam3Detector,
    _repeated,
    load_processing,
    tokenize,
)
from spatial_vqa_ros.perception.families.sam3.postprocess import instances  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402

PROMPTS = ["cup", "red mug", "chair"]


@pytest.fixture(scope="module")
def golden():
    with np.load(SAM3_GOLDEN) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def sam3_dir(tmp_path_factory):
    return save_tiny_sam3(tmp_path_factory.mktemp("sam3") / "sam3-tiny")


@pytest.fixture()
def detector(sam3_dir):
    return Sam3Detector.from_pretrained(sam3_dir)


def _rgb(seed: int = 0, size_hw=(60, 80)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size_hw, 3), dtype=np.uint8)


def _letter_tokenizer():
    return transformers.CLIPTokenizer(vocab=clip_vocab(), merges=[], pad_token="!",
                                      model_max_length=32)


# --- equal to the reference processor ------------------------------------------------
def test_the_golden_file_comes_from_the_reference_processor(golden):
    versions = json.loads(str(golden["versions"]))
    assert versions["torchvision"].startswith("0.29")
    assert versions["transformers"] == "5.23.0"


@pytest.mark.parametrize("index", range(len(IMAGES)))
def test_pixels_equal_the_reference_image_processor(golden, tmp_path, index):
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(
        sam3_preprocessor_config(SAM3_SIZE)))
    processing = load_processing(tmp_path)
    got = resize_then_normalize(golden[f"image_{index}"], processing).numpy()
    np.testing.assert_array_equal(got, golden[f"sam3_pixels_{index}"])


def test_prompt_tokens_equal_the_reference_processor(golden):
    kept, too_long, ids, mask = tokenize(_letter_tokenizer(), SAM3_PROMPTS)
    assert kept == tuple(SAM3_PROMPTS) and too_long == ()
    np.testing.assert_array_equal(ids.numpy(), golden["sam3_input_ids"])
    np.testing.assert_array_equal(mask.numpy(), golden["sam3_attention_mask"])


def test_instances_equal_the_reference_post_processing(golden):
    outputs = type("Outputs", (), {key: torch.from_numpy(golden[f"sam3_{key}"]) for key in (
        "pred_logits", "pred_boxes", "pred_masks", "presence_logits")})
    found = instances(outputs, (45, 67), score_threshold=SAM3_SCORE_THRESHOLD,
                      mask_threshold=SAM3_MASK_THRESHOLD)
    assert [len(f.scores) for f in found] == [6, 5]  # the presence logit lowers row 2's
    for prompt, got in enumerate(found):
        np.testing.assert_array_equal(got.scores, golden[f"sam3_scores_{prompt}"])
        np.testing.assert_array_equal(got.xyxy, golden[f"sam3_boxes_{prompt}"])
        np.testing.assert_array_equal(got.masks, golden[f"sam3_masks_{prompt}"])


# --- the tiny model: shapes, prompts, thresholds ------------------------------------
def _reference(detector, rgb, prompt):
    """One prompt through the model's own forward (pixels and tokens, no reuse)."""
    pixels = resize_then_normalize(rgb, detector.processing)
    _, _, ids, mask = tokenize(detector.tokenizer, [prompt])
    with torch.inference_mode():
        return detector.model(pixel_values=pixels, input_ids=ids, attention_mask=mask)


def test_several_prompts_in_one_pass_equal_each_prompt_run_alone(detector):
    rgb = _rgb()
    vision = detector.model.get_vision_features(resize_then_normalize(
        rgb, detector.processing))
    _, _, ids, mask = tokenize(detector.tokenizer, PROMPTS)
    with torch.inference_mode():
        batched = detector.model(vision_embeds=_repeated(vision, 3), input_ids=ids,
                                 attention_mask=mask)
    for k, prompt in enumerate(PROMPTS):
        alone = _reference(detector, rgb, prompt)
        for key in ("pred_logits", "pred_boxes", "pred_masks", "presence_logits"):
            torch.testing.assert_close(getattr(batched, key)[k], getattr(alone, key)[0],
                                       rtol=1e-4, atol=1e-5)


def test_detections_carry_one_nonempty_mask_per_instance_of_the_image_size(detector):
    rgb = _rgb()
    detector.score_threshold = 0.2  # the tiny model's scores are 0.2-0.3
    found = detector.detect(SensorInputs(rgb), PROMPTS)
    assert detector.encoder_calls == 1 and len(found) > 0
    assert found.masks.shape == (len(found), 60, 80) and found.masks.dtype == bool
    assert found.masks.any(axis=(1, 2)).all()
    assert set(found.labels) == set(PROMPTS)
    assert (np.diff(found.scores) <= 0).all() and (found.scores > 0.2).all()


def test_score_threshold_keeps_exactly_the_instances_above_it(detector):
    rgb = _rgb()
    scores = {}
    for prompt in PROMPTS:
        out = _reference(detector, rgb, prompt)
        scores[prompt] = (out.pred_logits.sigmoid() * out.presence_logits.sigmoid())[0]
    every = torch.cat(list(scores.values()))
    # a cut between two scores near the middle, far from both (float error of the
    # batched pass must not move a score across it)
    ranked = every.sort().values.numpy()
    middle = range(len(ranked) // 3, 2 * len(ranked) // 3)
    k = max(middle, key=lambda i: ranked[i + 1] - ranked[i])
    assert ranked[k + 1] - ranked[k] > 1e-4
    threshold = float(ranked[k] + ranked[k + 1]) / 2
    assert 0.1 < threshold < 0.4  # the tiny model's scores spread around it
    counts = []
    for cut, expected_at_most in ((0.0, 3 * SAM3_QUERIES), (threshold, int(
            (every > threshold).sum()))):
        detector.score_threshold = cut
        found = detector.detect(SensorInputs(rgb), PROMPTS)
        for prompt in PROMPTS:
            got = np.sort(found.scores[[label == prompt for label in found.labels]])
            above = np.sort(scores[prompt][scores[prompt] > cut].numpy())
            # every kept instance is one above the cut (equal to the one-prompt run's
            # score within float error); the rest had empty masks
            assert len(got) <= len(above)
            assert all(np.abs(above - score).min() < 1e-5 for score in got)
        assert len(found) <= expected_at_most
        counts.append(len(found))
    assert counts[0] > counts[1] > 0
    detector.score_threshold = 1.0
    assert len(detector.detect(SensorInputs(rgb), PROMPTS)) == 0


def test_mask_threshold_is_applied_to_the_mask_probability(detector):
    rgb = _rgb()
    detector.score_threshold = 0.0
    loose = detector.detect(SensorInputs(rgb), ["cup"])
    detector.mask_threshold = 0.9
    tight = detector.detect(SensorInputs(rgb), ["cup"])
    assert loose.masks.sum() > tight.masks.sum()
    for mask in tight.masks:  # each tight mask lies inside a loose one
        assert any((mask & ~other).sum() == 0 for other in loose.masks)


def test_blank_and_repeated_prompts_are_dropped_and_none_left_is_refused(detector):
    rgb = _rgb()
    found = detector.detect(SensorInputs(rgb), ["cup", " ", "cup", ""])
    assert set(found.labels) <= {"cup"} and found.unknown_prompts == ()
    with pytest.raises(PerceptionError, match="no labels to detect"):
        detector.detect(SensorInputs(rgb), ["", "  "])


def test_a_prompt_longer_than_the_text_encoder_reads_is_reported_unknown(detector):
    long_prompt = " ".join(["mug"] * TEXT_TOKENS)
    rgb = _rgb()
    found = detector.detect(SensorInputs(rgb), ["cup", long_prompt])
    assert found.unknown_prompts == (long_prompt,) and long_prompt not in found.labels
    only = detector.detect(SensorInputs(rgb), [long_prompt])
    assert len(only) == 0 and only.unknown_prompts == (long_prompt,)
    assert only.masks is None  # nothing was run: empty Detections


def test_the_frame_and_the_prompts_are_encoded_once_while_they_stay_the_same(detector):
    rgb = _rgb()
    first = detector.detect(SensorInputs(rgb), PROMPTS)
    again = detector.detect(SensorInputs(rgb.copy()), PROMPTS)
    assert (detector.encoder_calls, detector.text_calls) == (1, 1)
    np.testing.assert_array_equal(first.masks, again.masks)
    detector.detect(SensorInputs(rgb), ["chair"])
    detector.detect(SensorInputs(_rgb(1)), ["chair"])
    assert (detector.encoder_calls, detector.text_calls) == (2, 2)


def test_it_segments_no_other_detectors_boxes_and_says_why(detector):
    with pytest.raises(PerceptionError, match="sam3 segments only what it detects itself"):
        detector.segment(SensorInputs(_rgb()), np.array([[0, 0, 5, 5]], np.float32), None)


# --- loading --------------------------------------------------------------------------
def test_another_models_snapshot_is_refused_by_its_type(sam3_dir, tmp_path):
    config = json.loads((sam3_dir / "config.json").read_text())
    other = tmp_path / "other"
    other.mkdir()
    for item in sam3_dir.iterdir():
        (other / item.name).write_bytes(item.read_bytes())
    (other / "config.json").write_text(json.dumps(dict(config, model_type="sam2")))
    with pytest.raises(PerceptionError, match="holds a 'sam2' model; the sam3 family runs"):
        Sam3Detector.from_pretrained(other)


def test_a_lite_text_snapshot_loads_its_own_class_and_detects_through_the_same_code(
        tmp_path):
    directory = save_tiny_sam3(tmp_path / "sam3-lite", tiny_sam3_lite_text())
    lite = Sam3Detector.from_pretrained(directory, score_threshold=0.0)
    assert type(lite.model).__name__ == "Sam3LiteTextModel"
    found = lite.detect(SensorInputs(_rgb()), ["cup", "mug"])
    assert len(found) > 0 and found.masks.shape == (len(found), 60, 80)
    assert set(found.labels) <= {"cup", "mug"} and lite.encoder_calls == 1


def test_a_missing_snapshot_says_how_to_get_the_weights(tmp_path):
    with pytest.raises(PerceptionError, match="SAM 3 model not found.*facebook/sam3"):
        Sam3Detector.from_pretrained(tmp_path / "nothing")


def test_the_descriptor_fills_both_roles_and_names_the_gated_licence():
    descriptor = descriptors()["sam3"]
    assert "sam3" in family_names("detector") and "sam3" in family_names("segmenter")
    (checkpoint,) = descriptor.checkpoints
    assert (checkpoint.hub_id, checkpoint.licence) == ("facebook/sam3", "sam-license")
    assert "gated" in checkpoint.note and "SAM License" in descriptor.notes


# --- through the chain ----------------------------------------------------------------
def test_one_model_fills_both_roles_and_its_masks_reach_the_scene_graph(sam3_dir):
    chain = build_chain(PerceptionSpec(depth_estimator="sensor", detector="sam3",
                                       segmenter="sam3", detector_model=str(sam3_dir),
                                       detector_score_threshold=0.2,
                                       perception_device="cpu"))
    assert chain.segmenter is chain.detector
    rgb = _rgb(2, (48, 64))
    depth = np.full((48, 64), 2.0, np.float32)
    depth[:, 32:] = 3.0  # two planes, so instances have some extent
    from spatial_vqa_ros.core.camera import CameraIntrinsics

    camera = CameraIntrinsics(64, 48, 50.0, 50.0, 31.5, 23.5)
    result = chain.run(SensorInputs(rgb, camera, depth), PROMPTS)
    direct = chain.detector.detect(SensorInputs(rgb, camera, depth), PROMPTS)
    assert len(result.observations) == len(direct) > 0
    np.testing.assert_array_equal(result.observations.masks, direct.masks)
    assert "segment" not in result.timings_s
    assert result.provenance.detector == result.provenance.segmenter == "sam3:sam3-tiny"
    graph = ScenePipeline().process(result.capture, result.observations).graph
    assert graph.provenance["segmenter"] == "sam3:sam3-tiny"
    assert {o.label for o in graph.objects} <= set(PROMPTS)

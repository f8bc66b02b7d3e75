"""OWLv2 behind the Detector seam: one forward pass per frame, boxes in image pixels.

A tiny randomly initialised ``Owlv2ForObjectDetection`` (PERCEPTION.md's config, weights
re-drawn so scores and boxes vary) is saved with an ``Owlv2Processor`` whose CLIP
tokenizer has a hand-written vocabulary, and loaded back through
``Owlv2Detector.from_pretrained``: the real loading code, no network. Checked: the
adapter equals processor -> model -> post-processing called directly; boxes are relative
to the zero-padded square image (a hand computation on wide and tall images); NMS per
label; prompts, thresholds and snapshots that cannot work are refused with the reason.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from spatial_vqa_ros.core.pipeline import ScenePipeline  # noqa: E402
from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.common import class_nms  # noqa: E402
from spatial_vqa_ros.perception.families.owlv2.adapter import Owlv2Detector  # noqa: E402
from spatial_vqa_ros.perception.protocols import Detector  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402
from spatial_vqa_ros.synthetic.scoring import render_case  # noqa: E402

PROMPTS = ("a cat", "remote control", "book", "can")
TEXT_LEN = 16


def image(height: int, width: int, seed: int = 0) -> SensorInputs:
    return SensorInputs(np.random.default_rng(seed).integers(0, 256, (height, width, 3),
                                                             np.uint8))


def raw_outputs(owlv2_dir, rgb, prompts):
    """The reference path: the saved processor and model, called directly."""
    processor = transformers.Owlv2Processor.from_pretrained(owlv2_dir, local_files_only=True)
    model = transformers.Owlv2ForObjectDetection.from_pretrained(owlv2_dir,
                                                                 local_files_only=True).eval()
    encoded = processor(text=[list(prompts)], images=rgb, return_tensors="pt")
    with torch.inference_mode():
        return processor, model(**encoded)


def test_detections_are_pixel_boxes_labelled_with_the_prompts(owlv2_dir):
    detector = Owlv2Detector.from_pretrained(owlv2_dir, score_threshold=0.0)
    assert isinstance(detector, Detector) and detector.name == f"owlv2:{owlv2_dir.name}"
    found = detector.detect(image(48, 80), PROMPTS)
    assert len(found) > 0 and found.xyxy.dtype == np.float32 and found.scores.dtype == np.float32
    assert set(found.labels) <= set(PROMPTS) and found.unknown_prompts == ()
    assert (found.xyxy[:, [0, 2]] >= 0).all() and (found.xyxy[:, [0, 2]] <= 80).all()
    assert (found.xyxy[:, [1, 3]] >= 0).all() and (found.xyxy[:, [1, 3]] <= 48).all()
    assert ((found.scores > 0) & (found.scores <= 1)).all()
    assert (np.diff(found.scores) <= 0).all()  # best first


@pytest.mark.parametrize(("height", "width"), [(32, 96), (90, 40)])
def test_boxes_are_relative_to_the_zero_padded_square_image(owlv2_dir, height, width):
    inputs = image(height, width, seed=1)
    _, outputs = raw_outputs(owlv2_dir, inputs.rgb, PROMPTS)
    cx, cy, w, h = outputs.pred_boxes[0].numpy().astype(np.float64).T
    side = max(height, width)  # by hand: normalised to the padded square, then clipped
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1) * side
    xyxy = np.clip(xyxy, 0, [width, height, width, height])
    scores = torch.sigmoid(outputs.logits[0]).numpy()
    best, label = scores.max(axis=1), scores.argmax(axis=1)
    keep = (xyxy[:, 2] - xyxy[:, 0] >= 1) & (xyxy[:, 3] - xyxy[:, 1] >= 1)
    assert keep.sum() >= 3 and (~keep).any()  # some boxes fall in the padding only
    order = np.flatnonzero(keep)[np.argsort(-best[keep], kind="stable")]
    detector = Owlv2Detector.from_pretrained(owlv2_dir, score_threshold=0.0, nms_threshold=None)
    found = detector.detect(inputs, PROMPTS)
    np.testing.assert_allclose(found.xyxy, xyxy[order], atol=1e-3)
    np.testing.assert_allclose(found.scores, best[order], rtol=1e-5)
    assert found.labels == tuple(PROMPTS[k] for k in label[order])


def test_the_adapter_equals_processor_model_and_post_processing_called_directly(owlv2_dir):
    inputs = image(60, 100, seed=2)
    processor, outputs = raw_outputs(owlv2_dir, inputs.rgb, PROMPTS)
    threshold = float(np.median(torch.sigmoid(outputs.logits).max(-1).values.numpy()))
    side = max(inputs.size_hw)
    expected = processor.post_process_grounded_object_detection(
        outputs, threshold=threshold, target_sizes=[(side, side)],
        text_labels=[list(PROMPTS)])[0]
    reference = transformers_detections(expected, inputs.size_hw)
    found = Owlv2Detector.from_pretrained(owlv2_dir, score_threshold=threshold,
                                          nms_threshold=None).detect(inputs, PROMPTS)
    assert 0 < len(found) < outputs.logits.shape[1]
    np.testing.assert_array_equal(found.xyxy, reference.xyxy)
    np.testing.assert_array_equal(found.scores, reference.scores)
    assert found.labels == reference.labels


def transformers_detections(result, size_hw):
    from spatial_vqa_ros.perception.types import Detections

    order = np.argsort(-result["scores"].numpy(), kind="stable")
    return Detections(result["boxes"].numpy()[order], tuple(np.array(result["text_labels"],
                                                                     object)[order]),
                      result["scores"].numpy()[order]).clipped(size_hw[1], size_hw[0])


def test_all_prompts_of_a_frame_go_through_one_forward_pass(owlv2_dir):
    detector = Owlv2Detector.from_pretrained(owlv2_dir)
    calls = []
    detector.model.register_forward_hook(
        lambda module, args, kwargs, out: calls.append(kwargs["input_ids"].shape),
        with_kwargs=True)
    detector.detect(image(48, 64), [*PROMPTS, "cup", "mug"])
    assert calls == [(6, TEXT_LEN)]


def test_class_nms_keeps_one_box_per_object_and_label():
    xyxy = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [20, 20, 30, 30],
                     [5, 5, 5, 5]], np.float32)
    scores = np.array([0.5, 0.9, 0.7, 0.3, 0.8], np.float32)
    classes = np.array([0, 0, 1, 0, 0])
    # box 0 overlaps the better box 1 of its class (IoU 0.68): dropped; box 2 is another
    # label, box 3 is elsewhere, the empty box 4 overlaps nothing
    np.testing.assert_array_equal(class_nms(xyxy, scores, classes, 0.5), [1, 4, 2, 3])
    np.testing.assert_array_equal(class_nms(xyxy, scores, classes, 0.7), [1, 4, 2, 0, 3])
    np.testing.assert_array_equal(class_nms(xyxy, scores, classes, None), [1, 4, 2, 0, 3])
    assert class_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int), 0.5).shape == (0,)


def test_nms_leaves_no_two_overlapping_boxes_of_one_label(owlv2_dir):
    inputs = image(64, 64, seed=3)
    loose = Owlv2Detector.from_pretrained(owlv2_dir, score_threshold=0.0, nms_threshold=None)
    strict = Owlv2Detector.from_pretrained(owlv2_dir, score_threshold=0.0, nms_threshold=0.0)
    everything, kept = loose.detect(inputs, PROMPTS), strict.detect(inputs, PROMPTS)
    assert 0 < len(kept) < len(everything)
    for label in set(kept.labels):
        boxes = kept.xyxy[np.array(kept.labels) == label]
        for a in range(len(boxes)):
            for b in range(a + 1, len(boxes)):
                overlap = np.minimum(boxes[a, 2:], boxes[b, 2:]) - np.maximum(boxes[a, :2],
                                                                              boxes[b, :2])
                assert (overlap <= 0).any()


def test_the_score_threshold_drops_lower_scores(owlv2_dir):
    inputs = image(48, 48, seed=4)
    everything = Owlv2Detector.from_pretrained(owlv2_dir, score_threshold=0.0,
                                               nms_threshold=None).detect(inputs, PROMPTS)
    cut = float(np.median(everything.scores))
    kept = Owlv2Detector.from_pretrained(owlv2_dir, score_threshold=cut,
                                         nms_threshold=None).detect(inputs, PROMPTS)
    assert 0 < len(kept) < len(everything) and (kept.scores > cut).all()
    assert len(Owlv2Detector.from_pretrained(owlv2_dir, score_threshold=1.0).detect(
        inputs, PROMPTS)) == 0


def test_no_prompts_is_refused_saying_to_set_labels(owlv2_dir):
    detector = Owlv2Detector.from_pretrained(owlv2_dir)
    for prompts in ([], ["", "  "]):
        with pytest.raises(PerceptionError, match=r"set them \(~/set_labels or --labels\)"):
            detector.detect(image(32, 32), prompts)


def test_repeated_prompts_are_looked_for_once(owlv2_dir):
    detector = Owlv2Detector.from_pretrained(owlv2_dir, score_threshold=0.0)
    once = detector.detect(image(32, 48), ["book", "can"])
    twice = detector.detect(image(32, 48), ["book", " can ", "book"])
    np.testing.assert_array_equal(once.xyxy, twice.xyxy)
    assert once.labels == twice.labels


def test_a_prompt_longer_than_the_text_encoder_reads_is_refused(owlv2_dir):
    detector = Owlv2Detector.from_pretrained(owlv2_dir)
    with pytest.raises(PerceptionError, match=r"at most 16 tokens.*'a very long remote"):
        detector.detect(image(32, 32), ["book", "a very long remote control"])


@pytest.mark.parametrize("options", [{"score_threshold": 1.5}, {"nms_threshold": -0.1}])
def test_thresholds_outside_zero_one_are_refused(owlv2_dir, options):
    with pytest.raises(PerceptionError, match="must be within"):
        Owlv2Detector.from_pretrained(owlv2_dir, **options)


def test_a_missing_directory_names_the_pull_command(tmp_path):
    with pytest.raises(PerceptionError, match="not found at .*spatial-vqa models pull "
                       "owlv2_base_ensemble.*google/owlv2-base-patch16-ensemble"):
        Owlv2Detector.from_pretrained(tmp_path / "owlv2_base_ensemble")


def test_a_snapshot_without_weights_or_processor_names_the_pull_command(owlv2_dir, tmp_path):
    no_weights = shutil.copytree(owlv2_dir, tmp_path / "no-weights")
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(PerceptionError, match="incomplete .*spatial-vqa models pull"):
        Owlv2Detector.from_pretrained(no_weights)
    for missing in (("processor_config.json",), ("tokenizer.json", "tokenizer_config.json")):
        partial = shutil.copytree(owlv2_dir, tmp_path / f"no-{missing[0]}")
        for name in missing:
            (partial / name).unlink()
        with pytest.raises(PerceptionError, match=f"no-{missing[0]} is corrupt .*spatial-vqa "
                           f"models pull owlv2_base_ensemble' again"):
            Owlv2Detector.from_pretrained(partial)


def test_a_snapshot_of_another_model_is_refused(owlv2_dir, tmp_path):
    other = shutil.copytree(owlv2_dir, tmp_path / "other")
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "model_type": "owlvit"}))
    with pytest.raises(PerceptionError, match="'owlvit' model, not OWLv2"):
        Owlv2Detector.from_pretrained(other)


def test_it_loads_with_the_hub_offline(owlv2_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert len(Owlv2Detector.from_pretrained(owlv2_dir, score_threshold=0.0).detect(
        image(40, 56), PROMPTS)) > 0


def test_build_chain_builds_a_chain_with_owlv2_from_a_local_snapshot(owlv2_dir):
    from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain

    chain = build_chain(PerceptionSpec(detector="owlv2", detector_model=str(owlv2_dir),
                                       segmenter="depth_box", detector_score_threshold=0.05))
    assert isinstance(chain.detector, Owlv2Detector)
    _, rendered, _ = render_case(0)
    result = chain.run(SensorInputs(rendered.rgb, rendered.camera, rendered.depth_m),
                       ["mug", "chair"])
    assert result.provenance.detector == chain.detector.name
    ScenePipeline().process(result.capture, result.observations)

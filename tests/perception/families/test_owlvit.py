"""OWL-ViT behind the Detector seam: one forward pass per frame, boxes in image pixels.

A tiny randomly initialised ``OwlViTForObjectDetection`` (weights re-drawn so scores and
boxes vary) is saved with an ``OwlViTProcessor`` (PIL image processor, letter CLIP
tokenizer) and loaded back through ``OwlViTDetector.from_pretrained``: the real loading
code, no network. Checked: boxes scale per axis (OWL-ViT squashes the image to its square
input, it does not pad like OWLv2: a hand computation on wide and tall images), the
adapter equals processor -> model -> post-processing called directly, all prompts in one
pass, threshold, NMS per label, and the refusals.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from spatial_vqa_ros.core.pipeline import ScenePipeline  # noqa: E402
from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain  # noqa: E402
from spatial_vqa_ros.perception.families.common import class_nms  # noqa: E402
from spatial_vqa_ros.perception.families.owlvit.adapter import OwlViTDetector  # noqa: E402
from spatial_vqa_ros.perception.protocols import Detector  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402
from spatial_vqa_ros.synthetic.scoring import render_case  # noqa: E402

PROMPTS = ("a cat", "remote control", "book", "can")
TEXT_LEN = 16


def image(height: int, width: int, seed: int = 0) -> SensorInputs:
    return SensorInputs(np.random.default_rng(seed).integers(0, 256, (height, width, 3),
                                                             np.uint8))


def raw_outputs(owlvit_dir, rgb, prompts):
    """The reference path: the saved processor and model, called directly."""
    processor = transformers.OwlViTProcessor.from_pretrained(owlvit_dir, local_files_only=True,
                                                             backend="pil")
    model = transformers.OwlViTForObjectDetection.from_pretrained(
        owlvit_dir, local_files_only=True).eval()
    encoded = processor(text=[list(prompts)], images=rgb, return_tensors="pt")
    with torch.inference_mode():
        return processor, model(**encoded)


def test_detections_are_pixel_boxes_labelled_with_the_prompts(owlvit_dir):
    detector = OwlViTDetector.from_pretrained(owlvit_dir, score_threshold=0.0)
    assert isinstance(detector, Detector) and detector.name == f"owlvit:{owlvit_dir.name}"
    found = detector.detect(image(48, 80), PROMPTS)
    assert len(found) > 0 and found.xyxy.dtype == np.float32 and found.scores.dtype == np.float32
    assert set(found.labels) <= set(PROMPTS)
    assert (found.xyxy[:, [0, 2]] >= 0).all() and (found.xyxy[:, [0, 2]] <= 80).all()
    assert (found.xyxy[:, [1, 3]] >= 0).all() and (found.xyxy[:, [1, 3]] <= 48).all()
    assert ((found.scores > 0) & (found.scores <= 1)).all()
    assert (np.diff(found.scores) <= 0).all()  # best first


@pytest.mark.parametrize(("height", "width"), [(32, 96), (90, 40)])
def test_boxes_scale_by_width_and_height_not_by_a_padded_square(owlvit_dir, height, width):
    inputs = image(height, width, seed=1)
    _, outputs = raw_outputs(owlvit_dir, inputs.rgb, PROMPTS)
    cx, cy, w, h = outputs.pred_boxes[0].numpy().astype(np.float64).T
    # by hand: relative to the squashed image in each axis, then clipped
    scale = np.array([width, height, width, height])
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1) * scale
    xyxy = np.clip(xyxy, 0, [width, height, width, height])
    scores = torch.sigmoid(outputs.logits[0]).numpy()
    best, label = scores.max(axis=1), scores.argmax(axis=1)
    keep = (xyxy[:, 2] - xyxy[:, 0] >= 1) & (xyxy[:, 3] - xyxy[:, 1] >= 1)
    order = np.flatnonzero(keep)[np.argsort(-best[keep], kind="stable")]
    found = OwlViTDetector.from_pretrained(owlvit_dir, score_threshold=0.0,
                                           nms_threshold=None).detect(inputs, PROMPTS)
    np.testing.assert_allclose(found.xyxy, xyxy[order], atol=1e-3)
    np.testing.assert_allclose(found.scores, best[order], rtol=1e-5)
    assert found.labels == tuple(PROMPTS[k] for k in label[order])
    # OWLv2's rule (the longer side for both axes) would put boxes elsewhere
    square = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1) * max(height, width)
    assert np.abs(np.clip(square, 0, scale)[order] - found.xyxy).max() > 5


def test_the_adapter_equals_processor_model_and_post_processing_called_directly(owlvit_dir):
    inputs = image(60, 100, seed=2)
    processor, outputs = raw_outputs(owlvit_dir, inputs.rgb, PROMPTS)
    threshold = float(np.median(torch.sigmoid(outputs.logits).max(-1).values.numpy()))
    expected = processor.post_process_grounded_object_detection(
        outputs, threshold=threshold, target_sizes=[inputs.size_hw])[0]
    order = np.argsort(-expected["scores"].numpy(), kind="stable")
    found = OwlViTDetector.from_pretrained(owlvit_dir, score_threshold=threshold,
                                           nms_threshold=None).detect(inputs, PROMPTS)
    assert 0 < len(found) < outputs.logits.shape[1]
    np.testing.assert_array_equal(found.xyxy, np.clip(expected["boxes"].numpy()[order], 0,
                                                      [100, 60, 100, 60]))
    np.testing.assert_array_equal(found.scores, expected["scores"].numpy()[order])
    assert found.labels == tuple(PROMPTS[int(k)] for k in expected["labels"][order])


def test_all_prompts_of_a_frame_go_through_one_forward_pass(owlvit_dir):
    detector = OwlViTDetector.from_pretrained(owlvit_dir)
    calls = []
    detector.model.register_forward_hook(
        lambda module, args, kwargs, out: calls.append(
            (kwargs["input_ids"].shape, kwargs["pixel_values"].shape)), with_kwargs=True)
    detector.detect(image(48, 64), [*PROMPTS, "cup", "mug"])
    assert calls == [((6, TEXT_LEN), (1, 3, 64, 64))]


def test_nms_leaves_no_two_overlapping_boxes_of_one_label(owlvit_dir):
    inputs = image(64, 64, seed=3)
    loose = OwlViTDetector.from_pretrained(owlvit_dir, score_threshold=0.0, nms_threshold=None)
    strict = OwlViTDetector.from_pretrained(owlvit_dir, score_threshold=0.0, nms_threshold=0.0)
    everything, kept = loose.detect(inputs, PROMPTS), strict.detect(inputs, PROMPTS)
    assert 0 < len(kept) < len(everything)
    classes = np.array([PROMPTS.index(label) for label in everything.labels])
    expected = class_nms(everything.xyxy, everything.scores, classes, 0.0)
    np.testing.assert_array_equal(kept.xyxy, everything.xyxy[expected])


def test_the_score_threshold_drops_lower_scores(owlvit_dir):
    inputs = image(48, 48, seed=4)
    everything = OwlViTDetector.from_pretrained(owlvit_dir, score_threshold=0.0,
                                                nms_threshold=None).detect(inputs, PROMPTS)
    cut = float(np.median(everything.scores))
    kept = OwlViTDetector.from_pretrained(owlvit_dir, score_threshold=cut,
                                          nms_threshold=None).detect(inputs, PROMPTS)
    assert 0 < len(kept) < len(everything) and (kept.scores > cut).all()
    assert len(kept) == int((everything.scores > cut).sum())
    assert len(OwlViTDetector.from_pretrained(owlvit_dir, score_threshold=1.0).detect(
        inputs, PROMPTS)) == 0


def test_build_chain_runs_owlvit_from_a_local_snapshot_into_a_scene_graph(owlvit_dir):
    chain = build_chain(PerceptionSpec(detector="owlvit", detector_model=str(owlvit_dir),
                                       segmenter="depth_box", detector_score_threshold=0.05))
    assert isinstance(chain.detector, OwlViTDetector)
    assert chain.detector.score_threshold == pytest.approx(0.05)
    _, rendered, _ = render_case(0)
    labels = sorted(set(rendered.id_to_label.values()))
    result = chain.run(SensorInputs(rendered.rgb, rendered.camera, rendered.depth_m), labels)
    assert len(result.detections) > 0 and set(result.detections.labels) <= set(labels)
    assert result.provenance.detector == f"owlvit:{owlvit_dir.name}"
    graph = ScenePipeline().process(result.capture, result.observations).graph
    assert {o.label for o in graph.objects} <= set(labels)


def test_no_prompts_is_refused_saying_to_set_labels(owlvit_dir):
    detector = OwlViTDetector.from_pretrained(owlvit_dir)
    with pytest.raises(PerceptionError, match=r"set them \(~/set_labels or --labels\)"):
        detector.detect(image(32, 32), ["", "  "])


def test_a_prompt_longer_than_the_text_encoder_reads_is_refused(owlvit_dir):
    detector = OwlViTDetector.from_pretrained(owlvit_dir)
    with pytest.raises(PerceptionError, match=r"OWL-ViT reads at most 16 tokens.*'a very long"):
        detector.detect(image(32, 32), ["book", "a very long remote control"])


@pytest.mark.parametrize("options", [{"score_threshold": 1.5}, {"nms_threshold": -0.1}])
def test_thresholds_outside_zero_one_are_refused(owlvit_dir, options):
    with pytest.raises(PerceptionError, match="must be within"):
        OwlViTDetector.from_pretrained(owlvit_dir, **options)


def test_a_missing_directory_names_the_pull_command(tmp_path):
    with pytest.raises(PerceptionError, match="OWL-ViT model not found at .*spatial-vqa "
                       "models pull owlvit_base_patch32.*google/owlvit-base-patch32"):
        OwlViTDetector.from_pretrained(tmp_path / "owlvit_base_patch32")


def test_a_snapshot_without_tokenizer_files_is_corrupt(owlvit_dir, tmp_path):
    partial = shutil.copytree(owlvit_dir, tmp_path / "no-tokenizer")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (partial / name).unlink()
    with pytest.raises(PerceptionError, match="no-tokenizer is corrupt .*spatial-vqa models "
                       "pull owlvit_base_patch32' again"):
        OwlViTDetector.from_pretrained(partial)


def test_a_snapshot_of_another_model_is_refused(owlvit_dir, tmp_path):
    other = shutil.copytree(owlvit_dir, tmp_path / "other")
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "model_type": "owlv2"}))
    with pytest.raises(PerceptionError, match="'owlv2' model, not OWL-ViT"):
        OwlViTDetector.from_pretrained(other)


def test_a_processor_that_crops_instead_of_resizing_the_whole_image_is_refused(owlvit_dir,
                                                                             tmp_path):
    cropping = shutil.copytree(owlvit_dir, tmp_path / "cropping")
    settings = json.loads((cropping / "processor_config.json").read_text())
    settings["image_processor"]["size"] = {"shortest_edge": 64}
    (cropping / "processor_config.json").write_text(json.dumps(settings))
    with pytest.raises(PerceptionError, match="does not resize the whole image.*relative to "
                       "a crop"):
        OwlViTDetector.from_pretrained(cropping)


def test_importing_the_family_does_not_import_torch():
    code = ("import sys, spatial_vqa_ros.perception.families.owlvit.onnx_adapter; "
            "sys.exit('torch' in sys.modules or 'transformers' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0

"""What the transformers families share (families/common.py): the checks each adapter
used to write out itself."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.families.common import (
    PromptedDetector,
    check_boxes,
    encode_owl_query,
    load_checked_model,
    owl_graph_forward,
)
from spatial_vqa_ros.perception.families.sam2.adapter import HUB_ID, load_processing


def test_box_prompts_become_float32_n_by_4_pixels():
    boxes = check_boxes([[1, 2, 30, 40], [5.5, 6, 7, 8]])
    assert boxes.dtype == np.float32 and boxes.shape == (2, 4)
    np.testing.assert_array_equal(boxes[1], [5.5, 6, 7, 8])
    assert check_boxes(np.zeros((0, 4))).shape == (0, 4)


@pytest.mark.parametrize(("boxes", "message"), [
    (np.zeros((2, 3)), r"boxes must be \(N, 4\) pixel xyxy, got shape \(2, 3\)"),
    (np.zeros(4), r"got shape \(4,\)"),
    (np.array([[0, 0, np.inf, 4]]), "boxes must be finite pixel coordinates")])
def test_box_prompts_of_another_shape_or_not_finite_are_refused(boxes, message):
    with pytest.raises(PerceptionError, match=message):
        check_boxes(boxes)


def load_sam2(model_dir):
    return load_checked_model(model_dir, family="sam2", label="SAM2", hub_id=HUB_ID,
                              model_class="Sam2Model", load_processing=load_processing,
                              runs_note=" (Sam2Model)")


def test_a_checked_snapshot_gives_its_directory_processing_and_model_in_eval_mode(sam2_dir):
    directory, processing, model = load_sam2(sam2_dir)
    assert directory == sam2_dir and processing == load_processing(sam2_dir)
    assert type(model).__name__ == "Sam2Model" and not model.training


def test_a_snapshot_of_another_model_type_is_named_before_its_weights_are_read(
        depth_pro_dir):
    with pytest.raises(PerceptionError, match=r"holds a 'depth_pro' model; the sam2 family "
                       r"runs 'sam2' \(Sam2Model\) snapshots"):
        load_sam2(depth_pro_dir)


def test_unreadable_weights_say_the_snapshot_is_corrupt(sam2_dir, tmp_path):
    broken = tmp_path / "sam2"
    broken.mkdir()
    for path in sam2_dir.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(PerceptionError, match="corrupt"):
        load_sam2(broken)


class FakeModel:
    def __init__(self):
        self.calls = []

    def to(self, device):
        self.calls.append(("to", str(device)))
        return self

    def eval(self):
        self.calls.append(("eval",))
        return self


def test_a_prompted_detector_holds_its_model_in_eval_mode_and_float_thresholds():
    pytest.importorskip("torch")
    model = FakeModel()
    detector = PromptedDetector(model, "processor", name="owl", device="cpu",
                                score_threshold=1, nms_threshold=None)
    assert model.calls == [("to", "cpu"), ("eval",)] and detector.model is model
    assert (detector.name, detector.processor, str(detector.device)) == ("owl", "processor",
                                                                         "cpu")
    assert detector.score_threshold == 1.0 and isinstance(detector.score_threshold, float)
    assert detector.nms_threshold is None


@pytest.mark.parametrize(("thresholds", "message"), [
    ({"score_threshold": 1.5, "text_threshold": 2.0, "nms_threshold": 3.0},
     r"score_threshold must be within \[0, 1\], got 1.5"),
    ({"score_threshold": 0.5, "text_threshold": 2.0, "nms_threshold": 3.0},
     r"text_threshold must be within \[0, 1\], got 2.0"),
    ({"score_threshold": 0.5, "text_threshold": 0.5, "nms_threshold": 3.0},
     r"nms_threshold must be within \[0, 1\] or None \(off\), got 3.0")])
def test_a_prompted_detector_names_the_first_bad_threshold_score_then_own_then_nms(
        thresholds, message):
    pytest.importorskip("torch")
    with pytest.raises(PerceptionError, match=message):
        PromptedDetector(FakeModel(), None, name="d", device="cpu",
                         score_threshold=thresholds["score_threshold"],
                         nms_threshold=thresholds["nms_threshold"],
                         thresholds={"text_threshold": thresholds["text_threshold"]})


def test_the_owl_graph_forward_passes_tensors_by_name_and_returns_logits_then_boxes():
    from types import SimpleNamespace

    seen = {}

    def model(**kwargs):
        seen.update(kwargs)
        return SimpleNamespace(logits="L", pred_boxes="B", text_embeds="unused")

    assert owl_graph_forward(model, "pixels", "ids", "mask") == ("L", "B")
    assert seen == {"pixel_values": "pixels", "input_ids": "ids", "attention_mask": "mask"}


def _recording_processor(calls):
    def processor(**kwargs):
        calls.append(kwargs)
        return {"pixel_values": "encoded"}
    return processor


@pytest.mark.parametrize("tensors", ["pt", "np"])
def test_an_owl_query_is_the_cleaned_labels_and_the_processor_output_in_that_tensor_type(
        tensors):
    calls, checked = [], []
    rgb = np.zeros((6, 8, 3), np.uint8)
    labels, encoded = encode_owl_query(_recording_processor(calls), rgb,
                                       [" cup ", "", "cup", "box"], checked.append, tensors)
    assert labels == ("cup", "box") and checked == [("cup", "box")]
    assert encoded == {"pixel_values": "encoded"}
    (call,) = calls
    assert call["text"] == [["cup", "box"]] and call["return_tensors"] == tensors
    assert call["images"].size == (8, 6)  # a PIL image of the frame, (W, H)


def _refuse(labels):
    raise PerceptionError(f"too long: {labels}")


@pytest.mark.parametrize(("prompts", "rgb", "message"), [
    (["  "], np.zeros((2, 2), np.uint8), "no labels to detect"),  # prompts checked first
    (["cup"], np.zeros((2, 2), np.uint8), r"rgb must be \(H, W, 3\) uint8"),  # then image
    (["cup"], np.zeros((2, 2, 3), np.uint8), "too long"),  # then the label lengths
])
def test_an_owl_query_checks_prompts_then_image_then_label_lengths_before_encoding(
        prompts, rgb, message):
    calls = []
    with pytest.raises(PerceptionError, match=message):
        encode_owl_query(_recording_processor(calls), rgb, prompts, _refuse, "pt")
    assert calls == []

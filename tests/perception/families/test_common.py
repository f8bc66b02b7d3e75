"""What the transformers families share (families/common.py): the checks each adapter
used to write out itself."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.families.common import check_boxes, load_checked_model
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

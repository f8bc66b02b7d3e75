"""What the transformers families share (families/common.py): the checks each adapter
used to write out itself."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.families.common import check_boxes


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

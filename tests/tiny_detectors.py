"""Tiny real ONNX detectors: an SSD whose output is fixed rows whatever the image, so a
test knows what each checkpoint finds (and which one runs: the detector is named after
the file). Needs onnx, imported when one is written. Shared by the opencv_dnn family
tests and the live-parameter tests; the tests directory is on ``sys.path``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: SSD rows [batch, class id, score, x0, y0, x1, y1] (normalised): a weak cup on the
#: left, a sure chair on the right, a bottle in the middle (COCO ids 47, 62, 44).
CUP = [0, 47, 0.6, 0.05, 0.3, 0.3, 0.7]
CHAIR = [0, 62, 0.9, 0.7, 0.3, 0.95, 0.7]
BOTTLE = [0, 44, 0.9, 0.4, 0.3, 0.6, 0.7]


def fixed_onnx(path: Path, rows) -> Path:
    """A real ONNX SSD whose output is ``rows`` whatever the image."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rows = np.asarray(rows, np.float32).reshape(1, 1, -1, 7)
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["image"], ["mean"], keepdims=1),
         helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
         helper.make_node("Add", ["nothing", "rows"], ["detection_out"])],
        "fixed_ssd",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 300, 300])],
        [helper.make_tensor_value_info("detection_out", TensorProto.FLOAT, list(rows.shape))],
        [numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.float32), "zero"),
         numpy_helper.from_array(rows, "rows")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return Path(path)

"""How the ``opencv_dnn`` detector is built from a spec: its weights are a model file
(not a registry snapshot) and its class table is COCO's."""

from __future__ import annotations

from typing import Any

from ...errors import PerceptionError


def build(spec: Any) -> Any:
    """A closed-set detector with the COCO class table (the TF model zoo's SSD family)."""
    from ...opencv_dnn import COCO_90_CLASSES, OpenCVDetector

    if not spec.detector_model:
        raise PerceptionError("the opencv_dnn detector needs detector_model: the local path "
                              "of its weights (.pb with detector_config .pbtxt, or .onnx)")
    return OpenCVDetector.from_files(spec.detector_model, spec.detector_config or None,
                                     class_names=COCO_90_CLASSES,
                                     score_threshold=spec.detector_score_threshold or 0.5)


__all__ = ["build"]

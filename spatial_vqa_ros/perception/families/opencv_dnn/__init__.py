"""The ``opencv_dnn`` detector: closed-set detectors through OpenCV DNN."""

from ..descriptor import FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="opencv_dnn", package=__name__,
    adapters={"detector": "...opencv_dnn:OpenCVDetector"},
    factory=".factory:build",
    model_field="detector_model",
    thresholded=True,
    summary="closed-set, OpenCV DNN",
    notes="closed-set detectors through OpenCV DNN (TF frozen graph + pbtxt, or ONNX; COCO "
    "class table; prompts mapped to classes through a synonyms table, unknown prompts "
    "reported)",
)

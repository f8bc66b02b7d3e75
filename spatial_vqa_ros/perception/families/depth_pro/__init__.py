"""The ``depth_pro`` family: Apple's Depth Pro, with its field-of-view head.

The depth_pro family: adapter.py, the torch adapter;
onnx_adapter.py: its ONNX export and ONNX Runtime adapter."""

from ..descriptor import Checkpoint, ExportSpec, FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="depth_pro", package=__name__,
    adapters={"depth": ".adapter:DepthProDepth"},
    model_field="depth_model",
    summary="Depth Pro",
    notes="Depth Pro; without CameraInfo its field-of-view head gives fx, and the frame's "
    "intrinsics are marked `model` (estimated) in the provenance",
    checkpoints=(
        Checkpoint("depth_pro", "apple/DepthPro-hf", "apple-amlr", "depth",
                   note="research use only: read the licence before shipping"),
    ),
    export=ExportSpec(
        graphs=("model.onnx",), adapter=".onnx_adapter:DepthProOnnxDepth",
        summary="at its fixed input"),
)

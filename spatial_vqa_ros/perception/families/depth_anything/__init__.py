"""The ``depth_anything`` family: Depth Anything V2 metric and Prompt Depth Anything.

The depth_anything family: adapter.py, the torch adapter;
onnx_adapter.py: its ONNX export and ONNX Runtime adapter."""

from ..descriptor import Checkpoint, ExportSpec, FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="depth_anything", package=__name__,
    adapters={"depth": ".adapter:DepthAnythingDepth"},
    model_field="depth_model",
    summary="Depth Anything V2 metric / Prompt Depth Anything",
    notes="Depth Anything V2 metric (indoor/outdoor) or Prompt Depth Anything, which takes "
    "the sensor depth as its prompt (in metres) where there is one",
    checkpoints=(
        Checkpoint("depth_anything_v2_metric_indoor_small",
                   "depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf", "apache-2.0",
                   "depth"),
        Checkpoint("depth_anything_v2_metric_outdoor_small",
                   "depth-anything/Depth-Anything-V2-Metric-Outdoor-Small-hf", "apache-2.0",
                   "depth"),
        Checkpoint("prompt_depth_anything_vits", "depth-anything/prompt-depth-anything-vits-hf",
                   "apache-2.0", "depth"),
    ),
    export=ExportSpec(
        graphs=("model.onnx",), adapter=".onnx_adapter:DepthAnythingOnnxDepth", sized=True,
        summary="at the camera size, which its head fixes"),
)

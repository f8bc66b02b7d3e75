"""The ``sam2`` segmenter: SAM 2.1 on single images (transformers-native classes).

The sam2 family: adapter.py, the torch adapter;
onnx_adapter.py: its ONNX export and ONNX Runtime adapter."""

from ..descriptor import Checkpoint, ExportSpec, FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="sam2", package=__name__,
    adapters={"segmenter": ".adapter:Sam2Segmenter"},
    model_field="segmenter_model",
    summary="SAM 2.1",
    notes="SAM2.1, the transformers-native classes: the image embedding once per frame and "
    "every box in one decoder call",
    checkpoints=(
        Checkpoint("sam2_hiera_tiny", "facebook/sam2.1-hiera-tiny", "apache-2.0", "segmenter"),
        Checkpoint("sam2_hiera_large", "facebook/sam2.1-hiera-large", "apache-2.0",
                   "segmenter", note="the gpu_quality preset's segmenter"),
    ),
    export=ExportSpec(
        graphs=("image_encoder.onnx", "mask_decoder.onnx"),
        adapter=".onnx_adapter:Sam2OnnxSegmenter", dynamic_inputs=("input_boxes: boxes",),
        summary="as image encoder + box decoder"),
)

"""The ``sam`` segmenter: Segment Anything (SamModel), every box in one decoder call.

The sam family: adapter.py, the torch adapter;
onnx_adapter.py: its ONNX export and ONNX Runtime adapter."""

from ..descriptor import Checkpoint, ExportSpec, FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="sam", package=__name__,
    adapters={"segmenter": ".adapter:SamSegmenter"},
    model_field="segmenter_model",
    summary="Segment Anything",
    notes="SAM: the image embedding once per frame and every box in one decoder call",
    checkpoints=(
        Checkpoint("sam_vit_base", "facebook/sam-vit-base", "apache-2.0", "segmenter"),
        Checkpoint("slimsam_50_uniform", "nielsr/slimsam-50-uniform", "apache-2.0",
                   "segmenter", note="SlimSAM-50: SAM ViT-B pruned to half width (hidden "
                   "384, MLP 1536), the same SamModel"),
    ),
    export=ExportSpec(
        graphs=("image_encoder.onnx", "mask_decoder.onnx"),
        adapter=".onnx_adapter:SamOnnxSegmenter", dynamic_inputs=("input_boxes: boxes",),
        summary="as image encoder + box decoder"),
)

"""The ``owlvit`` detector: OWL-ViT (v1), every prompt in one pass.

The owlvit family: adapter.py, the torch adapter;
onnx_adapter.py: its ONNX export and ONNX Runtime adapter."""

from ..descriptor import Checkpoint, ExportSpec, FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="owlvit", package=__name__,
    adapters={"detector": ".adapter:OwlViTDetector"},
    model_field="detector_model",
    thresholded=True,
    summary="OWL-ViT, open vocabulary, light",
    notes="OWL-ViT B/32 (768 px, 576 patches) or B/16: all prompts in one pass, the "
    "image squashed to the square input (boxes scale per axis)",
    checkpoints=(
        Checkpoint("owlvit_base_patch32", "google/owlvit-base-patch32", "apache-2.0",
                   "detector"),
        Checkpoint("owlvit_base_patch16", "google/owlvit-base-patch16", "apache-2.0",
                   "detector"),
    ),
    export=ExportSpec(
        graphs=("model.onnx",), adapter=".onnx_adapter:OwlViTOnnxDetector",
        dynamic_inputs=("input_ids: prompts", "attention_mask: prompts"),
        summary="with the number of prompts dynamic"),
)

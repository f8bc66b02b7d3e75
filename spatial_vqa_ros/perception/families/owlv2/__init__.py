"""The ``owlv2`` detector: OWLv2, every prompt in one pass.

The owlv2 family: adapter.py, the torch adapter;
onnx_adapter.py: its ONNX export and ONNX Runtime adapter."""

from ..descriptor import Checkpoint, ExportSpec, FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="owlv2", package=__name__,
    adapters={"detector": ".adapter:Owlv2Detector"},
    model_field="detector_model",
    thresholded=True,
    summary="OWLv2, open vocabulary",
    notes="all prompts in one pass",
    checkpoints=(
        Checkpoint("owlv2_base_ensemble", "google/owlv2-base-patch16-ensemble", "apache-2.0",
                   "detector"),
    ),
    export=ExportSpec(
        graphs=("model.onnx",), adapter=".onnx_adapter:Owlv2OnnxDetector",
        dynamic_inputs=("input_ids: prompts", "attention_mask: prompts"),
        summary="with the number of prompts dynamic"),
)

"""The ``grounding_dino`` detector: Grounding DINO and MM Grounding DINO.

The grounding_dino family: adapter.py, the torch adapter;
onnx_adapter.py: its ONNX export and ONNX Runtime adapter."""

from ..descriptor import Checkpoint, ExportSpec, FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="grounding_dino", package=__name__,
    adapters={"detector": ".adapter:GroundingDinoDetector"},
    model_field="detector_model",
    thresholded=True,
    summary="Grounding DINO, open vocabulary",
    notes="Grounding DINO and MM Grounding DINO; each box goes to the prompt owning most of "
    "its tokens; label lists past 256 tokens are split into passes",
    checkpoints=(
        Checkpoint("grounding_dino_tiny", "IDEA-Research/grounding-dino-tiny", "apache-2.0",
                   "detector"),
        Checkpoint("mm_grounding_dino_tiny",
                   "openmmlab-community/mm_grounding_dino_tiny_o365v1_goldg_v3det",
                   "apache-2.0", "detector"),
    ),
    export=ExportSpec(
        graphs=("model.onnx",), adapter=".onnx_adapter:GroundingDinoOnnxDetector", sized=True,
        dynamic_inputs=("all inputs: batch", "input_ids, token_type_ids, attention_mask: "
                        "prompt tokens"),
        summary="at the camera size with prompt length and batch dynamic"),
)

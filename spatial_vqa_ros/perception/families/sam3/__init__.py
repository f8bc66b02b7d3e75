"""The ``sam3`` family: SAM 3's image model, text prompts -> instance masks in one pass.

It fills the detector's and the segmenter's roles: its detections carry their masks
(``masks_from_text``), so the chain calls no segmenter on them; named for both, one
model serves both (:func:`~...factories.build_chain`). adapter.py: the torch adapter;
postprocess.py: instances from the model's outputs; onnx_adapter.py: its ONNX export
(image encoder, text encoder, prompt/mask decoder) and ONNX Runtime adapter.
"""

from ..descriptor import Checkpoint, ExportSpec, FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="sam3", package=__name__,
    adapters={"detector": ".adapter:Sam3Detector", "segmenter": ".adapter:Sam3Detector"},
    model_field="detector_model",
    thresholded=True,
    summary="SAM 3, text -> instance masks",
    notes="SAM 3 (`Sam3Model`; `Sam3LiteTextModel` snapshots too): every instance of "
    "every prompt with its mask in one pass, so as detector it fills the segmenter's role "
    "and the chain calls no segmenter (named for both, one model serves both; it segments "
    "no other detector's boxes: box prompts need torchvision); weights gated on the hub under "
    "Meta's SAM License (pull with HF_TOKEN set)",
    checkpoints=(
        Checkpoint("sam3", "facebook/sam3", "sam-license", "detector",
                   note="gated on the hub: accept the licence there, then pull with "
                   "HF_TOKEN set; Meta's SAM License: read it before shipping", gated=True),
    ),
    export=ExportSpec(
        graphs=("image_encoder.onnx", "text_encoder.onnx", "decoder.onnx"),
        adapter=".onnx_adapter:Sam3OnnxDetector",
        dynamic_inputs=("input_ids: prompts", "text_features: prompts"),
        summary="as image encoder + text encoder + prompt/mask decoder (text prompts only)"),
)

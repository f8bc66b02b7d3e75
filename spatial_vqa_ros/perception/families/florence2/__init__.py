"""The ``florence2`` captioner: per-image prompts from a Florence-2 caption.

The florence2 family: adapter.py, the torch adapter."""

from ..descriptor import Checkpoint, FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="florence2", package=__name__,
    adapters={"captioner": ".adapter:Florence2Vocabulary"},
    model_field="vocabulary_model",
    summary="Florence-2 captions",
    notes="each image's prompts from the noun phrases of its caption (--vocabulary-model)",
    checkpoints=(
        Checkpoint("florence2_base", "florence-community/Florence-2-base", "mit", "captioner",
                   note="the native-transformers conversion of microsoft/Florence-2-base"),
    ),
)

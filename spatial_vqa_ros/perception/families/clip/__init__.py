"""The ``clip`` tagger: CLIP image-text scores for bag2dataset's image filter.

The clip family: adapter.py, the torch adapter."""

from ..descriptor import Checkpoint, FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="clip", package=__name__,
    adapters={"tagger": ".adapter:ClipTagger"},
    model_field="tagger_model",
    summary="CLIP image tags",
    notes="image-text scores, for filtering images by tag",
    checkpoints=(
        Checkpoint("clip_vit_base_patch32", "openai/clip-vit-base-patch32", "mit", "tagger"),
    ),
)

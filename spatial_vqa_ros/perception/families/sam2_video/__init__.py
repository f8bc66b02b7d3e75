"""The ``sam2_video`` tracker: SAM 2.1's video memory (transformers Sam2VideoModel)."""

from ..descriptor import Checkpoint, FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="sam2_video", package=__name__,
    adapters={"tracker": "...trackers.sam2_video:Sam2VideoTracker"},
    model_field="tracker_model",
    summary="SAM 2.1 video memory",
    notes="SAM 2.1's video predictor (transformers `Sam2VideoModel`), one session per camera "
    "fed frame by frame, pruned to the frames the model reads",
    checkpoints=(
        Checkpoint("sam2_1_hiera_tiny_video", "facebook/sam2.1-hiera-tiny", "apache-2.0",
                   "tracker", note="the same weights as sam2_hiera_tiny, run as a video "
                   "tracker"),
    ),
)

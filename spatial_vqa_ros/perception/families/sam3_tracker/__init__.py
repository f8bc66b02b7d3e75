"""The ``sam3_tracker`` tracker: SAM 3's tracker, the SAM 2 video API with SAM 3's backbone."""

from ..descriptor import Checkpoint, FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="sam3_tracker", package=__name__,
    adapters={"tracker": "...trackers.sam3_tracker:Sam3Tracker"},
    model_field="tracker_model",
    summary="SAM 3 tracker",
    notes="SAM 3's tracker (`Sam3TrackerVideoModel`), run by the same code as `sam2_video`",
    checkpoints=(
        Checkpoint("sam3_tracker", "facebook/sam3", "sam-license", "tracker",
                   note="gated on the hub: accept the licence there before pulling; Meta's "
                   "SAM License: read it before shipping", gated=True),
    ),
)

"""The ``depth_box`` segmenter: no model, the depth-continuous surface in a box."""

from ..descriptor import FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="depth_box", package=__name__,
    adapters={"segmenter": "...depth_box:DepthBoxSegmenter"},
    summary="box + depth, no model",
    notes="no model; the depth-continuous surface at the box's core, kept to a depth band, "
    "with the surface the object stands on taken out (GPU-less RGB-D robots)",
)

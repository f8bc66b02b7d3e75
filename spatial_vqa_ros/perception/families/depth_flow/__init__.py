"""The ``depth_flow`` tracker: the camera's motion, optical flow and depth, no weights."""

from ..descriptor import FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="depth_flow", package=__name__,
    adapters={"tracker": "...trackers.depth_flow:DepthFlowTracker"},
    summary="camera motion, optical flow and depth, no weights",
    notes="the camera's motion, optical flow and depth, on the CPU with no weights",
)

"""Trackers: objects' masks carried from frame to frame between the detector's
keyframes (the :class:`~spatial_vqa_ros.perception.protocols.Tracker` seam).

``depth_flow`` (:mod:`.depth_flow`): the camera's motion, optical flow and depth, on
the CPU with no weights.
"""

from .depth_flow import DepthFlowConfig, DepthFlowTracker

__all__ = ["DepthFlowConfig", "DepthFlowTracker"]

"""Pictures of what the package sees: overlays of masks, boxes and labels (no ROS)."""

from .overlay import draw_overlay

__all__ = ["draw_overlay"]

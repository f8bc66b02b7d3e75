"""Offline tools: recorded bags through the same core as the live node."""

from .scenes import ScenesSummary, bag_scenes

__all__ = ["ScenesSummary", "bag_scenes"]

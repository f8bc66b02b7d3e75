"""What the spatial node hands between its threads: the synchronised input messages a
frame is made of (callbacks -> worker), and the immutable snapshot the services read
(worker -> service threads), so no service ever waits for a frame."""

from __future__ import annotations

from dataclasses import dataclass

from sensor_msgs.msg import Image

from ..core.capture import Capture
from ..core.pipeline import FrameResult
from ..core.scene_graph import SceneGraph

__all__ = ["FrameInputs", "Snapshot"]


@dataclass(frozen=True)
class Snapshot:
    """What services read: the graph and the capture it came from (all immutable)."""

    graph: SceneGraph
    capture: Capture | None = None
    result: FrameResult | None = None


@dataclass
class FrameInputs:
    """One frame's synchronised images and when they were received (monotonic s)."""

    rgb: Image
    depth: Image | None
    instances: Image | None
    received_s: float

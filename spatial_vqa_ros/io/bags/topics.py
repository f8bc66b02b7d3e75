"""Topic names and message types of the bag convention, shared by reading and writing.

:class:`BagTopics` names one camera's topics (the convention is in the package
docstring); :func:`ros2_typestore` is the one rosbags typestore both directions use.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

from ..errors import DataIOError

IMAGE = "sensor_msgs/msg/Image"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
STRING = "std_msgs/msg/String"


@dataclass(frozen=True)
class BagTopics:
    """Topic names of one camera in a bag; the defaults are the package doc's convention."""

    rgb: str = "/camera/color/image_raw"
    camera_info: str = "/camera/color/camera_info"
    depth: str = "/camera/depth/image_raw"
    instances: str = "/camera/instances/image_raw"
    labels: str = "/camera/instances/labels"

    def __post_init__(self) -> None:
        names = [getattr(self, f.name) for f in fields(self)]
        if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
            raise DataIOError(f"bag topics must be distinct non-empty names, got {self}")

    def msgtypes(self) -> dict[str, str]:
        """Topic name -> the message type this module reads and writes on it."""
        return {self.rgb: IMAGE, self.camera_info: CAMERA_INFO, self.depth: IMAGE,
                self.instances: IMAGE, self.labels: STRING}


#: The default topics (a module constant, so signatures need no call).
DEFAULT_TOPICS = BagTopics()


@lru_cache(maxsize=1)
def ros2_typestore() -> Typestore:
    """The rosbags typestore of ROS 2 Jazzy (built once)."""
    return get_typestore(Stores.ROS2_JAZZY)

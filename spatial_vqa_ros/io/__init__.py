"""Data in and out without ROS: sensor_msgs/Image <-> numpy, CameraInfo -> intrinsics,
and synchronised camera frames from and to rosbag2 files (sqlite3 or mcap, via rosbags).
"""

from .bags import (
    BagFrame,
    BagFrameReader,
    BagFrameWriter,
    BagTopics,
    ReadStats,
    bag_topics_summary,
    read_frames,
)
from .errors import DataIOError
from .images import (
    SUPPORTED_ENCODINGS,
    camera_info_to_intrinsics,
    image_to_numpy,
    numpy_to_image_fields,
    to_rgb,
)
from .labels import parse_labels_json

__all__ = [
    "SUPPORTED_ENCODINGS",
    "BagFrame",
    "BagFrameReader",
    "BagFrameWriter",
    "BagTopics",
    "DataIOError",
    "ReadStats",
    "bag_topics_summary",
    "camera_info_to_intrinsics",
    "image_to_numpy",
    "numpy_to_image_fields",
    "parse_labels_json",
    "read_frames",
    "to_rgb",
]

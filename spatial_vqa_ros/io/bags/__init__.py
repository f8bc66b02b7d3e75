"""rosbag2 (sqlite3 or mcap) <-> synchronised camera frames, with ``rosbags`` only.

Topic convention (:class:`BagTopics`, every name overridable):

- ``/camera/color/image_raw``: sensor_msgs/msg/Image, rgb8 (bgr8, rgba8, ... are read too)
- ``/camera/color/camera_info``: sensor_msgs/msg/CameraInfo
- ``/camera/depth/image_raw``: Image aligned to colour, 32FC1 metres or 16UC1 millimetres
- ``/camera/instances/image_raw``: Image of instance ids (16UC1 or 32SC1), 0 = none
- ``/camera/instances/labels``: std_msgs/msg/String, JSON ``{"<id>": "<label>"}``

Reading streams the bag in log-time order and keeps only a small window of messages:
an rgb image waits until each other stream has moved past its stamp (or until
``max_delay_s`` of log time has passed), then is matched and yielded.

Modules: ``topics`` (:class:`BagTopics`, the typestore), ``writer``
(:class:`BagFrameWriter`), ``reader`` (:class:`BagFrameReader`, :class:`BagFrame`),
``sync`` (the matching of messages to rgb images), ``tf_buffer`` (:class:`TfBuffer`,
``/tf`` and ``/tf_static`` answered at a stamp as tf2 answers).
"""

from .reader import BagFrame, BagFrameReader, ReadStats, bag_topics_summary, read_frames
from .tf_buffer import TfBuffer, read_tf
from .topics import BagTopics
from .writer import BagFrameWriter, encode_depth

__all__ = [
    "BagFrame",
    "BagFrameReader",
    "BagFrameWriter",
    "BagTopics",
    "ReadStats",
    "TfBuffer",
    "bag_topics_summary",
    "encode_depth",
    "read_frames",
    "read_tf",
]

"""Metric spatial understanding for ROS 2 cameras.

The generated interfaces (``spatial_vqa_ros.msg``, ``spatial_vqa_ros.srv``) live in
the colcon install tree, while the Python code may be imported from a source
checkout; extending ``__path__`` lets one import name serve both.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"

"""ROS-free core: RGB-D captures, floor, objects, relations and the scene graph.

Pure numpy/scipy/open3d; never imports rclpy or torch. Everything the nodes,
the offline tools and the benchmarks compute goes through here.
"""

from .camera import CameraIntrinsics
from .capture import Capture, Observations, depth_to_metres
from .errors import CoreError, UnknownObjectError
from .pipeline import FrameResult, PipelineConfig, ScenePipeline
from .scene_frame import SceneFrame
from .scene_graph import SceneGraph, SceneObject

__all__ = [
    "CameraIntrinsics",
    "Capture",
    "CoreError",
    "FrameResult",
    "Observations",
    "PipelineConfig",
    "SceneFrame",
    "SceneGraph",
    "SceneObject",
    "ScenePipeline",
    "UnknownObjectError",
    "depth_to_metres",
]

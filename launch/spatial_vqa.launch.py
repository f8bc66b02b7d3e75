"""Launch the spatial node for one camera.

    ros2 launch spatial_vqa_ros spatial_vqa.launch.py camera:=/camera detector:=simulation

Arguments:
  camera       namespace of the camera topics (default /camera): the node reads
               <camera>/color/image_raw, <camera>/color/camera_info,
               <camera>/depth/image_raw, <camera>/instances/image_raw and
               <camera>/instances/labels
  params_file  parameter YAML (default: the package's config/spatial_vqa.yaml)
  detector     detector family (default simulation; opencv_dnn, or package.module:Class)
  segmenter    segmenter family (default simulation; depth_box, or package.module:Class)
  namespace    namespace of the node and its services (default: none)
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node

CAMERA_TOPICS = {
    "rgb_topic": "color/image_raw",
    "camera_info_topic": "color/camera_info",
    "depth_topic": "depth/image_raw",
    "instances_topic": "instances/image_raw",
    "labels_topic": "instances/labels",
}


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("spatial_vqa_ros")
    camera = LaunchConfiguration("camera")
    topic_params = {name: PathJoinSubstitution([camera, suffix])
                    for name, suffix in CAMERA_TOPICS.items()}
    return LaunchDescription([
        DeclareLaunchArgument("camera", default_value="/camera",
                              description="namespace of the camera topics"),
        DeclareLaunchArgument("params_file",
                              default_value=os.path.join(share, "config", "spatial_vqa.yaml"),
                              description="parameter YAML of the spatial node"),
        DeclareLaunchArgument("detector", default_value="simulation",
                              description="detector family"),
        DeclareLaunchArgument("segmenter", default_value="simulation",
                              description="segmenter family"),
        DeclareLaunchArgument("namespace", default_value="",
                              description="namespace of the node"),
        DeclareLaunchArgument("qos", default_value="sensor_data",
                              description="sensor_data (robots) or reliable (bag playback)"),
        Node(
            package="spatial_vqa_ros",
            executable="spatial-vqa",
            arguments=["node"],
            name="spatial_vqa",
            namespace=LaunchConfiguration("namespace"),
            output="screen",
            parameters=[LaunchConfiguration("params_file"),
                        {"detector": LaunchConfiguration("detector"),
                         "segmenter": LaunchConfiguration("segmenter"),
                         "qos": LaunchConfiguration("qos"), **topic_params}],
        ),
    ])

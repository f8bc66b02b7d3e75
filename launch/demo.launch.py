"""Demo: replay a recorded (or generated) bag into the spatial node.

    spatial-vqa make-bag /tmp/demo_bag          # a synthetic scene with ground truth
    ros2 launch spatial_vqa_ros demo.launch.py bag:=/tmp/demo_bag

Then ask: ros2 service call /spatial_vqa/query spatial_vqa_ros/srv/QuerySpatial
"{question: 'how far is the chair from the table?'}"
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("spatial_vqa_ros")
    return LaunchDescription([
        DeclareLaunchArgument("bag", description="rosbag2 directory to replay (loops)"),
        DeclareLaunchArgument("rate", default_value="1.0", description="replay speed factor"),
        # reliable QoS: large images replayed over best effort on one host lose fragments
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(share, "launch",
                                                       "spatial_vqa.launch.py")),
            launch_arguments={"qos": "reliable"}.items()),
        ExecuteProcess(
            cmd=["ros2", "run", "spatial_vqa_ros", "spatial-vqa", "play",
                 LaunchConfiguration("bag"), "--loop", "--rate", LaunchConfiguration("rate")],
            output="screen"),
    ])

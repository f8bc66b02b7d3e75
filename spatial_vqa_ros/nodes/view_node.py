"""``spatial_vqa_view``: a running spatial node's image, scene graph and reward, served
to the Foxglove web app (:class:`~spatial_vqa_ros.viz.foxglove_view.LiveView`).

Wiring only: subscribe, convert the message to the view's types, publish. Parameters:
``image_topic`` (the rgb the node sees), ``scene_graph_topic``, ``reward_topic``,
``host`` (default 127.0.0.1: only this machine; "0.0.0.0" to serve the robot's
network, on purpose) and ``port`` (8765, Foxglove's default). A frame that cannot be
converted is logged and skipped; the server keeps serving.
"""

from __future__ import annotations

import sys

from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from ..core.errors import CoreError
from ..io.errors import DataIOError
from ..io.images import image_to_numpy, to_rgb
from ..msg import DistanceReward, SceneGraph
from ..viz.foxglove_view import BoxObject, LiveView
from .conversions import stamp_to_ns
from .runner import run_node

#: The largest TCP port.
MAX_PORT = 65535


def box_objects(graph: SceneGraph) -> list[BoxObject]:
    """The visible objects of a SceneGraph message as the 3D panel's boxes."""
    return [BoxObject(int(o.id), o.description, (o.center.x, o.center.y, o.center.z),
                      (o.size.x, o.size.y, o.size.z), bool(o.partial))
            for o in graph.objects if o.visible]


class ViewNode(Node):
    def __init__(self) -> None:
        super().__init__("spatial_vqa_view")
        image_topic = self.declare_parameter("image_topic", "/camera/color/image_raw").value
        graph_topic = self.declare_parameter("scene_graph_topic",
                                             "/spatial_vqa/scene_graph").value
        reward_topic = self.declare_parameter("reward_topic", "/spatial_vqa/reward").value
        host = self.declare_parameter("host", "127.0.0.1").value
        port = self.declare_parameter("port", 8765).value
        if not 0 <= port <= MAX_PORT:
            raise ValueError(f"parameter port must be within 0..{MAX_PORT} (0: any free "
                             f"port), got {port}")
        try:
            self.view = LiveView(host=host, port=port)
        except (RuntimeError, OSError) as error:  # foxglove-sdk missing, port taken
            raise ValueError(f"the live view cannot start on {host}:{port}: {error}") from None
        self.create_subscription(Image, image_topic, self._image, qos_profile_sensor_data)
        self.create_subscription(SceneGraph, graph_topic, self._graph, 10)
        self.create_subscription(DistanceReward, reward_topic, self._reward, 10)
        self.get_logger().info(f"Foxglove live view on ws://{host}:{self.view.port} "
                               f"({image_topic}, {graph_topic}, {reward_topic}): open "
                               "https://app.foxglove.dev and connect to it")

    def _image(self, msg: Image) -> None:
        try:
            rgb = to_rgb(image_to_numpy(msg), msg.encoding)
        except (CoreError, DataIOError) as error:
            self.get_logger().warning(f"image not shown: {error}",
                                      throttle_duration_sec=5.0)
            return
        self.view.publish_image(rgb, msg.header.frame_id, stamp_to_ns(msg.header.stamp))

    def _graph(self, msg: SceneGraph) -> None:
        self.view.publish_scene(box_objects(msg), msg.header.frame_id,
                                stamp_to_ns(msg.header.stamp))

    def _reward(self, msg: DistanceReward) -> None:
        self.view.publish_reward(f"{msg.source}:{msg.target}", msg.distance, msg.reward,
                                 msg.valid, stamp_to_ns(msg.header.stamp))

    def destroy_node(self) -> None:
        view = getattr(self, "view", None)  # absent when the server refused to start
        if view is not None:
            view.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(ViewNode, args, "spatial_vqa_view")


if __name__ == "__main__":
    sys.exit(main(sys.argv))

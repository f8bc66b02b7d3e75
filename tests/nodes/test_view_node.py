"""`spatial-vqa view` as a process over real DDS: a SceneGraph and an image published
here reach a Foxglove WebSocket client as a decoded SceneUpdate and RawImage; a port
that is taken is refused with the reason."""

from __future__ import annotations

import base64
import json
import socket
import struct
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy")
pytest.importorskip("foxglove")
websockets_sync = pytest.importorskip("websockets.sync.client")

from ros_support import RELIABLE, running, spin_until  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from spatial_vqa_ros.msg import SceneGraph, SceneObject  # noqa: E402

from spatial_vqa_ros.core.stamps import split_ns  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def view_command(port: int) -> list[str]:
    import sys

    return [sys.executable, "-m", "spatial_vqa_ros.cli", "view", "--ros-args",
            "-p", f"port:={port}", "-p", "image_topic:=/viewtest/rgb",
            "-p", "scene_graph_topic:=/viewtest/scene_graph",
            "-p", "reward_topic:=/viewtest/reward"]


def graph_msg() -> SceneGraph:
    msg = SceneGraph()
    msg.header.frame_id = "camera_floor"
    msg.header.stamp.sec, msg.header.stamp.nanosec = split_ns(1_700_000_000_000_000_000)
    mug = SceneObject(id=3, label="mug", description="the mug", visible=True)
    mug.center.x, mug.center.y, mug.center.z = 2.0, 0.4, 0.05
    mug.size.x, mug.size.y, mug.size.z = 0.1, 0.1, 0.1
    gone = SceneObject(id=4, label="box", description="the box", visible=False)
    msg.objects = [mug, gone]
    return msg


def image_msg() -> Image:
    rgb = np.full((4, 6, 3), 200, np.uint8)
    return Image(height=4, width=6, encoding="rgb8", step=18, data=rgb.tobytes())


def decoder(channel: dict):
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    files = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(channel["schema"]))
    pool = descriptor_pool.DescriptorPool()
    for proto in files.file:
        pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(channel["schemaName"]))


def connect_when_up(port: int, log: Path):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            return websockets_sync.connect(f"ws://127.0.0.1:{port}",
                                           subprotocols=["foxglove.sdk.v1"], open_timeout=2)
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the view server did not start:\n{log.read_text()[-2000:]}")


def test_messages_published_to_ros_reach_a_foxglove_client(client_node, tmp_path):
    port = free_port()
    graphs = client_node.create_publisher(SceneGraph, "/viewtest/scene_graph", RELIABLE)
    images = client_node.create_publisher(Image, "/viewtest/rgb", 10)
    log = tmp_path / "view.log"
    with running(view_command(port), log), connect_when_up(port, log) as ws:
        channels = {}
        while len(channels) < 3:
            message = json.loads(ws.recv(timeout=10))
            if message["op"] == "advertise":
                channels.update({c["id"]: c for c in message["channels"]})
        ws.send(json.dumps({"op": "subscribe", "subscriptions": [
            {"id": cid, "channelId": cid} for cid in channels]}))
        received = {}

        def pump():
            graphs.publish(graph_msg())
            images.publish(image_msg())
            try:
                message = ws.recv(timeout=0.2)
            except TimeoutError:
                return False
            if isinstance(message, bytes) and message[0] == 0x01:
                channel = channels[struct.unpack_from("<I", message, 1)[0]]
                if channel["encoding"] == "protobuf":
                    received[channel["topic"]] = decoder(channel).FromString(message[13:])
            return len(received) >= 2

        assert spin_until(client_node, pump, 30.0), log.read_text()[-2000:]
    scene = received["/spatial_vqa/scene"]
    assert [e.id for e in scene.entities] == ["3"]  # the invisible object is not drawn
    assert scene.entities[0].frame_id == "camera_floor"
    assert scene.entities[0].texts[0].text.startswith("the mug")
    image = received["/spatial_vqa/image"]
    assert (image.width, image.height, image.encoding) == (6, 4, "rgb8")


def test_a_taken_port_is_refused_with_the_reason(ros, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log = tmp_path / "view.log"
        with running(view_command(port), log) as proc:
            proc.wait(timeout=30)
    assert proc.returncode == 2
    assert "cannot start on 127.0.0.1" in log.read_text()


@pytest.mark.parametrize("port,message", [
    ("abc", "Trying to set parameter 'port' to 'abc' of type 'STRING', expecting type "
     "'INTEGER'"),
    ("70000", "parameter port must be within 0..65535 (0: any free port), got 70000"),
    ("-1", "parameter port must be within 0..65535 (0: any free port), got -1"),
])
def test_a_port_that_is_not_a_port_exits_2_naming_it(port, message):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "spatial_vqa_ros.cli", "view", "--ros-args",
                             "-p", f"port:={port}"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"spatial_vqa_view: {message}" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr

"""The Foxglove live view, checked with a WebSocket client speaking the Foxglove
protocol: the channels it advertises, and one message of each decoded (protobuf from the
advertised schema, JSON) with the values that were published."""

from __future__ import annotations

import base64
import json
import struct
import time

import numpy as np
import pytest

pytest.importorskip("foxglove")
websockets_sync = pytest.importorskip("websockets.sync.client")

from spatial_vqa_ros.viz.foxglove_view import TOPICS, BoxObject, LiveView  # noqa: E402

SUBPROTOCOL = "foxglove.sdk.v1"


def protobuf_class(channel: dict):
    """The message class of an advertised protobuf channel (its FileDescriptorSet)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    files = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(channel["schema"]))
    pool = descriptor_pool.DescriptorPool()
    for proto in files.file:
        pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(channel["schemaName"]))


def receive_json(ws, op: str, timeout_s: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = ws.recv(timeout=timeout_s)
        if isinstance(message, str) and json.loads(message).get("op") == op:
            return json.loads(message)
    raise AssertionError(f"no {op} message")


@pytest.fixture
def view():
    live = LiveView(port=0)
    yield live
    live.close()


def test_a_client_sees_the_channels_and_decodes_one_message_of_each(view):
    with websockets_sync.connect(f"ws://127.0.0.1:{view.port}",
                                 subprotocols=[SUBPROTOCOL]) as ws:
        assert receive_json(ws, "serverInfo")["name"] == "spatial_vqa_ros"
        channels = {c["topic"]: c for c in receive_json(ws, "advertise")["channels"]}
        assert channels[TOPICS["image"]]["schemaName"] == "foxglove.RawImage"
        assert channels[TOPICS["scene"]]["schemaName"] == "foxglove.SceneUpdate"
        assert channels[TOPICS["reward"]]["encoding"] == "json"
        by_subscription = {k + 1: c for k, c in enumerate(channels.values())}
        ws.send(json.dumps({"op": "subscribe", "subscriptions": [
            {"id": k, "channelId": c["id"]} for k, c in by_subscription.items()]}))
        time.sleep(0.3)  # the server registers the subscriptions

        rgb = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
        view.publish_image(rgb, "camera_optical_frame", 1_700_000_000_123_456_789)
        view.publish_scene([BoxObject(7, "the red mug", (2.0, 0.5, 0.06), (0.1, 0.1, 0.12)),
                            BoxObject(8, "the shelf", (3.0, -1.0, 0.9), (0.4, 0.8, 1.8),
                                      partial=True)], "camera_floor", 1_700_000_000_2)
        view.publish_reward("gripper:cube", 0.42, -0.42, True, 1_700_000_000_3)

        decoded = {}
        deadline = time.monotonic() + 5.0
        while len(decoded) < 3 and time.monotonic() < deadline:
            message = ws.recv(timeout=5.0)
            if not isinstance(message, bytes) or message[0] != 0x01:
                continue
            subscription, log_time = struct.unpack_from("<IQ", message, 1)
            payload = message[13:]
            channel = by_subscription[subscription]
            if channel["encoding"] == "json":
                decoded[channel["topic"]] = (log_time, json.loads(payload))
            else:
                decoded[channel["topic"]] = (log_time,
                                             protobuf_class(channel).FromString(payload))
    log_time, image = decoded[TOPICS["image"]]
    assert log_time == 1_700_000_000_123_456_789
    assert (image.width, image.height, image.encoding, image.step) == (6, 4, "rgb8", 18)
    assert image.data == rgb.tobytes() and image.frame_id == "camera_optical_frame"
    _, scene = decoded[TOPICS["scene"]]
    assert [e.id for e in scene.entities] == ["7", "8"]
    mug = scene.entities[0]
    assert mug.frame_id == "camera_floor"
    assert (mug.cubes[0].pose.position.x, mug.cubes[0].size.z) == pytest.approx((2.0, 0.12))
    assert mug.texts[0].text.startswith("the red mug")
    assert "partial" in scene.entities[1].texts[0].text
    assert scene.entities[1].cubes[0].color.a < mug.cubes[0].color.a
    assert len(scene.deletions) == 1  # every earlier entity replaced
    _, reward = decoded[TOPICS["reward"]]
    assert reward == {"pair": "gripper:cube", "distance_m": 0.42, "reward": -0.42,
                      "valid": True}

"""A live view in the Foxglove web app with nothing else installed: the camera image,
the scene graph as labelled 3D boxes in the floor frame, and the reward as a plot.

Why Foxglove: a robotics team opens https://app.foxglove.dev, connects to
``ws://<robot>:8765`` and sees what the robot understands, without a ROS desktop, RViz
plugins or a bridge. ``foxglove-sdk`` (PyPI) serves its WebSocket protocol; this module
turns the package's data into its messages (functions) and owns one server with its
channels (:class:`LiveView`). The rclpy side is ``spatial-vqa view``
(:mod:`spatial_vqa_ros.commands.view`), which subscribes to a running node's topics.

Channels: ``/spatial_vqa/image`` (foxglove.RawImage, rgb8), ``/spatial_vqa/scene``
(foxglove.SceneUpdate: one entity per object, a cube of its floor-aligned box and its
description above it, in the scene graph's frame) and ``/spatial_vqa/reward`` (JSON:
``pair``, ``distance_m``, ``reward``, ``valid``; the Plot panel draws
``/spatial_vqa/reward.reward``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .overlay import PALETTE

__all__ = ["TOPICS", "BoxObject", "LiveView", "raw_image", "scene_update"]

TOPICS = {"image": "/spatial_vqa/image", "scene": "/spatial_vqa/scene",
          "reward": "/spatial_vqa/reward"}
REWARD_SCHEMA = {"type": "object", "properties": {
    "pair": {"type": "string"}, "distance_m": {"type": "number"},
    "reward": {"type": "number"}, "valid": {"type": "boolean"}}}


@dataclass(frozen=True)
class BoxObject:
    """An object as the 3D panel draws it: id, description, centre and size (metres,
    x forward, y left, z up in the scene frame), and whether it is partly out of view."""

    id: int
    description: str
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    partial: bool = False


def _timestamp(stamp_ns: int) -> Any:
    from foxglove.messages import Timestamp

    return Timestamp(int(stamp_ns) // 1_000_000_000, int(stamp_ns) % 1_000_000_000)


def scene_update(objects: Sequence[BoxObject], frame_id: str, stamp_ns: int) -> Any:
    """A SceneUpdate replacing every entity: cube + text per object; entities of objects
    that disappeared are deleted by the ``deletions`` of all entities first."""
    from foxglove.messages import (
        Color,
        CubePrimitive,
        Pose,
        Quaternion,
        SceneEntity,
        SceneEntityDeletion,
        SceneEntityDeletionType,
        SceneUpdate,
        TextPrimitive,
        Vector3,
    )

    stamp = _timestamp(stamp_ns)
    entities = []
    for k, o in enumerate(objects):
        r, g, b = (c / 255 for c in PALETTE[k % len(PALETTE)])
        centre = Vector3(x=o.center[0], y=o.center[1], z=o.center[2])
        cube = CubePrimitive(pose=Pose(position=centre, orientation=Quaternion(w=1.0)),
                             size=Vector3(x=o.size[0], y=o.size[1], z=o.size[2]),
                             color=Color(r=r, g=g, b=b, a=0.25 if o.partial else 0.5))
        above = Vector3(x=o.center[0], y=o.center[1], z=o.center[2] + o.size[2] / 2 + 0.08)
        label = f"{o.description}{' (partial)' if o.partial else ''}\n" \
                f"{o.size[1]:.2f} x {o.size[2]:.2f} m"
        text = TextPrimitive(pose=Pose(position=above, orientation=Quaternion(w=1.0)),
                             billboard=True, font_size=14.0, scale_invariant=True,
                             color=Color(r=1.0, g=1.0, b=1.0, a=1.0), text=label)
        entities.append(SceneEntity(timestamp=stamp, frame_id=frame_id, id=str(o.id),
                                    cubes=[cube], texts=[text]))
    clear = SceneEntityDeletion(timestamp=stamp, type=SceneEntityDeletionType.All, id="")
    return SceneUpdate(deletions=[clear], entities=entities)


def raw_image(rgb: np.ndarray, frame_id: str, stamp_ns: int) -> Any:
    """An (H, W, 3) uint8 image as a foxglove.RawImage (rgb8)."""
    from foxglove.messages import RawImage

    rgb = np.ascontiguousarray(rgb, np.uint8)
    height, width = rgb.shape[:2]
    return RawImage(timestamp=_timestamp(stamp_ns), frame_id=frame_id, width=width,
                    height=height, encoding="rgb8", step=3 * width, data=rgb.tobytes())


class LiveView:
    """A Foxglove WebSocket server with the three channels. ``port`` 0 picks a free
    one (read :attr:`port`). Publish with the ``publish_*`` methods; :meth:`close`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8765,
                 name: str = "spatial_vqa_ros") -> None:
        try:
            import foxglove
            from foxglove.channels import RawImageChannel, SceneUpdateChannel
        except ImportError:
            raise RuntimeError("the live view needs foxglove-sdk: pip install "
                               "foxglove-sdk") from None
        self._context = foxglove.Context()
        self._image = RawImageChannel(TOPICS["image"], context=self._context)
        self._scene = SceneUpdateChannel(TOPICS["scene"], context=self._context)
        schema = foxglove.Schema(name="spatial_vqa_ros.Reward", encoding="jsonschema",
                                 data=json.dumps(REWARD_SCHEMA).encode())
        self._reward = foxglove.Channel(TOPICS["reward"], schema=schema,
                                        message_encoding="json", context=self._context)
        self._server = foxglove.start_server(name=name, host=host, port=port,
                                             context=self._context)

    @property
    def port(self) -> int:
        return int(self._server.port)

    def publish_image(self, rgb: np.ndarray, frame_id: str, stamp_ns: int) -> None:
        self._image.log(raw_image(rgb, frame_id, stamp_ns), log_time=int(stamp_ns))

    def publish_scene(self, objects: Iterable[BoxObject], frame_id: str,
                      stamp_ns: int) -> None:
        self._scene.log(scene_update(list(objects), frame_id, stamp_ns),
                        log_time=int(stamp_ns))

    def publish_reward(self, pair: str, distance_m: float, reward: float, valid: bool,
                       stamp_ns: int) -> None:
        self._reward.log({"pair": pair, "distance_m": float(distance_m),
                          "reward": float(reward), "valid": bool(valid)},
                         log_time=int(stamp_ns))

    def close(self) -> None:
        self._server.stop()

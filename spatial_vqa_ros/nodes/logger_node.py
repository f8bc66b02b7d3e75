"""The live logger: scene graphs + camera images in, spatial VQA dataset records out.

Node ``spatial_vqa_logger``. Wiring only:

- subscribes to the spatial node's ``SceneGraph`` (``scene_graph_topic``) and the rgb
  image (``image_topic``) and pairs them by *exact* header stamp (the spatial node
  stamps each graph with its frame's stamp); recent images and graphs wait in small
  bounded buffers for their partner;
- picks keyframes (:class:`KeyframeSelector`): at most one per
  ``min_keyframe_interval_s`` and ``max_keyframes_per_minute``, and only when the
  camera moved (height, pitch or roll) or the scene changed (objects added, removed
  or moved by more than ``object_move_m``);
- hands keyframes to a writer thread through a bounded queue (``queue_size``; when
  full the keyframe is dropped and counted: callbacks never block), which converts
  the graph (``msg_to_core``), synthesises QAs, encodes the image and appends a
  record with :class:`~spatial_vqa_ros.io.datasets.DatasetWriter`, flushing after every
  written keyframe (a kill -9 loses at most the keyframe in flight; images of a killed
  run without a record are removed when the directory is opened again) and every
  ``flush_interval_s`` for skips;
- stops writing, with a warning, once the output directory would exceed
  ``max_disk_mb``.

Records have the schema of ``io.datasets.build_record`` with keys
``"<session>/<stamp_ns>"``; the dataset loads with Hugging Face ``datasets`` like the
offline one. Run: ``python -m spatial_vqa_ros.nodes.logger_node --ros-args -p
output_dir:=/data/vqa``.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import sys
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import Image

from spatial_vqa_ros.msg import SceneGraph as SceneGraphMsg

from ..core.errors import CoreError
from ..core.export import frame_record
from ..core.pipeline import FrameResult
from ..core.vqa import EmissionStats, SynthesisConfig, VQAError, synthesize
from ..io.datasets import DatasetWriter, build_record, encode_image
from ..io.errors import DataIOError
from ..io.images import image_to_numpy, to_rgb
from .msg_to_core import scene_graph_from_msg, stamp_ns
from .runner import run_node


@dataclass(frozen=True)
class KeyframeConfig:
    """When a matched (graph, image) pair becomes a keyframe. Times in seconds of the
    message stamps (so bag playback and simulated time work), lengths in metres."""

    min_interval_s: float = 1.0
    max_per_minute: int = 30
    camera_height_change_m: float = 0.05
    camera_angle_change_deg: float = 5.0
    object_move_m: float = 0.10


@dataclass(frozen=True)
class _View:
    stamp_s: float
    camera: tuple[float, float, float]  # height m, pitch rad, roll rad
    centers: dict[int, np.ndarray]  # visible object id -> centre


def view_of(msg: Any) -> _View:
    """What keyframe selection compares: the camera pose and visible object centres."""
    graph_ns = stamp_ns(msg.header.stamp)
    centers = {int(o.id): np.array([o.center.x, o.center.y, o.center.z])
               for o in msg.objects if o.visible}
    return _View(graph_ns * 1e-9, (float(msg.camera_height), float(msg.camera_pitch),
                                   float(msg.camera_roll)), centers)


class KeyframeSelector:
    """Decides keyframes; :meth:`consider` returns "keyframe" or why not."""

    def __init__(self, config: KeyframeConfig = KeyframeConfig()) -> None:
        self.config = config
        self._last: _View | None = None
        self._recent: deque[float] = deque()

    def consider(self, view: _View) -> str:
        """:meth:`check`, and :meth:`record` the view when it is a keyframe."""
        verdict = self.check(view)
        if verdict == "keyframe":
            self.record(view)
        return verdict

    def record(self, view: _View) -> None:
        """Count ``view`` as the latest keyframe (once it is really kept)."""
        self._last = view
        self._recent.append(view.stamp_s)

    def check(self, view: _View) -> str:
        """"keyframe", or why not; changes nothing."""
        cfg, last = self.config, self._last
        if last is not None:
            if view.stamp_s - last.stamp_s < cfg.min_interval_s:
                return "too_soon"
            while self._recent and view.stamp_s - self._recent[0] >= 60.0:
                self._recent.popleft()
            if len(self._recent) >= cfg.max_per_minute:
                return "rate_limited"
            if not self._changed(last, view):
                return "unchanged"
        if not view.centers:
            return "no_objects"
        return "keyframe"

    def _changed(self, last: _View, view: _View) -> bool:
        cfg = self.config
        height, pitch, roll = (abs(a - b) for a, b in zip(view.camera, last.camera))
        angle = math.radians(cfg.camera_angle_change_deg)
        if height > cfg.camera_height_change_m or pitch > angle or roll > angle:
            return True
        if set(view.centers) != set(last.centers):
            return True
        return any(np.linalg.norm(view.centers[i] - last.centers[i]) > cfg.object_move_m
                   for i in view.centers)


def directory_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (0 if it does not exist)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # removed while walking
                total += os.stat(os.path.join(root, name)).st_size
    return total


class LoggerNode(Node):
    """See the module docstring. Parameters are declared once, in the constructor."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("spatial_vqa_logger", **kwargs)
        p = self._declare_parameters()
        self._params = p
        self._synthesis = SynthesisConfig(qa_per_image=p["qa_per_image"], units=p["units"],
                                          qualitative_fraction=p["qualitative_fraction"],
                                          seed=p["seed"])
        self._selector = KeyframeSelector(KeyframeConfig(
            p["min_keyframe_interval_s"], p["max_keyframes_per_minute"],
            p["camera_height_change_m"], p["camera_angle_change_deg"], p["object_move_m"]))
        self._session = p["session"] or time.strftime("live_%Y%m%d_%H%M%S")
        self._out = Path(p["output_dir"]).expanduser()
        settings = {
            "synthesis": {"qa_per_image": p["qa_per_image"], "units": p["units"],
                          "qualitative_fraction": p["qualitative_fraction"],
                          "seed": p["seed"]},
            "position_sigma_m": p["position_sigma_m"], "naming_margin_m": p["naming_margin_m"],
            "image_format": p["image_format"], "jpeg_quality": p["jpeg_quality"],
            "backend": "live scene graph (spatial_vqa node)",
        }
        self._initial_bytes = directory_size(self._out)
        self._writer = DatasetWriter(self._out, settings, shard_size=p["shard_size"],
                                     image_format=p["image_format"],
                                     title="Spatial VQA logged live by spatial_vqa_logger")
        self._writer.begin_source(self._session, {"kind": "ros2_topic",
                                                  "uri": self.get_fully_qualified_name(),
                                                  "topic": p["image_topic"]})
        self._images: OrderedDict[int, Image] = OrderedDict()
        self._graphs: OrderedDict[int, SceneGraphMsg] = OrderedDict()
        self._queue: queue.Queue[tuple[SceneGraphMsg, Image]] = queue.Queue(p["queue_size"])
        self._stop = threading.Event()
        self._emission = EmissionStats()
        self._counts = dict.fromkeys((
            "images", "graphs", "matched", "unmatched_graphs", "keyframes", "dropped_queue_full",
            "written", "no_qa", "errors", "over_budget"), 0)
        self._rejected: dict[str, int] = {}
        self._over_budget = False
        self._last_error = ""

        image_qos = (qos_profile_sensor_data if p["image_qos"] == "sensor_data"
                     else QoSProfile(depth=5))
        self.create_subscription(Image, p["image_topic"], self._on_image, image_qos)
        self.create_subscription(SceneGraphMsg, p["scene_graph_topic"], self._on_graph,
                                 QoSProfile(depth=10))
        self._worker = threading.Thread(target=self._work, name="spatial_vqa_logger_writer",
                                        daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"spatial_vqa_logger writing to {self._out} (session {self._session}): "
            f"graphs {p['scene_graph_topic']}, images {p['image_topic']}")

    # --- parameters ----------------------------------------------------------
    def _declare_parameters(self) -> dict[str, Any]:
        defaults: dict[str, Any] = {
            "scene_graph_topic": "/spatial_vqa/scene_graph",
            "image_topic": "/camera/color/image_raw",
            "image_qos": "sensor_data",
            "output_dir": "spatial_vqa_dataset",
            "session": "",
            "seed": 0,
            "qa_per_image": 8,
            "units": "metric",
            "qualitative_fraction": 0.0,
            "position_sigma_m": 0.02,
            "naming_margin_m": 0.05,
            "image_format": "jpg",
            "jpeg_quality": 95,
            "shard_size": 1000,
            "flush_interval_s": 5.0,
            "min_keyframe_interval_s": 1.0,
            "max_keyframes_per_minute": 30,
            "camera_height_change_m": 0.05,
            "camera_angle_change_deg": 5.0,
            "object_move_m": 0.10,
            "image_buffer_size": 90,
            "queue_size": 8,
            "max_disk_mb": 1000.0,
        }
        values = {name: self.declare_parameter(name, default).value
                  for name, default in defaults.items()}
        if values["image_qos"] not in ("sensor_data", "reliable"):
            raise ValueError(f"image_qos must be 'sensor_data' or 'reliable', got "
                             f"{values['image_qos']!r}")
        for name in ("image_buffer_size", "queue_size", "shard_size", "max_keyframes_per_minute"):
            if values[name] < 1:
                raise ValueError(f"{name} must be >= 1, got {values[name]}")
        return values

    # --- callbacks (cheap: buffer, match, select, enqueue) -------------------------
    def _on_image(self, msg: Image) -> None:
        self._counts["images"] += 1
        key = stamp_ns(msg.header.stamp)
        graph = self._graphs.pop(key, None)
        if graph is not None:
            self._matched(graph, msg)
            return
        self._images[key] = msg
        while len(self._images) > self._params["image_buffer_size"]:
            self._images.popitem(last=False)

    def _on_graph(self, msg: SceneGraphMsg) -> None:
        self._counts["graphs"] += 1
        key = stamp_ns(msg.header.stamp)
        image = self._images.pop(key, None)
        if image is not None:
            self._matched(msg, image)
            return
        self._graphs[key] = msg  # its image may still be on the way
        while len(self._graphs) > self._params["image_buffer_size"]:
            self._graphs.popitem(last=False)
            self._counts["unmatched_graphs"] += 1

    def _matched(self, graph: SceneGraphMsg, image: Image) -> None:
        self._counts["matched"] += 1
        if self._over_budget:
            self._counts["over_budget"] += 1
            return
        view = view_of(graph)
        verdict = self._selector.check(view)
        if verdict != "keyframe":
            self._rejected[verdict] = self._rejected.get(verdict, 0) + 1
            return
        self._counts["keyframes"] += 1
        try:
            self._queue.put_nowait((graph, image))
            # only a keyframe that is really kept makes similar later frames redundant
            self._selector.record(view)
        except queue.Full:
            self._counts["dropped_queue_full"] += 1
            self.get_logger().warn("the dataset writer is behind: keyframes are dropped",
                                   throttle_duration_sec=5.0)

    # --- the writer thread -------------------------------------------------------
    def _work(self) -> None:
        flush_every = self._params["flush_interval_s"]
        last_flush = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                item = None
                if self._stop.is_set():
                    break
            if item is not None:
                try:
                    if self._write(*item):
                        # a kill -9 loses at most the keyframe in flight: each written
                        # keyframe's shard lands before the next one is taken
                        self._flush()
                        last_flush = time.monotonic()
                except (CoreError, DataIOError, VQAError) as error:
                    self._report_error(str(error))
                except Exception as error:  # the logger must survive any frame
                    self._report_error(f"unexpected {type(error).__name__}: {error}")
            if time.monotonic() - last_flush >= flush_every:
                self._flush()
                last_flush = time.monotonic()
        self._close()

    def _write(self, graph_msg: SceneGraphMsg, image_msg: Image) -> bool:
        """Write one keyframe; True when a record was added."""
        p = self._params
        if self._over_budget:
            return False
        graph = scene_graph_from_msg(graph_msg, p["position_sigma_m"],
                                     naming_margin_m=p["naming_margin_m"])
        key_ns = stamp_ns(graph_msg.header.stamp)
        key = f"{self._session}/{key_ns}"
        if self._writer.is_done(key):
            return False
        qas = synthesize(graph, self._synthesis, key, stats=self._emission)
        if not qas:
            self._counts["no_qa"] += 1
            self._writer.skip(key, "no_qa")
            return False
        rgb = to_rgb(image_to_numpy(image_msg), image_msg.encoding)
        image = encode_image(rgb, p["image_format"], jpeg_quality=p["jpeg_quality"])
        scene = frame_record(FrameResult(graph.scene, (), graph), key_ns)
        source = {"kind": "ros2_topic", "uri": self.get_fully_qualified_name(),
                  "name": self._session, "stamp_ns": key_ns, "topic": p["image_topic"]}
        record = build_record(key, qas, scene, source, width=rgb.shape[1], height=rgb.shape[0],
                              image_format=p["image_format"])
        budget = p["max_disk_mb"] * 1e6
        if self._initial_bytes + self._writer.bytes_written + len(image) > budget:
            self._over_budget = True
            self.get_logger().warn(
                f"{self._out} reached the disk budget max_disk_mb={p['max_disk_mb']:g}: "
                "logging stopped (raise max_disk_mb or move the data away)")
            return False
        self._writer.add(key, image, record)
        self._writer.add_scene(self._session, {"id": key, "source": self._session, **scene})
        self._counts["written"] += 1
        return True

    def _flush(self) -> None:
        try:
            self._writer.flush()
        except DataIOError as error:
            self._report_error(str(error))

    def _close(self) -> None:
        try:
            self._writer.end_source(self._session, {"counts": self.stats})
        except DataIOError as error:
            self._report_error(str(error))
        try:
            self._writer.close(extra={"counts": self.stats})
        except DataIOError as error:
            self._report_error(str(error))

    def _report_error(self, message: str) -> None:
        self._counts["errors"] += 1
        self._last_error = message
        if self.context.ok():
            self.get_logger().error(message, throttle_duration_sec=2.0)
        else:  # shutting down: rosout is gone
            print(f"spatial_vqa_logger: {message}", file=sys.stderr, flush=True)

    @property
    def stats(self) -> dict[str, Any]:
        """Counters: messages, matches, keyframes, rejections by reason, writes, drops."""
        return {**self._counts, "rejected": dict(self._rejected),
                "qa_by_category": dict(self._emission.by_category),
                "last_error": self._last_error}

    def destroy_node(self) -> None:
        """Write what is queued, close the dataset (card included), then destroy."""
        if not hasattr(self, "_worker"):
            # A constructor that refused its parameters left a partial node, which
            # rclpy's shutdown still destroys: nothing of ours was built.
            super().destroy_node()
            return
        self._stop.set()
        self._worker.join(timeout=30.0)
        message = f"spatial_vqa_logger stopped: {self.stats}"
        if self.context.ok():
            self.get_logger().info(message)
        else:  # after Ctrl-C: rosout is gone
            print(message, file=sys.stderr, flush=True)
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(LoggerNode, args, "spatial_vqa_logger")


if __name__ == "__main__":
    sys.exit(main(sys.argv))

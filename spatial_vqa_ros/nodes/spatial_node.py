"""The spatial node: camera topics in; scene graph, markers, rewards and answers out.

Wiring only. Callbacks convert messages to numpy once and hand them to the core:
- sensor callbacks (their own callback group) synchronise the inputs and put the
  newest frame in a one-slot mailbox (latest-frame-wins; replaced frames are
  counted as dropped, memory stays bounded);
- a worker thread runs perception + geometry and publishes a new immutable
  snapshot;
- services (their own reentrant callback group) answer from the snapshot, so a slow
  backend never delays an answer.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from nav_msgs.msg import Odometry
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header, String
from visualization_msgs.msg import MarkerArray

from spatial_vqa_ros.msg import DistanceReward
from spatial_vqa_ros.msg import SceneGraph as SceneGraphMsg
from spatial_vqa_ros.srv import ComputeReward, QuerySpatial, SetLabels

from ..core.errors import CoreError, UnknownObjectError
from ..core.frame import Frame, depth_to_metres
from ..core.pipeline import FrameResult, PipelineConfig, ScenePipeline
from ..core.query import Answer, answer_question, answer_structured
from ..core.relations import KDTreeCache
from ..core.reward import (
    DISTANCE_KINDS,
    SHAPINGS,
    distance_between,
    region_points,
    shape_reward,
)
from ..core.scene_graph import SceneGraph, TrackerConfig
from ..io.errors import DataIOError
from ..io.images import camera_info_to_intrinsics, image_to_numpy, to_rgb
from ..io.labels import parse_labels_json
from ..perception.errors import PerceptionError
from ..perception.simulation import SimulationBackend
from .camera_pose import OdometryPoses, TfPoses, pose_matrix
from .conversions import (
    ns_to_stamp,
    scene_graph_to_markers,
    scene_graph_to_msg,
    stamp_to_ns,
    stamp_to_seconds,
)
from .runtime import run_node
from .sync import ApproximateTimeSync

BACKENDS = {"simulation": SimulationBackend}


@dataclass(frozen=True)
class Snapshot:
    """What services read: the graph and the frame it came from (all immutable)."""

    graph: SceneGraph
    frame: Frame | None = None
    result: FrameResult | None = None


@dataclass
class _Inputs:
    rgb: Image
    depth: Image | None
    instances: Image | None
    received_s: float


class SpatialNode(Node):
    """See the module docstring. Parameters are declared once, in the constructor."""

    def __init__(self, **kwargs) -> None:
        super().__init__("spatial_vqa", **kwargs)
        p = self._declare_parameters()
        self._params = p
        self._backend = BACKENDS[p["backend"]]()
        self._pipeline = ScenePipeline(PipelineConfig(
            tracker=TrackerConfig(remove_after_s=p["remove_after_s"]),
            scene_frame_id=p["scene_frame_id"]))
        self._snapshot = Snapshot(self._pipeline.tracker.snapshot)
        self._camera = None
        self._labels: dict[int, str] | None = None
        self._mailbox: _Inputs | None = None
        self._mailbox_lock = threading.Condition()
        self._stop = threading.Event()
        self._dropped = 0
        self._processed = 0
        self._errors = 0
        self._last_error = ""
        self._input_stamps: deque[float] = deque(maxlen=120)
        self._latencies: deque[float] = deque(maxlen=120)
        self._reward_memory: dict[tuple[str, str, str], float] = {}
        self._reward_lock = threading.Lock()
        self._trees = KDTreeCache()

        sensors = MutuallyExclusiveCallbackGroup()
        services = ReentrantCallbackGroup()
        qos = qos_profile_sensor_data if p["qos"] == "sensor_data" else QoSProfile(depth=5)
        self._use_message_filters = False
        self._subscribe_sensors(qos, sensors)
        self.create_subscription(CameraInfo, p["camera_info_topic"], self._on_camera_info, qos,
                                 callback_group=sensors)
        self._poses = None
        self._tf = None
        if p["odometry_topic"]:
            extrinsic = p["camera_in_odometry_child"]
            self._poses = OdometryPoses(pose_matrix(extrinsic[:3], extrinsic[3:]),
                                        p["odometry_slop_s"])
            self.create_subscription(Odometry, p["odometry_topic"], self._on_odometry, 50,
                                     callback_group=sensors)
        elif p["tf_fixed_frame"]:
            try:
                self._tf = TfPoses(self, p["tf_fixed_frame"])
            except ImportError:
                raise ValueError("tf_fixed_frame needs tf2_ros, which is not installed; "
                                 "use odometry_topic instead") from None
        if p["labels_topic"]:
            # Simulators often latch labels (transient local): that subscription gets the
            # last one even when it was published before we started. A best-effort one
            # also matches volatile and best-effort publishers.
            latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                 durability=DurabilityPolicy.TRANSIENT_LOCAL)
            any_publisher = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
            for labels_qos in (latched, any_publisher):
                self.create_subscription(String, p["labels_topic"], self._on_labels,
                                         labels_qos, callback_group=sensors)

        self._graph_pub = self.create_publisher(SceneGraphMsg, "~/scene_graph", 10)
        self._marker_pub = self.create_publisher(MarkerArray, "~/markers", 10)
        self._reward_pub = self.create_publisher(DistanceReward, "~/reward", 10)
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._serve(services)
        self.create_timer(1.0, self._publish_diagnostics, callback_group=services)
        self._worker = threading.Thread(target=self._work, name="spatial_vqa_worker",
                                        daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"spatial_vqa ready: backend={p['backend']}, rgb={p['rgb_topic']}, "
            f"depth={p['depth_topic'] or '-'}, instances={p['instances_topic'] or '-'}, "
            f"sync={'message_filters' if self._use_message_filters else 'built-in'}")

    def _serve(self, group) -> None:
        """The services, on a node and executor thread of their own.

        rclpy rebuilds its wait set from every entity of a node on each spin; with the
        sensor subscriptions, timers and publishers of this node that costs more than
        answering. A companion node holding only the services, spun by its own thread,
        answers at nearly the speed of an empty service. Names stay this node's
        (``<node>/query``...), so remapping and namespaces work as usual.
        """
        base = self.get_fully_qualified_name()
        self._service_node = Node(f"{self.get_name()}_services",
                                  namespace=self.get_namespace(), context=self.context)
        node = self._service_node
        node.create_service(QuerySpatial, f"{base}/query", self._on_query)
        node.create_service(ComputeReward, f"{base}/compute_reward", self._on_compute_reward)
        node.create_service(SetLabels, f"{base}/set_labels", self._on_set_labels)
        self._service_executor = SingleThreadedExecutor(context=self.context)
        self._service_executor.add_node(node)
        self._service_thread = threading.Thread(target=self._spin_services,
                                                name="spatial_vqa_services", daemon=True)
        self._service_thread.start()

    def _spin_services(self) -> None:
        try:
            self._service_executor.spin()
        except (ExternalShutdownException, KeyboardInterrupt):
            pass
        except Exception as error:  # must not pass silently: services would be gone
            self.get_logger().error(f"service executor stopped: {error}")

    # --- parameters ----------------------------------------------------------
    def _declare_parameters(self) -> dict:
        defaults = {
            "rgb_topic": "/camera/color/image_raw",
            "camera_info_topic": "/camera/color/camera_info",
            "depth_topic": "/camera/depth/image_raw",
            "instances_topic": "/camera/instances/image_raw",
            "labels_topic": "/camera/instances/labels",
            "backend": "simulation",
            "qos": "sensor_data",
            "sync_slop_s": 0.02,
            "sync_queue_size": 10,
            "use_message_filters": True,
            "depth_min_m": 0.05,
            "depth_max_m": 20.0,
            "scene_frame_id": "",
            "remove_after_s": 2.0,
            "reward_pairs": [""],
            "reward_distance_kind": "gap",
            "reward_shaping": "negative_distance",
            "reward_scale": 1.0,
            "odometry_topic": "",
            "odometry_slop_s": 0.05,
            "camera_in_odometry_child": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            "tf_fixed_frame": "",
            "debug_backend_delay_s": 0.0,
        }
        values = {name: self.declare_parameter(name, default).value
                  for name, default in defaults.items()}
        values["reward_pairs"] = [s for s in values["reward_pairs"] if s]
        if values["backend"] not in BACKENDS:
            raise ValueError(f"backend must be one of {sorted(BACKENDS)}, got "
                             f"{values['backend']!r}")
        if values["qos"] not in ("sensor_data", "reliable"):
            raise ValueError(f"qos must be 'sensor_data' or 'reliable', got {values['qos']!r}")
        if len(values["camera_in_odometry_child"]) != 7:
            raise ValueError("camera_in_odometry_child is [x, y, z, qx, qy, qz, qw]")
        if values["odometry_topic"] and values["tf_fixed_frame"]:
            raise ValueError("set odometry_topic or tf_fixed_frame, not both")
        if values["reward_distance_kind"] not in DISTANCE_KINDS:
            raise ValueError(f"reward_distance_kind must be one of {DISTANCE_KINDS}")
        if values["reward_shaping"] not in SHAPINGS:
            raise ValueError(f"reward_shaping must be one of {SHAPINGS}")
        for pair in values["reward_pairs"]:
            if pair.count(":") != 1:
                raise ValueError(f"reward_pairs entries are 'source:target', got {pair!r}")
        return values

    # --- inputs --------------------------------------------------------------
    def _subscribe_sensors(self, qos: QoSProfile, group) -> None:
        p = self._params
        topics = [(Image, p["rgb_topic"])]
        if p["depth_topic"]:
            topics.append((Image, p["depth_topic"]))
        if p["instances_topic"]:
            topics.append((Image, p["instances_topic"]))
        self._topic_roles = ["rgb"] + (["depth"] if p["depth_topic"] else []) + (
            ["instances"] if p["instances_topic"] else [])
        if p["use_message_filters"]:
            try:
                import message_filters
            except ImportError:
                message_filters = None
            if message_filters is not None:
                subs = [message_filters.Subscriber(self, t, name, qos_profile=qos,
                                                   callback_group=group)
                        for t, name in topics]
                self._mf_sync = message_filters.ApproximateTimeSynchronizer(
                    subs, p["sync_queue_size"], p["sync_slop_s"])
                self._mf_sync.registerCallback(self._on_synced)
                self._use_message_filters = True
                return
        self._sync = ApproximateTimeSync(len(topics), p["sync_queue_size"], p["sync_slop_s"],
                                         self._on_synced)
        for index, (msg_type, name) in enumerate(topics):
            self.create_subscription(msg_type, name,
                                     lambda msg, i=index: self._offer(i, msg),
                                     qos, callback_group=group)

    def _offer(self, index: int, msg) -> None:
        """Hand a sensor message to the synchroniser; a bad message never stops the node."""
        try:
            self._sync.add(index, stamp_to_seconds(msg.header.stamp), msg)
        except Exception as error:  # a callback exception would end executor.spin()
            self._report_error(f"input message dropped: {type(error).__name__}: {error}")

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            camera = camera_info_to_intrinsics(msg)
        except DataIOError as error:
            self._report_error(f"bad CameraInfo: {error}")
            return
        self._camera = camera

    def _on_odometry(self, msg: Odometry) -> None:
        try:
            self._poses.add(msg)
        except ValueError as error:
            self._report_error(f"odometry ignored: {error}")

    def _camera_pose(self, rgb_msg: Image, camera_frame: str) -> np.ndarray | None:
        """World-from-camera for this frame, None without a pose source; raises if a
        configured source has no pose for the frame (the frame is then skipped)."""
        stamp = stamp_to_seconds(rgb_msg.header.stamp)
        if self._poses is not None:
            # odometry may arrive a little after the images: wait for it briefly
            pose = self._poses.wait_for(stamp, timeout_s=2 * self._params["odometry_slop_s"])
            if pose is None:
                raise DataIOError(f"no odometry on {self._params['odometry_topic']} within "
                                  f"{self._params['odometry_slop_s']} s of the frame at "
                                  f"{stamp:.3f} s: frame skipped")
            return pose
        if self._tf is not None:
            pose = self._tf.lookup_frame(camera_frame, rgb_msg.header.stamp)
            if pose is None:
                raise DataIOError(f"no TF from {self._params['tf_fixed_frame']} to "
                                  f"{camera_frame} at {stamp:.3f} s: frame skipped")
            return pose
        return None

    def _on_labels(self, msg: String) -> None:
        try:
            self._labels = parse_labels_json(msg.data)
        except DataIOError as error:
            self._report_error(f"labels ignored: {error}")

    def _on_synced(self, *msgs) -> None:
        roles = dict(zip(self._topic_roles, msgs))
        inputs = _Inputs(roles["rgb"], roles.get("depth"), roles.get("instances"),
                         time.monotonic())
        self._input_stamps.append(inputs.received_s)
        with self._mailbox_lock:
            if self._mailbox is not None:
                self._dropped += 1  # latest frame wins
            self._mailbox = inputs
            self._mailbox_lock.notify()

    # --- processing ----------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            with self._mailbox_lock:
                while self._mailbox is None and not self._stop.is_set():
                    self._mailbox_lock.wait(timeout=0.2)
                inputs, self._mailbox = self._mailbox, None
            if inputs is None:
                continue
            if not self.context.ok():
                return  # shutting down: publishers are gone
            try:
                self._process(inputs)
            except (CoreError, DataIOError, PerceptionError) as error:
                self._report_error(str(error))
            except Exception as error:  # the node must survive any frame
                if not self.context.ok():
                    return
                self._report_error(f"unexpected error while processing a frame: "
                                   f"{type(error).__name__}: {error}")

    def _process(self, inputs: _Inputs) -> None:
        p = self._params
        camera = self._camera
        if camera is None:
            raise DataIOError(f"no CameraInfo received on {p['camera_info_topic']}: frames are "
                              "dropped until it arrives")
        rgb_msg = inputs.rgb
        rgb = to_rgb(image_to_numpy(rgb_msg), rgb_msg.encoding)
        if rgb.shape[:2] != (camera.height, camera.width):
            raise DataIOError(f"rgb image is {rgb.shape[1]}x{rgb.shape[0]} but CameraInfo says "
                              f"{camera.width}x{camera.height}")
        if inputs.depth is None:
            raise PerceptionError("no depth topic configured and the backend estimates no "
                                  "depth: set depth_topic")
        depth_m = depth_to_metres(image_to_numpy(inputs.depth), inputs.depth.encoding,
                                  p["depth_min_m"], p["depth_max_m"])
        instances = image_to_numpy(inputs.instances) if inputs.instances is not None else None
        if p["debug_backend_delay_s"] > 0:
            time.sleep(p["debug_backend_delay_s"])  # a deliberately slow backend, for tests
        observations = self._backend.observe(rgb, instances, self._labels)
        frame = Frame(rgb, depth_m, camera, stamp_to_seconds(rgb_msg.header.stamp),
                      stamp_to_ns(rgb_msg.header.stamp))
        world_from_camera = self._camera_pose(rgb_msg, camera.frame_id)
        result = self._pipeline.process(frame, observations, world_from_camera)
        self._snapshot = Snapshot(result.graph, frame, result)
        for warning in result.warnings:
            self.get_logger().warn(warning, throttle_duration_sec=5.0)
        self._graph_pub.publish(scene_graph_to_msg(result.graph))
        self._marker_pub.publish(scene_graph_to_markers(result.graph))
        for pair in p["reward_pairs"]:
            source, target = pair.split(":")
            self._reward_pub.publish(self._stream_reward(source, target))
        self._processed += 1
        self._latencies.append(time.monotonic() - inputs.received_s)

    def _stream_reward(self, source: str, target: str) -> DistanceReward:
        p = self._params
        kind, shaping = p["reward_distance_kind"], p["reward_shaping"]
        graph = self._snapshot.graph
        msg = DistanceReward(header=Header(stamp=ns_to_stamp(graph.stamp_ns),
                                           frame_id=graph.frame_id),
                             source=source, target=target, distance_kind=kind,
                             distance=float("nan"), reward=float("nan"), valid=False)
        try:
            a, b = graph.find(source), graph.find(target)
        except UnknownObjectError:
            return msg
        if not (a.visible and b.visible):
            return msg
        distance = distance_between(a.points_scene, a.center_scene, b.points_scene,
                                    b.center_scene, kind)
        previous = self._remember_distance((f"stream#{a.id}", f"#{b.id}", kind), distance)
        msg.distance = float(distance)
        msg.reward = float(shape_reward(distance, shaping, p["reward_scale"], previous))
        msg.valid = bool(np.isfinite(distance))
        return msg

    def _remember_distance(self, key: tuple[str, str, str], distance: float) -> float | None:
        with self._reward_lock:
            previous = self._reward_memory.get(key)
            self._reward_memory[key] = distance
            if len(self._reward_memory) > 1000:  # bounded: forget the oldest pairs
                self._reward_memory.pop(next(iter(self._reward_memory)))
            return previous

    def _report_error(self, message: str) -> None:
        self._errors += 1
        self._last_error = message
        self.get_logger().error(message, throttle_duration_sec=2.0)

    # --- services ------------------------------------------------------------
    def _on_query(self, request: QuerySpatial.Request, response: QuerySpatial.Response):
        graph = self._snapshot.graph
        units = request.unit_preference or "metric"
        if request.question.strip():
            answer = answer_question(graph, request.question, units)
        elif request.relation:
            answer = answer_structured(graph, request.relation, request.subject,
                                       request.object, units)
        else:
            message = "set either question, or relation + subject (+ object)"
            answer = Answer(False, message, error=message)
        response.success = answer.success
        response.answer = answer.text
        response.value = float(answer.value)
        response.unit = answer.unit
        response.truth = answer.truth
        response.confidence = float(answer.confidence)
        response.scene_stamp = ns_to_stamp(graph.stamp_ns)
        response.error_message = answer.error
        return response

    def _reward_side(self, snapshot: Snapshot, label: str, object_id: int, roi
                     ) -> tuple[str, np.ndarray, np.ndarray]:
        """(key, points, centre) of one side. The key names the thing across frames (a
        track id, or the image region), never a description that may be reassigned."""
        given = [bool(label), object_id >= 0, roi.width > 0 and roi.height > 0]
        if sum(given) != 1:
            raise CoreError("name each side by exactly one of: label, id (>= 0), or roi "
                            "(width and height > 0)")
        if given[2]:
            if snapshot.frame is None or snapshot.result is None:
                raise CoreError("no frame processed yet: an image region cannot be lifted")
            region = region_points(snapshot.frame, snapshot.result.scene,
                                   (roi.x_offset, roi.y_offset, roi.width, roi.height))
            return region.name, region.points_scene, region.center_scene
        obj = snapshot.graph.find(label if given[0] else f"#{object_id}")
        if not obj.visible:
            raise CoreError(f"{obj.description} is not in view in the latest frame")
        return f"#{obj.id}", obj.points_scene, obj.center_scene

    def _on_compute_reward(self, request: ComputeReward.Request,
                           response: ComputeReward.Response):
        snapshot = self._snapshot
        kind = request.distance_kind or "gap"
        shaping = request.shaping or "negative_distance"
        response.scene_stamp = ns_to_stamp(snapshot.graph.stamp_ns)
        response.distance = float("nan")
        response.reward = float("nan")
        try:
            if kind not in DISTANCE_KINDS:
                raise CoreError(f"distance_kind must be one of {DISTANCE_KINDS}, got {kind!r}")
            if shaping not in SHAPINGS:
                raise CoreError(f"shaping must be one of {SHAPINGS}, got {shaping!r}")
            src = self._reward_side(snapshot, request.source_label, request.source_id,
                                    request.source_roi)
            dst = self._reward_side(snapshot, request.target_label, request.target_id,
                                    request.target_roi)
            distance = distance_between(src[1], src[2], dst[1], dst[2], kind, self._trees)
            if not np.isfinite(distance):
                raise CoreError("one side has no valid 3D points")
            previous = self._remember_distance((src[0], dst[0], kind), distance)
            response.reward = float(shape_reward(distance, shaping, request.scale, previous))
        except CoreError as error:
            response.success = False
            response.error_message = str(error)
            return response
        threshold = request.success_threshold if request.success_threshold > 0 else 0.02
        response.success = True
        response.distance = float(distance)
        response.progress = float(previous - distance) if previous is not None else 0.0
        response.reached = bool(distance <= threshold)
        return response

    def _on_set_labels(self, request: SetLabels.Request, response: SetLabels.Response):
        response.success = False
        response.message = (f"backend '{self._params['backend']}' takes its labels from the "
                            "simulator's labels topic; text labels are not used")
        return response

    # --- diagnostics ---------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        try:
            self._publish_diagnostics_now()
        except Exception as error:  # a timer exception would end executor.spin()
            self.get_logger().error(f"diagnostics failed: {error}", throttle_duration_sec=10.0)

    def _publish_diagnostics_now(self) -> None:
        now = time.monotonic()
        # list() copies a deque atomically (under the GIL); iterating it directly
        # while the sensor thread appends raises "deque mutated during iteration"
        recent = [t for t in list(self._input_stamps) if now - t < 5.0]
        rate = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and \
            recent[-1] > recent[0] else 0.0
        latencies = list(self._latencies)
        latency = statistics.median(latencies) if latencies else float("nan")
        graph = self._snapshot.graph
        level = DiagnosticStatus.OK
        message = "ok"
        if self._camera is None:
            level, message = DiagnosticStatus.WARN, "waiting for CameraInfo"
        elif self._processed == 0:
            level, message = DiagnosticStatus.WARN, "no frame processed yet"
        elif not graph.floor_found:
            level, message = DiagnosticStatus.WARN, "no floor found"
        values = {
            "input_rate_hz": f"{rate:.1f}", "latency_median_ms": f"{latency * 1e3:.1f}",
            "frames_processed": str(self._processed), "frames_dropped": str(self._dropped),
            "errors": str(self._errors), "last_error": self._last_error,
            "objects_tracked": str(len(graph.objects)), "floor_found": str(graph.floor_found),
            "camera_height_m": f"{graph.scene.camera_height_m:.3f}",
        }
        status = DiagnosticStatus(level=level, name=f"{self.get_name()}: scene graph",
                                  message=message, hardware_id=graph.camera_frame_id,
                                  values=[KeyValue(key=k, value=v) for k, v in values.items()])
        self._diag_pub.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now()
                                                             .to_msg()), status=[status]))

    @property
    def stats(self) -> dict[str, int]:
        return {"processed": self._processed, "dropped": self._dropped, "errors": self._errors}

    def destroy_node(self) -> None:
        self._service_executor.shutdown(timeout_sec=2.0)
        self._service_node.destroy_node()
        self._stop.set()
        with self._mailbox_lock:
            self._mailbox_lock.notify_all()
        self._worker.join(timeout=2.0)
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    # several executor threads: services must not wait behind sensor callbacks
    return run_node(SpatialNode, args, "spatial_vqa", threads=4)

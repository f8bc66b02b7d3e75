"""The spatial node: camera topics in; scene graph, markers, rewards and answers out.

Wiring only. Callbacks convert messages to numpy once and hand them to the core:
- sensor callbacks (their own callback group) synchronise the inputs and put each
  frame in a bounded input queue (``input_queue``: one slot in serial mode, latest
  frame wins; a few in tracked mode, so the worker's short stalls cost no frames);
  a frame pushed out of a full queue is counted as dropped, memory stays bounded;
- a worker thread runs perception + geometry and publishes a new immutable
  snapshot;
- services (their own reentrant callback group) answer from the snapshot, so a slow
  backend never delays an answer.
"""

from __future__ import annotations

import threading

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

from ..core.errors import CoreError
from ..core.pipeline import PipelineConfig, ScenePipeline
from ..core.query import Answer, answer_question, answer_structured
from ..core.reward import RewardResult, RewardSession, request_side
from ..core.scene_graph import SceneGraph, TrackerConfig
from ..io.errors import DataIOError
from ..io.images import camera_info_to_intrinsics
from ..io.labels import parse_labels_json
from ..perception.errors import PerceptionError
from ..perception.factories import build_chain
from ..perception.runtime.engine_session import engine_states
from ..perception.types import InputSettings
from .camera_pose import OdometryPoses, TfPoses, pose_matrix
from .config import SpatialNodeConfig
from .conversions import (
    ns_to_stamp,
    scene_graph_to_markers,
    scene_graph_to_msg,
    stamp_to_ns,
    stamp_to_seconds,
)
from .frame_state import FrameInputs, Snapshot
from .input_queue import InputQueue
from .live_params import LiveParameters
from .model_swap import ModelSwapper
from .msg_to_core import sensor_inputs_from_msgs
from .robot_frames_lookup import RobotFrames, transform_source, with_missing_frames
from .runner import run_node
from .service_replies import fill_query_response, fill_reward_response, reward_settings
from .stats import NodeStats
from .sync import ApproximateTimeSync
from .tracked import tracked_perception
from .vision_msgs_out import detections_2d, detections_3d, vision_msgs_module

#: Messages a reliable sensor subscription keeps until its callback takes them.
RELIABLE_DEPTH = 30


class SpatialNode(Node):
    """See the module docstring. Parameters are declared once, in the constructor."""

    def __init__(self, **kwargs) -> None:
        super().__init__("spatial_vqa", **kwargs)
        c = SpatialNodeConfig.declare(self)
        try:
            chain = build_chain(c.perception_spec)
        except PerceptionError as error:
            raise ValueError(str(error)) from None
        # parameters may change while the node runs: live_params checks and applies them,
        # the swapper loads a new checkpoint off the callback threads
        self._swapper = ModelSwapper(chain, c.perception_spec, log=self._log,
                                     revert=lambda values: self._live.set(values))  # noqa: PLW0108 -- made next
        self._live = LiveParameters(self, c, self._swapper, self._log)
        self._tracked = tracked_perception(chain, c, self._log)  # None: serial mode
        self._pipeline = ScenePipeline(PipelineConfig(
            tracker=TrackerConfig(remove_after_s=c.remove_after_s, memory_s=c.memory_s),
            scene_frame_id=c.scene_frame_id))
        self._snapshot = Snapshot(self._pipeline.tracker.snapshot)
        self._camera = None
        self._labels: dict[int, str] | None = None
        self._queue: InputQueue[FrameInputs] = InputQueue(c.input_queue_capacity)
        self._stats = NodeStats()
        self._rewards = RewardSession()

        sensors = MutuallyExclusiveCallbackGroup()
        services = ReentrantCallbackGroup()
        # reliable: a reader history of 2 s at 15 Hz, so messages wait while the
        # callbacks are held off (the worker's Python holds the GIL) instead of being
        # replaced unseen; sensor_data keeps its best-effort depth of 5
        qos = (qos_profile_sensor_data if c.qos == "sensor_data"
               else QoSProfile(depth=RELIABLE_DEPTH))
        self._use_message_filters = False
        self._subscribe_sensors(qos, sensors)
        self.create_subscription(CameraInfo, c.camera_info_topic, self._on_camera_info, qos,
                                 callback_group=sensors)
        self._poses = None
        self._tf = None
        if c.odometry_topic:
            extrinsic = c.camera_in_odometry_child
            self._poses = OdometryPoses(pose_matrix(extrinsic[:3], extrinsic[3:]),
                                        c.odometry_slop_s)
            self.create_subscription(Odometry, c.odometry_topic, self._on_odometry, 50,
                                     callback_group=sensors)
        elif c.tf_fixed_frame:
            try:
                self._tf = TfPoses(self, c.tf_fixed_frame)
            except ImportError:
                raise ValueError("tf_fixed_frame needs tf2_ros, which is not installed; "
                                 "use odometry_topic instead") from None
        if c.uses_instances:
            # Simulators often latch labels (transient local): that subscription gets the
            # last one even when it was published before we started. A best-effort one
            # also matches volatile and best-effort publishers.
            latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                 durability=DurabilityPolicy.TRANSIENT_LOCAL)
            any_publisher = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
            for labels_qos in (latched, any_publisher):
                self.create_subscription(String, c.labels_topic, self._on_labels,
                                         labels_qos, callback_group=sensors)

        self._graph_pub = self.create_publisher(SceneGraphMsg, "~/scene_graph", 10)
        self._marker_pub = self.create_publisher(MarkerArray, "~/markers", 10)
        self._reward_pub = self.create_publisher(DistanceReward, "~/reward", 10)
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # the robot's own frames (tool0, base_link) as query and reward ends
        self._robot_frames = RobotFrames(
            transform_source(self, c, self._poses), c.robot_frames)
        # Standard detections beside the scene graph, where vision_msgs is installed.
        self._vision = vision_msgs_module()
        if self._vision is not None:
            self._detections_3d_pub = self.create_publisher(
                self._vision.Detection3DArray, "~/detections_3d", 10)
            self._detections_2d_pub = self.create_publisher(
                self._vision.Detection2DArray, "~/detections_2d", 10)
        self._serve(services)
        self.create_timer(1.0, self._publish_diagnostics, callback_group=services)
        self._worker = threading.Thread(target=self._work, name="spatial_vqa_worker",
                                        daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"spatial_vqa ready: depth={c.depth_estimator}, detector={c.detector}, "
            f"segmenter={c.segmenter}, rgb={c.rgb_topic}, depth_topic={c.depth_topic or '-'}, "
            f"instances={c.instances_topic if c.uses_instances else '-'}, "
            f"sync={'message_filters' if self._use_message_filters else 'built-in'}")

    @property
    def _config(self) -> SpatialNodeConfig:
        """The config now (live parameters replace it): read once per frame or request."""
        return self._live.config

    @property
    def _chain(self):
        """The perception chain now (a model swap replaces it)."""
        return self._swapper.chain

    _prompts = property(lambda self: self._config.labels)

    def _log(self, level: str, message: str) -> None:
        if level == "error":
            self._report_error(message)
        else:
            self.get_logger().info(message)

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

    # --- inputs --------------------------------------------------------------
    def _subscribe_sensors(self, qos: QoSProfile, group) -> None:
        c = self._config
        topics = [(Image, c.rgb_topic)]
        if c.depth_topic:
            topics.append((Image, c.depth_topic))
        if c.uses_instances:
            topics.append((Image, c.instances_topic))
        self._topic_roles = ["rgb"] + (["depth"] if c.depth_topic else []) + (
            ["instances"] if c.uses_instances else [])
        if c.use_message_filters:
            try:
                import message_filters
            except ImportError:
                message_filters = None
            if message_filters is not None:
                subs = [message_filters.Subscriber(self, t, name, qos_profile=qos,
                                                   callback_group=group)
                        for t, name in topics]
                self._mf_sync = message_filters.ApproximateTimeSynchronizer(
                    subs, c.sync_queue_size, c.sync_slop_s)
                self._mf_sync.registerCallback(self._on_synced)
                self._use_message_filters = True
                return
        self._sync = ApproximateTimeSync(len(topics), c.sync_queue_size, c.sync_slop_s,
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
            pose = self._poses.wait_for(stamp, timeout_s=2 * self._config.odometry_slop_s)
            if pose is None:
                raise DataIOError(f"no odometry on {self._config.odometry_topic} within "
                                  f"{self._config.odometry_slop_s} s of the frame at "
                                  f"{stamp:.3f} s: frame skipped")
            return pose
        if self._tf is not None:
            pose = self._tf.lookup_frame(camera_frame, rgb_msg.header.stamp)
            if pose is None:
                raise DataIOError(f"no TF from {self._config.tf_fixed_frame} to "
                                  f"{camera_frame} at {stamp:.3f} s: frame skipped")
            return pose
        return None

    def _on_labels(self, msg: String) -> None:
        try:
            self._labels = parse_labels_json(msg.data)
        except DataIOError as error:
            self._report_error(f"labels ignored: {error}")

    def _on_synced(self, *msgs) -> None:
        received_s = self._stats.input_received()
        roles = dict(zip(self._topic_roles, msgs))
        too_big = [f"{role} {m.width}x{m.height}" for role, m in roles.items()
                   if m.width * m.height > self._config.max_pixels]
        if too_big:  # refused before any decoding or per-camera allocation
            self._stats.frame_dropped()
            self._report_error(f"frame refused: {', '.join(too_big)} is over max_pixels "
                               f"{self._config.max_pixels}", frame_failed=True)
            return
        inputs = FrameInputs(roles["rgb"], roles.get("depth"), roles.get("instances"),
                         received_s)
        if self._queue.put(inputs) is not None:  # full: its oldest frame made way
            self._stats.frame_dropped(by_queue=True)

    # --- processing ----------------------------------------------------------
    def _work(self) -> None:
        while not self._queue.closed:
            inputs = self._queue.take(timeout_s=0.2)
            if inputs is None:
                continue
            if not self.context.ok():
                return  # shutting down: publishers are gone
            try:
                with self._swapper.frame_lock:  # an unload_first swap waits for the frame
                    self._process(inputs)
            except (CoreError, DataIOError, PerceptionError) as error:
                self._report_error(str(error), frame_failed=True)
            except Exception as error:  # the node must survive any frame
                if not self.context.ok():
                    return
                self._report_error(f"unexpected error while processing a frame: "
                                   f"{type(error).__name__}: {error}", frame_failed=True)

    def _process(self, inputs: FrameInputs) -> None:
        c = self._config
        camera = self._camera
        if camera is None:
            raise DataIOError(f"no CameraInfo received on {c.camera_info_topic}: frames are "
                              "dropped until it arrives")
        rgb_msg = inputs.rgb
        # the offline tools' builder too: one recording, the same inputs live and offline
        sensors = sensor_inputs_from_msgs(rgb_msg, inputs.depth, inputs.instances, camera,
                                          InputSettings(c.depth_min_m, c.depth_max_m),
                                          id_to_label=self._labels)
        stamp_ns = stamp_to_ns(rgb_msg.header.stamp)
        if self._tracked is not None:  # two rates: the tracker uses the pose
            world_from_camera = self._camera_pose(rgb_msg, camera.frame_id)
            perceived = self._tracked.step(self._chain, sensors, self._prompts, stamp_ns,
                                           world_from_camera)
        else:
            perceived = self._chain.run(sensors, self._prompts, stamp_ns)
            world_from_camera = self._camera_pose(rgb_msg, camera.frame_id)
        self._stats.perceived(perceived.timings_s, perceived.provenance.as_dict())
        capture = perceived.capture
        result = self._pipeline.process(capture, perceived.observations, world_from_camera)
        self._snapshot = Snapshot(result.graph, capture, result)
        for warning in result.warnings:
            self.get_logger().warn(warning, throttle_duration_sec=5.0)
        graph_msg = scene_graph_to_msg(result.graph)
        self._graph_pub.publish(graph_msg)
        self._marker_pub.publish(scene_graph_to_markers(result.graph))
        if self._vision is not None:
            self._detections_3d_pub.publish(
                detections_3d(self._vision, result.graph, graph_msg.header))
            self._detections_2d_pub.publish(
                detections_2d(self._vision, result.graph, rgb_msg.header))
        frames = self._robot_frames.at(result.graph)[0] if c.reward_stream_pairs else {}
        for source, target in c.reward_stream_pairs:
            step = self._rewards.stream_step(result.graph, source, target, c.reward_settings,
                                             frames)
            self._reward_pub.publish(self._reward_msg(step, result.graph, source, target,
                                                      c.reward_distance_kind))
        self._stats.frame_processed(inputs.received_s)

    def _reward_msg(self, step: RewardResult, graph: SceneGraph, source: str, target: str,
                    distance_kind: str) -> DistanceReward:
        """A stream message, named by the configured pair (not the current descriptions),
        with the frame's settings (not ones set since: parameters change live)."""
        return DistanceReward(header=Header(stamp=ns_to_stamp(graph.stamp_ns),
                                            frame_id=graph.frame_id),
                              source=source, target=target,
                              distance_kind=distance_kind,
                              distance=float(step.distance_m), reward=float(step.reward),
                              valid=step.valid)

    def _report_error(self, message: str, *, frame_failed: bool = False) -> None:
        self._stats.error(message, frame_failed=frame_failed)
        self.get_logger().error(message, throttle_duration_sec=2.0)

    # --- services ------------------------------------------------------------
    def _on_query(self, request: QuerySpatial.Request, response: QuerySpatial.Response):
        graph = self._snapshot.graph
        units = request.unit_preference or "metric"
        margins = self._config.margins
        frames, missing = self._robot_frames.at(graph)
        if request.question.strip():
            answer = answer_question(graph, request.question, units, frames=frames,
                                     margins=margins)
        elif request.relation:
            answer = answer_structured(graph, request.relation, request.subject,
                                       request.object, units=units, frames=frames,
                                       margins=margins)
        else:
            message = "set either question, or relation + subject (+ object)"
            answer = Answer(False, message, error=message)
        return fill_query_response(response, with_missing_frames(answer, missing),
                                   graph.stamp_ns)

    def _on_compute_reward(self, request: ComputeReward.Request,
                           response: ComputeReward.Response):
        snapshot = self._snapshot
        response.scene_stamp = ns_to_stamp(snapshot.graph.stamp_ns)
        response.distance = float("nan")
        response.reward = float("nan")
        scene = snapshot.result.scene if snapshot.result is not None else None
        frames, missing = self._robot_frames.at(snapshot.graph)
        try:
            settings = reward_settings(request)
            for frame_id in (request.source_frame, request.target_frame):
                if frame_id.strip() in missing:
                    raise CoreError(missing[frame_id.strip()])
            source, target = (
                request_side(snapshot.graph, snapshot.capture, scene, label=label,
                             object_id=object_id, frame_id=frame_id, frames=frames,
                             roi_xywh=(roi.x_offset, roi.y_offset, roi.width, roi.height))
                for label, object_id, roi, frame_id in (
                    (request.source_label, request.source_id, request.source_roi,
                     request.source_frame),
                    (request.target_label, request.target_id, request.target_roi,
                     request.target_frame)))
            step = self._rewards.step(source, target, settings)
        except CoreError as error:
            response.success = False
            response.error_message = str(error)
            return response
        return fill_reward_response(response, step)

    def _on_set_labels(self, request: SetLabels.Request, response: SetLabels.Response):
        response.success, response.message = self._live.set_labels(request.labels)
        return response

    # --- diagnostics ---------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        try:
            self._publish_diagnostics_now()
        except Exception as error:  # a timer exception would end executor.spin()
            self.get_logger().error(f"diagnostics failed: {error}", throttle_duration_sec=10.0)

    def _publish_diagnostics_now(self) -> None:
        graph = self._snapshot.graph
        swap = self._swapper.status
        report = self._stats.report(camera_known=self._camera is not None,
                                    floor_found=graph.floor_found,
                                    objects_tracked=len(graph.objects),
                                    camera_height_m=graph.scene.camera_height_m,
                                    engines=engine_states(), queue=self._queue.counts(),
                                    extra={**swap.values(), **self._sync_values(), **(
                                        self._tracked.diagnostics() if self._tracked else {})})
        level, message = swap.applied_to(report.level, report.message)
        level = {"ok": DiagnosticStatus.OK, "error": DiagnosticStatus.ERROR}.get(
            level, DiagnosticStatus.WARN)
        status = DiagnosticStatus(level=level, name=f"{self.get_name()}: scene graph",
                                  message=message, hardware_id=graph.camera_frame_id,
                                  values=[KeyValue(key=k, value=v)
                                          for k, v in report.values.items()])
        self._diag_pub.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now()
                                                             .to_msg()), status=[status]))

    def _sync_values(self) -> dict[str, str]:
        """Messages of each topic the built-in synchroniser dropped unmatched (their other
        topics lost or too late) and those still waiting for them: frames that never
        reached the queue. message_filters does not say."""
        if self._use_message_filters:
            return {}
        waiting = self._sync.waiting
        return {key: str(n) for role, dropped, queued in
                zip(self._topic_roles, self._sync.unmatched, waiting)
                for key, n in ((f"{role}_unsynced", dropped), (f"{role}_waiting", queued))}

    @property
    def stats(self) -> dict[str, int]:
        return self._stats.counts()

    def destroy_node(self) -> None:
        # A constructor that refused its parameters left a partial node, which rclpy's
        # shutdown still destroys: tear down only what was built.
        if hasattr(self, "_service_executor"):
            self._service_executor.shutdown(timeout_sec=2.0)
            self._service_node.destroy_node()
        if hasattr(self, "_swapper"):
            self._swapper.stop()
        if getattr(self, "_tracked", None) is not None:
            self._tracked.close()
        if hasattr(self, "_worker"):
            self._queue.close()
            self._worker.join(timeout=2.0)
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    # several executor threads: services must not wait behind sensor callbacks
    return run_node(SpatialNode, args, "spatial_vqa", threads=4)

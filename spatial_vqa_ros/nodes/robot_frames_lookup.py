"""The spatial node's robot frames: which transform source places them, and their
positions in a snapshot's scene frame (``core.robot_frames``).

tf2_ros where installed (any frame, at the image stamp); otherwise the odometry's child
frame alone (its origin is fixed in the camera frame by the extrinsic). Frames that
cannot be placed at a snapshot's stamp are left out, with the reason kept for the
error a query or a reward then returns.
"""

from __future__ import annotations

from typing import Any

from ..core.robot_frames import FramePoint, TransformError, frame_points, strip_frame_prefix
from ..core.scene_graph import SceneGraph
from .camera_pose import OdometryRobotFrames, Tf2RobotFrames, pose_matrix


def transform_source(node: Any, config: Any, poses: Any) -> Any | None:
    """The robot frames' TransformSource for ``config`` (None when none is named);
    ValueError when frames are named and nothing can place them."""
    if not config.robot_frames:
        return None
    try:
        return Tf2RobotFrames(node, config.tf_timeout_s)
    except ImportError:
        pass
    if config.odometry_child_frame and poses is not None:
        others = [f for f in config.robot_frames if f != config.odometry_child_frame]
        if not others:
            extrinsic = config.camera_in_odometry_child
            return OdometryRobotFrames(config.odometry_child_frame,
                                       pose_matrix(extrinsic[:3], extrinsic[3:]), poses)
        raise ValueError(f"robot_frames {others} need tf2_ros, which is not installed "
                         f"(without it only odometry_child_frame "
                         f"{config.odometry_child_frame!r} can be placed)")
    raise ValueError("robot_frames need tf2_ros (not installed), or odometry_topic with "
                     "odometry_child_frame naming the one frame odometry places")


class RobotFrames:
    """Places the configured frames in snapshots; remembers why one could not be."""

    def __init__(self, source: Any | None, frame_ids: tuple[str, ...]) -> None:
        self.source = source
        self.frame_ids = tuple(strip_frame_prefix(f) for f in frame_ids)

    def at(self, graph: SceneGraph) -> tuple[dict[str, FramePoint], dict[str, str]]:
        """(frames placed at the graph's image stamp, frame -> why it is missing)."""
        if self.source is None or not graph.camera_frame_id:
            return {}, {}
        placed: dict[str, FramePoint] = {}
        missing: dict[str, str] = {}
        for frame_id in self.frame_ids:
            try:
                placed.update(frame_points(self.source, [frame_id], graph.scene,
                                           graph.camera_frame_id, graph.stamp_ns))
            except TransformError as error:
                missing[frame_id] = str(error)
        return placed, missing


def with_missing_frames(answer: Any, missing: dict[str, str]) -> Any:
    """A failed answer that names a robot frame which could not be placed gets the
    transform's reason added (not just "no object called ...")."""
    if answer.success or not missing:
        return answer
    reasons = [reason for frame, reason in missing.items() if frame in answer.error]
    if not reasons:
        return answer
    from dataclasses import replace

    error = f"{answer.error}; {'; '.join(reasons)}"
    return replace(answer, text=error, error=error)

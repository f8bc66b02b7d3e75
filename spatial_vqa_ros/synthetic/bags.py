"""Synthetic rosbag2 recordings with exact ground truth beside them (ROS-free).

:func:`write_synthetic_bag` renders one of three kinds of recording and writes it with
:class:`~spatial_vqa_ros.io.bags.BagFrameWriter` (the package's topic convention: rgb,
camera_info, depth, instances, labels JSON; one header stamp per frame, logged at
that stamp), then ``ground_truth.jsonl`` into the bag directory:

- ``scene``: a random scene seen by a static camera (noise redrawn every frame);
- ``sequence``: a static random scene seen by a smoothly moving camera, with the camera
  pose per frame as ``nav_msgs/msg/Odometry`` on ``/camera/odom`` (header.frame_id
  ``odom`` = the world, z up = the floor normal; child_frame_id = the camera optical
  frame; pose = the optical frame in the world; twist left at zero);
- ``approach``: a "gripper" box moving onto a "cube" until they touch
  (``synthetic.scenes.approach_trajectory``), with the true gap per frame.

Each line of ``ground_truth.jsonl`` is one frame (see :func:`truth_record`)::

    {"frame": 0, "stamp_ns": ..., "kind": "scene", "camera_frame_id": ...,
     "scene_frame_id": ..., "camera_height_m": ..., "camera_pitch_rad": ...,
     "camera_roll_rad": ..., "floor_plane_cam": [a, b, c, d],
     "camera_pose_world": {"position": [x, y, z], "orientation_xyzw": [...]},
     "objects": [{"id": 1, "label": "mug", "kind": "cylinder",
                  "center_scene": [x, y, z], "extent_scene": [depth x, width y, height z],
                  "visible_pixel_count": ..., "occluded_fraction": ..., "cut_by_border": ...}],
     "gap": {"source": "gripper", "target": "cube", "gap_m": ...}}   # approach only

Geometry in the true scene frame (``core.scene_frame``), metres and radians.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.spatial.transform import Rotation

from ..core.camera import CameraIntrinsics
from ..core.pipeline import scene_frame_id_for
from ..io.bags import BagFrameWriter, BagTopics
from ..io.errors import DataIOError
from .render import DepthNoise, RenderedFrame, apply_noise, render
from .scenes import (
    SyntheticError,
    SyntheticScene,
    approach_trajectory,
    random_camera,
    random_scene,
    random_sequence,
)
from .truth import SceneTruth, ground_truth, true_gap

KINDS = ("scene", "sequence", "approach")
#: Where ``sequence`` bags carry the camera pose.
ODOM_TOPIC = "/camera/odom"
ODOMETRY = "nav_msgs/msg/Odometry"
#: Name of the ground truth file written into the bag directory.
GROUND_TRUTH_FILE = "ground_truth.jsonl"
#: Header stamp of the first frame (2023-11-14T22:13:20Z), so stamps are realistic.
DEFAULT_START_NS = 1_700_000_000_000_000_000
#: Labels of the two sides of the approach gap.
APPROACH_SOURCE, APPROACH_TARGET = "gripper", "cube"


@dataclass(frozen=True)
class SyntheticBag:
    """What :func:`write_synthetic_bag` wrote: the bag directory, its ground truth file,
    the header stamps of its frames (ns) and the topics."""

    path: Path
    ground_truth_path: Path
    kind: str
    stamps_ns: tuple[int, ...]
    topics: BagTopics
    odom_topic: str | None

    @property
    def frames(self) -> int:
        return len(self.stamps_ns)


def synthetic_scenes(kind: str, frames: int, seed: int = 0, width: int = 640,
                     height: int = 480) -> list[SyntheticScene]:
    """The scene of every frame of a recording of ``kind`` (deterministic under ``seed``)."""
    if kind not in KINDS:
        raise SyntheticError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if frames < 1:
        raise SyntheticError(f"frames must be >= 1, got {frames}")
    rng = np.random.default_rng(seed)
    camera = random_camera(rng, width, height)
    if kind == "scene":
        return [random_scene(rng, camera)] * frames
    if kind == "sequence":
        return random_sequence(rng, frames, camera)
    if frames < 2:
        raise SyntheticError(f"an approach needs frames >= 2, got {frames}")
    return approach_trajectory(rng, frames, camera)


def camera_pose_record(scene: SyntheticScene) -> dict[str, list[float]]:
    """The camera optical frame in the world: position (m) and quaternion (x, y, z, w)."""
    quaternion = Rotation.from_matrix(scene.pose.rotation_world_from_cam).as_quat()
    return {"position": [float(v) for v in scene.pose.position_world],
            "orientation_xyzw": [float(v) for v in quaternion]}


def truth_record(index: int, stamp_ns: int, kind: str, scene: SyntheticScene,
                 truth: SceneTruth) -> dict[str, Any]:
    """One line of ``ground_truth.jsonl`` (schema in the module docstring)."""
    objects = [{
        "id": o.id, "label": o.label, "kind": o.kind,
        "center_scene": [float(v) for v in o.center_scene],
        "extent_scene": [float(v) for v in o.extent_scene],
        "visible_pixel_count": o.visible_pixel_count,
        "occluded_fraction": float(o.occluded_fraction),
        "cut_by_border": bool(o.cut_by_border),
    } for o in truth.objects]
    record: dict[str, Any] = {
        "frame": index, "stamp_ns": int(stamp_ns), "kind": kind,
        "camera_frame_id": scene.camera.frame_id,
        "scene_frame_id": scene_frame_id_for(scene.camera.frame_id),
        "camera_height_m": float(truth.camera_height_m),
        "camera_pitch_rad": float(truth.pitch_rad),
        "camera_roll_rad": float(truth.roll_rad),
        "floor_plane_cam": [float(v) for v in truth.frame.floor_plane_cam],
        "camera_pose_world": camera_pose_record(scene),
        "objects": objects,
    }
    labels = {o.label: o for o in truth.objects}
    if kind == "approach":
        gap = true_gap(labels[APPROACH_SOURCE], labels[APPROACH_TARGET])
        record["gap"] = {"source": APPROACH_SOURCE, "target": APPROACH_TARGET, "gap_m": gap}
    return record


def _frames(kind: str, scenes: list[SyntheticScene], noise: DepthNoise | None,
            rng: np.random.Generator) -> Iterator[tuple[SyntheticScene, RenderedFrame,
                                                         np.ndarray, SceneTruth]]:
    """(scene, clean render, depth to record, truth) per frame; a static scene once."""
    static: tuple[RenderedFrame, SceneTruth] | None = None
    for scene in scenes:
        if kind == "scene" and static is not None:
            rendered, truth = static
        else:
            rendered = render(scene)
            truth = ground_truth(scene, rendered)
            static = (rendered, truth)
        depth_m = rendered.depth_m if noise is None else apply_noise(rendered.depth_m, noise, rng)
        yield scene, rendered, depth_m, truth


def _odometry(writer: BagFrameWriter, stamp_ns: int, camera: CameraIntrinsics,
              scene: SyntheticScene) -> Any:
    types = writer.typestore.types
    pose = camera_pose_record(scene)
    x, y, z = pose["position"]
    qx, qy, qz, qw = pose["orientation_xyzw"]
    zero3 = types["geometry_msgs/msg/Vector3"](x=0.0, y=0.0, z=0.0)
    return types[ODOMETRY](
        header=writer.header_message(stamp_ns, "odom"),
        child_frame_id=camera.frame_id,
        pose=types["geometry_msgs/msg/PoseWithCovariance"](
            pose=types["geometry_msgs/msg/Pose"](
                position=types["geometry_msgs/msg/Point"](x=x, y=y, z=z),
                orientation=types["geometry_msgs/msg/Quaternion"](x=qx, y=qy, z=qz, w=qw)),
            covariance=np.zeros(36)),
        twist=types["geometry_msgs/msg/TwistWithCovariance"](
            twist=types["geometry_msgs/msg/Twist"](linear=zero3, angular=zero3),
            covariance=np.zeros(36)))


def _write_tf(writer: BagFrameWriter, kind: str, scene: SyntheticScene, stamp_ns: int,
              first: bool) -> None:
    from .tf_frames import TF_MESSAGE, frame_transforms, tf_message

    static, dynamic = frame_transforms(kind, scene)
    if static and first:
        writer.write_message("/tf_static", TF_MESSAGE, stamp_ns,
                             tf_message(writer.typestore, stamp_ns, static))
    if dynamic:
        writer.write_message("/tf", TF_MESSAGE, stamp_ns,
                             tf_message(writer.typestore, stamp_ns, dynamic))


def write_synthetic_bag(  # noqa: PLR0913 -- a recording's options, all keyword-only
    out: str | Path,
    kind: str = "scene",
    frames: int = 10,
    seed: int = 0,
    *,
    storage: Literal["sqlite3", "mcap"] = "sqlite3",
    depth_encoding: Literal["32FC1", "16UC1"] = "32FC1",
    noise: bool | DepthNoise = False,
    rate_hz: float = 30.0,
    width: int = 640,
    height: int = 480,
    start_ns: int = DEFAULT_START_NS,
    topics: BagTopics = BagTopics(),
    odom_topic: str = ODOM_TOPIC,
    tf: bool = False,
) -> SyntheticBag:
    """Render a recording of ``kind`` and write it as a new rosbag2 at ``out``.

    Frame i has header stamp and log time ``start_ns + round(i * 1e9 / rate_hz)``.
    ``noise``: True for the default ``DepthNoise``, or a ``DepthNoise``; redrawn per
    frame (seeded). ``out`` must not exist (rosbag2 writers never overwrite).
    ``tf``: also write ``/tf`` and ``/tf_static`` (``synthetic.tf_frames``: the camera
    under ``world``, and in an approach the gripper tip as ``tool0``).
    Raises SyntheticError for bad arguments, DataIOError if the bag cannot be written.
    """
    if not (math.isfinite(rate_hz) and rate_hz > 0):
        raise SyntheticError(f"rate_hz must be > 0, got {rate_hz}")
    out = Path(out)
    if out.exists():
        raise DataIOError(f"{out} already exists; rosbag2 bags are written to a new directory")
    scenes = synthetic_scenes(kind, frames, seed, width, height)
    depth_noise = DepthNoise() if noise is True else (noise or None)
    noise_rng = np.random.default_rng([seed, 1])
    stamps = [start_ns + round(i * 1e9 / rate_hz) for i in range(frames)]
    records = []
    with BagFrameWriter(out, storage=storage, topics=topics,
                        depth_encoding=depth_encoding) as writer:
        for i, (scene, rendered, depth_m, truth) in enumerate(
                _frames(kind, scenes, depth_noise, noise_rng)):
            if kind == "sequence":  # first: a node can then look the pose up on arrival
                writer.write_message(odom_topic, ODOMETRY, stamps[i],
                                     _odometry(writer, stamps[i], scene.camera, scene))
            if tf:
                _write_tf(writer, kind, scene, stamps[i], first=i == 0)
            writer.write(stamps[i], rendered.rgb, scene.camera, depth_m=depth_m,
                         instance_ids=rendered.instance_ids, id_to_label=scene.id_to_label)
            records.append(truth_record(i, stamps[i], kind, scene, truth))
    truth_path = out / GROUND_TRUTH_FILE
    tmp = truth_path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    tmp.replace(truth_path)
    return SyntheticBag(out, truth_path, kind, tuple(stamps), topics,
                        odom_topic if kind == "sequence" else None)


def read_ground_truth(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``ground_truth.jsonl`` (or of the bag directory holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / GROUND_TRUTH_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataIOError(f"cannot read ground truth {path}: {exc}") from None
    try:
        return [json.loads(line) for line in lines if line.strip()]
    except ValueError as exc:
        raise DataIOError(f"ground truth {path} is not JSON lines: {exc}") from None


def unique_labels(path: str | Path) -> list[str]:
    """Labels that name exactly one object in a synthetic bag's first frame: names a
    query can use without a referring expression."""
    objects = read_ground_truth(path)[0]["objects"]
    counts = Counter(o["label"] for o in objects)
    return [o["label"] for o in objects if counts[o["label"]] == 1]


__all__ = [
    "DEFAULT_START_NS",
    "GROUND_TRUTH_FILE",
    "KINDS",
    "ODOM_TOPIC",
    "SyntheticBag",
    "read_ground_truth",
    "synthetic_scenes",
    "truth_record",
    "write_synthetic_bag",
]

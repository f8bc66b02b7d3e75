"""The synthetic world: primitives on a floor, a camera pose, and random scenes.

One module per job: ``primitives`` (the ``Primitive``, ``CameraPose`` and
``SyntheticScene`` types), ``meshes`` (their triangle meshes), ``placement``
(random cameras, poses and scenes) and ``trajectories`` (moving-camera sequences
and the gripper approach). Import the public names from here.
"""

from __future__ import annotations

from .placement import (
    CATALOGUE,
    CLUTTERED,
    TALL_CATALOGUE,
    TIDY,
    RoomStyle,
    random_camera,
    random_pose,
    random_scene,
)
from .primitives import (
    KIND_DIMS,
    MESH_SEGMENTS,
    CameraPose,
    Primitive,
    SyntheticError,
    SyntheticScene,
)
from .trajectories import (
    CUBE_EDGE_M,
    GRIPPER_DIMS,
    aligned_box_gap_m,
    approach_trajectory,
    point_to_box_m,
    push_trajectory,
    random_sequence,
    tool_point_world,
)

__all__ = [
    "CATALOGUE",
    "CLUTTERED",
    "CUBE_EDGE_M",
    "GRIPPER_DIMS",
    "KIND_DIMS",
    "MESH_SEGMENTS",
    "TALL_CATALOGUE",
    "TIDY",
    "CameraPose",
    "Primitive",
    "RoomStyle",
    "SyntheticError",
    "SyntheticScene",
    "aligned_box_gap_m",
    "approach_trajectory",
    "point_to_box_m",
    "push_trajectory",
    "random_camera",
    "random_pose",
    "random_scene",
    "random_sequence",
    "tool_point_world",
]

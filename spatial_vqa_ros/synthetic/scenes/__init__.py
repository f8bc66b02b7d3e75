"""The synthetic world: primitives on a floor, a camera pose, and random scenes.

One module per job: ``primitives`` (the ``Primitive``, ``CameraPose`` and
``SyntheticScene`` types), ``meshes`` (their triangle meshes), ``placement``
(random cameras, poses and scenes), ``hiding`` (walls, deep furniture, hidden and
tiny objects of the rooms that hide things) and ``trajectories`` (moving-camera sequences
and the gripper approach). Import the public names from here.
"""

from __future__ import annotations

from .hiding import DEEP_CATALOGUE, TINY_CATALOGUE, room_walls
from .placement import (
    CATALOGUE,
    CLUTTERED,
    CLUTTERED_HIDDEN,
    HIDDEN_ROOMS,
    ROOMS,
    TALL_CATALOGUE,
    TIDY,
    TIDY_HIDDEN,
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
    "CLUTTERED_HIDDEN",
    "CUBE_EDGE_M",
    "DEEP_CATALOGUE",
    "GRIPPER_DIMS",
    "HIDDEN_ROOMS",
    "KIND_DIMS",
    "MESH_SEGMENTS",
    "ROOMS",
    "TALL_CATALOGUE",
    "TIDY",
    "TIDY_HIDDEN",
    "TINY_CATALOGUE",
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
    "room_walls",
    "tool_point_world",
]

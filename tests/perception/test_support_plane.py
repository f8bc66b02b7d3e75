"""depth_box's support cut (perception/support_plane.py) on rendered scenes built for
each case: the floor and the wall behind an object leave its mask, the crate a book
lies on does not cut the book's front face, a flat object keeps its top, and an object
that is itself the plane (a rug) keeps its mask."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.perception.chain import mask_iou
from spatial_vqa_ros.perception.depth_box import DepthBoxSegmenter
from spatial_vqa_ros.perception.types import SensorInputs
from spatial_vqa_ros.synthetic.render import DepthNoise, apply_noise, render
from spatial_vqa_ros.synthetic.scenes import CameraPose, Primitive, SyntheticScene

CAMERA = CameraIntrinsics(fx=525.0, fy=525.0, cx=319.5, cy=239.5, width=640, height=480)
#: 1.2 m up, looking along +x and 35 degrees down, as a robot's head camera
POSE = CameraPose.from_angles((0.0, 0.0, 1.2), 0.0, np.radians(35.0))


def box(i: int, label: str, centre, dims) -> Primitive:
    return Primitive(i, label, "box", np.array(centre, float), tuple(dims))


def mask_of(objects, target: int, *, background=(), noise: bool = False):
    """(depth_box mask, true mask, instance ids) of object ``target``, its box the true
    mask's bounding box."""
    rendered = render(SyntheticScene(tuple(objects), CAMERA, POSE, tuple(background)))
    depth = rendered.depth_m
    if noise:
        depth = apply_noise(depth, DepthNoise(), np.random.default_rng(3))
    true = rendered.instance_ids == target
    ys, xs = np.nonzero(true)
    xyxy = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], float)
    inputs = SensorInputs(rendered.rgb, rendered.camera, depth, rendered.instance_ids,
                          rendered.id_to_label)
    return DepthBoxSegmenter().segment(inputs, xyxy, depth)[0], true, rendered.instance_ids


@pytest.mark.parametrize("noise", [False, True])
def test_the_floor_and_the_wall_behind_an_object_leave_its_mask(noise):
    suitcase = box(1, "suitcase", (2.0, 0.0, 0.35), (0.3, 0.7, 0.7))
    wall = box(9, "wall", (2.45, 0.0, 1.25), (0.05, 6.0, 2.5))  # 0.3 m behind it
    mask, true, ids = mask_of([suitcase], 1, background=[wall], noise=noise)
    assert (mask & (ids == 0)).sum() <= 0.02 * true.sum()  # floor and wall: id 0
    assert mask_iou(mask, true) >= 0.9


def test_a_book_on_a_crate_keeps_the_front_face_the_crate_is_flush_with():
    crate = box(1, "crate", (2.0, 0.0, 0.25), (0.5, 0.5, 0.5))
    # flush with the crate's front face (x = 1.75), 4 cm thick, on its top
    book = box(2, "book", (1.87, 0.0, 0.52), (0.24, 0.17, 0.04))
    mask, true, ids = mask_of([crate, book], 2, noise=True)
    assert (mask & true).sum() >= 0.85 * true.sum()
    assert (mask & (ids == 1)).sum() <= 0.1 * true.sum()


def test_a_flat_object_on_the_floor_keeps_its_top_and_loses_the_floor():
    book = box(1, "book", (1.8, 0.0, 0.015), (0.24, 0.17, 0.03))
    mask, true, ids = mask_of([book], 1, noise=True)
    assert (mask & true).sum() >= 0.8 * true.sum()
    assert (mask & (ids == 0)).sum() <= 0.1 * true.sum()


def test_an_object_that_is_the_plane_itself_keeps_its_mask():
    rug = box(1, "rug", (1.8, 0.0, 0.0025), (0.8, 1.2, 0.005))
    mask, true, _ = mask_of([rug], 1)
    assert (mask & true).sum() >= 0.9 * true.sum()  # the floor around it stays, too

"""Minimum support for sizes: a width or height is stated when its expected error from
pixel quantisation and depth noise at its range is within 25% (``core.size_support``)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from builders import SCENE, est

from spatial_vqa_ros.core.size_support import TOLERANCE, size_support
from spatial_vqa_ros.synthetic.scoring import TruthBox

#: The camera of the builders' scene, and a typical RGB-D focal length [px].
CAMERA = SCENE.camera_position_scene
FOCAL_PX = 570.0
#: A Kinect's depth noise coefficient (synthetic ``DepthNoise``): sigma = c z^2.
KINECT_C = 0.0015


def seen(width_m: float, range_m: float, *, noise_c: float = KINECT_C, step_px: float = 2.0,
         height_m: float = 0.1, lateral_m: float = 0.0, below_m: float = 0.0):
    """An object ``width_m`` wide, ``range_m`` ahead of the camera (``lateral_m`` to the
    left, ``below_m`` below the camera's height), with the
    footprint lifting gives it: its mask's grid box spans width f / z pixels (the box
    reaches the outermost points' cells), one lifted point per step^2 pixels, and
    position noise 0.005 + max(0.003, 2c) z^2."""
    direction = np.array([1.0, 0.0, 0.0])
    center = CAMERA + range_m * direction + np.array([0.0, lateral_m, -below_m])
    span_px = width_m * FOCAL_PX / range_m
    height_px = max(height_m * FOCAL_PX / range_m, 1.0)
    pixels = int(span_px * height_px * 0.8)
    o = est("thing", center, (0.1, width_m, height_m),
            sigma=0.005 + max(0.003, 2 * noise_c) * range_m ** 2)
    return replace(o, roi_xyxy=(100, 100, 100 + round(span_px), 100 + math.ceil(height_px)),
                   pixel_count=pixels, point_count=max(1, round(pixels / step_px ** 2)))


def expected_error_m(range_m: float, *, noise_c: float = KINECT_C, step_px: float = 2.0,
                     lean: float = 0.0) -> float:
    """The module's error model for a width: 0.75 grid steps at z / f (what is left of
    its two edges' quantisation once the lift adds half a cell to each) plus two sigmas
    (about one per edge: the constants calibrated on rendered rooms)."""
    return 0.75 * step_px * range_m / FOCAL_PX + 2 * noise_c * range_m ** 2 * lean


def test_a_close_small_object_has_its_width_stated():
    support = size_support(seen(0.03, 0.6), "width", CAMERA)
    assert support is not None and support.supported
    assert support.range_m == pytest.approx(0.6)
    assert support.span_px == pytest.approx(0.03 * FOCAL_PX / 0.6, abs=1)


def test_the_same_object_far_away_is_refused():
    support = size_support(seen(0.03, 4.0), "width", CAMERA)
    assert support is not None and not support.supported
    assert support.error_m > TOLERANCE * 0.03


@pytest.mark.parametrize("range_m", [0.5, 2.0, 4.0])
def test_the_boundary_is_where_the_expected_error_reaches_a_quarter_of_the_width(range_m):
    smallest = expected_error_m(range_m) / TOLERANCE
    # (10% either side: the pixel box is whole pixels)
    assert size_support(seen(smallest * 1.1, range_m), "width", CAMERA).supported
    assert not size_support(seen(smallest * 0.9, range_m), "width", CAMERA).supported


def test_depth_noise_at_the_range_moves_the_boundary_for_an_object_off_axis():
    # 0.5 m to the side at 3 m: rays lean 1/6 on the width axis, so sigma(z) counts
    lean = 0.5 / 3.0
    quiet = expected_error_m(3.0, noise_c=KINECT_C, lean=lean) / TOLERANCE
    noisy = expected_error_m(3.0, noise_c=0.01, lean=lean) / TOLERANCE
    assert noisy > 1.5 * quiet
    width = (quiet + noisy) / 2
    assert size_support(seen(width, 3.0, lateral_m=0.5), "width", CAMERA).supported
    assert not size_support(seen(width, 3.0, noise_c=0.01, lateral_m=0.5), "width",
                            CAMERA).supported


def test_a_height_reads_the_noise_along_the_rays_elevation():
    # the builders' camera is 1 m up: an object on the floor 2 m ahead is seen 27
    # degrees down, so half of sigma(z) lies along the height
    flat = seen(0.3, 2.0, height_m=0.05, noise_c=0.01, below_m=0.975)
    tall = seen(0.3, 2.0, height_m=0.2, noise_c=0.01, below_m=0.9)
    level = seen(0.3, 2.0, height_m=0.05, noise_c=0.01)
    assert size_support(level, "height", CAMERA).supported  # no lean: noise is across
    assert not size_support(flat, "height", CAMERA).supported
    assert size_support(tall, "height", CAMERA).supported


def test_without_a_camera_the_steepest_ray_is_assumed():
    o = seen(0.04, 3.0, noise_c=0.004)
    with_camera = size_support(o, "width", CAMERA)
    without = size_support(o, "width")
    assert math.isnan(without.range_m)
    assert without.error_m > with_camera.error_m


def test_objects_without_a_mask_footprint_are_not_judged_on_pixels():
    truth = TruthBox(np.array([2.0, 0.0, 0.1]), np.array([0.1, 0.01, 0.1]))
    hand_built = est("mug", [6.0, 0.0, 0.1], (0.1, 0.01, 0.1))  # roi (0, 0, 1, 1), 500 px
    assert size_support(truth, "width", CAMERA) is None
    assert size_support(hand_built, "width", CAMERA) is None


def test_the_refusal_sentence_gives_range_span_and_error():
    support = size_support(seen(0.03, 4.0), "width", CAMERA)
    text = support.sentence("the cup", "width")
    assert "at 4.0 m" in text and "pixels" in text and "3.0 cm" in text
    assert f"{support.error_m * 100:.1f} cm" in text


def test_an_unknown_size_name_is_a_caller_bug():
    with pytest.raises(KeyError, match="depth"):
        size_support(seen(0.1, 1.0), "depth", CAMERA)


def test_a_thin_mask_whose_grid_box_misses_a_step_is_still_judged():
    # a 2 cm pole 3 m away: its mask is 5-6 pixels wide, its box on the stride-2 grid
    # only 4, so the box holds fewer pixels than the mask; it is judged, and refused
    pole = replace(seen(0.02, 3.0, height_m=1.0), roi_xyxy=(100, 100, 104, 292),
                   pixel_count=1100, point_count=275)
    support = size_support(pole, "width", CAMERA)
    assert support is not None and not support.supported


def test_a_width_errs_more_per_grid_step_than_a_height_of_the_same_object():
    """A width has two quantised edges (0.75 steps of error left), a height's top is
    mostly a face seen from above (half a step), with no lean on either."""
    o = seen(0.2, 2.0, height_m=0.2)
    width, height = size_support(o, "width", CAMERA), size_support(o, "height", CAMERA)
    assert width.error_m == pytest.approx(1.5 * height.error_m)
    assert width.error_m == pytest.approx(expected_error_m(2.0), rel=1e-3)  # whole pixels

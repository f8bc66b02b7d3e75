"""The drawing module: the plan view puts things where the floor frame says (forward is
up, left is left, 1 m grid), pairs are labelled with their length; the plot's ticks
cover the data; the overlay tints masks and writes captions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import est, graph_of

from spatial_vqa_ros.viz.overlay import PALETTE, OverlayItem, draw_overlay
from spatial_vqa_ros.viz.plot import draw_series, nice_ticks
from spatial_vqa_ros.viz.topdown import MapObject, draw_topdown, map_objects


def coloured_pixels(image, colour) -> np.ndarray:
    """(rows, cols) of the pixels drawn in exactly ``colour``."""
    array = np.asarray(image)
    return np.argwhere((array == np.array(colour, np.uint8)).all(axis=2))


def test_the_plan_view_puts_objects_where_the_floor_frame_says():
    ahead_left = MapObject("mug", (3.0, 1.0), (0.4, 0.4))
    near_right = MapObject("box", (1.0, -1.0), (0.4, 0.4))
    image = draw_topdown([ahead_left, near_right], size_px=400, margin_m=0.5)
    camera = coloured_pixels(image, (255, 255, 255))
    mug = coloured_pixels(image, PALETTE[0])
    box = coloured_pixels(image, PALETTE[1])
    assert len(mug) and len(box) and len(camera)
    camera_row, camera_col = np.median(camera, axis=0)
    assert mug[:, 0].mean() < box[:, 0].mean() < camera_row  # further ahead is higher
    assert mug[:, 1].mean() < camera_col < box[:, 1].mean()  # left is left
    # 4 m of floor ahead and 2 m sideways fit; the mug's 0.4 m box is drawn to scale
    scale = (400 - 40) / (3.2 + 0.5 * 2 + 0.0)
    width_px = mug[:, 1].max() - mug[:, 1].min()
    assert width_px == pytest.approx(0.4 * scale, abs=max(3, 0.15 * width_px))


def test_pairs_get_their_length_and_scene_objects_convert():
    graph = graph_of(est("mug", [2.0, 0.5, 0.05]), est("lamp", [3.0, -0.5, 0.6]))
    objects = map_objects(graph.objects)
    assert [o.name for o in objects] == [o.description for o in graph.objects]
    record = [{"description": "the mug", "center": [2.0, 0.5, 0.05],
               "size": [0.2, 0.3, 0.1], "partial": True}]
    assert map_objects(record) == [MapObject("the mug", (2.0, 0.5), (0.2, 0.3), True)]
    with_pair = np.asarray(draw_topdown(objects, pairs=[(0, 1)], size_px=300))
    without = np.asarray(draw_topdown(objects, size_px=300))
    assert (with_pair != without).any()
    assert math.dist((2.0, 0.5), (3.0, -0.5)) == pytest.approx(1.414, abs=1e-3)


@pytest.mark.parametrize(("low", "high"), [(0, 15), (-0.6, 0.62), (0.003, 0.0071),
                                           (5, 5), (-120, 40)])
def test_ticks_are_round_and_cover_the_range(low, high):
    ticks = nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high and 2 <= len(ticks) <= 12
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0])
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-6
    assert nice_ticks(float("nan"), 1.0) == []


def test_series_are_drawn_and_nan_breaks_a_line():
    x = list(range(10))
    clean = draw_series(x, {"gap": [1 - 0.1 * i for i in x]}, size=(320, 200))
    broken = draw_series(x, {"gap": [1 - 0.1 * i if i != 5 else float("nan") for i in x]},
                         size=(320, 200))
    line = (0, 114, 178)
    assert len(coloured_pixels(clean, line)) > len(coloured_pixels(broken, line)) > 0


def test_the_overlay_tints_masks_and_outlines_boxes():
    rgb = np.zeros((60, 80, 3), np.uint8)
    mask = np.zeros((60, 80), bool)
    mask[10:30, 10:30] = True
    image = np.asarray(draw_overlay(rgb, [OverlayItem(mask, (40, 5, 70, 50), "the mug")]))
    assert image[20, 20].sum() > 0 and image[55, 5].sum() == 0  # tinted inside only
    assert (image[5, 40:70] == PALETTE[0]).all(axis=1).any()  # the box's top edge

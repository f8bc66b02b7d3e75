"""Rooms that hide things (issue 22): walls, deep furniture, objects behind nearer ones,
tiny objects; and the default rooms unchanged."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from spatial_vqa_ros.synthetic import Primitive, SyntheticError, SyntheticScene, render
from spatial_vqa_ros.synthetic.scenes import (
    CLUTTERED,
    CLUTTERED_HIDDEN,
    DEEP_CATALOGUE,
    ROOMS,
    TIDY,
    TIDY_HIDDEN,
    TINY_CATALOGUE,
    RoomStyle,
    random_scene,
    room_walls,
)
from spatial_vqa_ros.synthetic.scenes.hiding import behind_position
from spatial_vqa_ros.synthetic.scoring import render_case


def _scene_digest(style: RoomStyle) -> str:
    h = hashlib.sha256()
    for seed in range(3):
        scene = random_scene(np.random.default_rng(seed), style=style)
        for o in scene.objects:
            h.update(o.label.encode())
            h.update(np.round(np.append(o.center_world, [*o.dims, o.yaw_rad]), 9).tobytes())
        h.update(np.round(scene.pose.position_world, 9).tobytes())
    return h.hexdigest()[:16]


@pytest.mark.parametrize(("style", "digest"), [(TIDY, "736c65603cf95394"),
                                               (CLUTTERED, "153267778a573c71")])
def test_default_rooms_keep_the_scenes_of_their_seeds(style: RoomStyle, digest: str) -> None:
    # digests of seeds 0-2 made with the generator before the hiding options existed
    assert _scene_digest(style) == digest
    assert random_scene(np.random.default_rng(0), style=style).background == ()


def test_rooms_by_name_hold_the_four_styles() -> None:
    assert ROOMS == {"tidy": TIDY, "cluttered": CLUTTERED, "tidy_hidden": TIDY_HIDDEN,
                     "cluttered_hidden": CLUTTERED_HIDDEN}
    assert TIDY_HIDDEN.n_objects == TIDY.n_objects and TIDY_HIDDEN.walls
    assert not TIDY.hides and TIDY_HIDDEN.hides and CLUTTERED_HIDDEN.tall_objects


def test_room_style_rejects_shares_that_sum_past_one() -> None:
    with pytest.raises(SyntheticError, match="sum to <= 1"):
        RoomStyle(hidden_probability=0.7, tiny_probability=0.4)
    with pytest.raises(SyntheticError, match="must be >= 0"):
        RoomStyle(tiny_probability=-0.1)


def test_walls_enclose_every_object_and_the_camera() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        scene = random_scene(rng, style=TIDY_HIDDEN)
        walls = scene.background
        assert len(walls) == 4 and {w.label for w in walls} == {"wall"}
        assert [w.id for w in walls] == list(range(len(scene.objects) + 1,
                                                   len(scene.objects) + 5))
        xs = sorted(w.center_world[0] for w in walls)
        ys = sorted(w.center_world[1] for w in walls)
        low, high = np.array([xs[0], ys[0]]), np.array([xs[-1], ys[-1]])
        for o in scene.objects:
            r = o.footprint_radius_m
            assert (o.center_world[:2] - r > low).all() and (o.center_world[:2] + r < high).all()
        assert (scene.pose.position_world[:2] > low).all()
        assert (scene.pose.position_world[:2] < high).all()


def test_walls_render_as_background_depth_with_no_instance() -> None:
    scene = random_scene(np.random.default_rng(2), style=TIDY_HIDDEN)
    bare = SyntheticScene(scene.objects, scene.camera, scene.pose)
    with_walls, without = render(scene), render(bare)
    wall_ids = {w.id for w in scene.background}
    assert not wall_ids & set(np.unique(with_walls.instance_ids).tolist())
    changed = ~np.isclose(with_walls.depth_m, without.depth_m, equal_nan=True)
    assert changed.sum() > 1000  # the walls are in view
    assert (with_walls.instance_ids[changed] == 0).all()  # only background changed
    assert with_walls.id_to_label == scene.id_to_label


def test_scene_rejects_a_background_id_an_object_has() -> None:
    scene = random_scene(np.random.default_rng(0))
    wall = Primitive(scene.objects[0].id, "wall", "box", [9.0, 0.0, 1.3], (0.1, 5.0, 2.6))
    with pytest.raises(SyntheticError, match="unique"):
        SyntheticScene(scene.objects, scene.camera, scene.pose, (wall,))


def test_room_walls_are_four_boxes_around_the_points() -> None:
    walls = room_walls(np.array([[0.0, 0.0], [2.0, 1.0]]), 7, np.random.default_rng(0))
    assert [w.id for w in walls] == [7, 8, 9, 10]
    assert walls[0].center_world[0] < -0.39 and walls[1].center_world[0] > 2.39
    assert walls[2].center_world[1] < -0.39 and walls[3].center_world[1] > 1.39


def test_behind_position_is_past_the_front_object_on_the_line_of_sight() -> None:
    front = Primitive(1, "box", "box", [3.0, 0.0, 0.2], (0.4, 0.4, 0.4))
    for seed in range(20):
        xy = behind_position(np.zeros(2), front, 0.1, np.random.default_rng(seed))
        reach = front.footprint_radius_m + 0.1
        assert reach + 0.05 <= xy[0] - 3.0 <= reach + 0.6
        assert abs(xy[1]) <= 0.6 * reach
    with pytest.raises(SyntheticError, match="under the camera"):
        behind_position(np.array([3.0, 0.0]), front, 0.1, np.random.default_rng(0))


def test_hidden_rooms_have_deep_furniture_hidden_and_tiny_objects() -> None:
    deep = tiny = hidden_whole = 0
    tiny_pixels = []
    for seed in range(8):
        scene, _, truth = render_case(seed, style=TIDY_HIDDEN)
        deep += any(o.label in DEEP_CATALOGUE for o in scene.objects)
        for t in truth.objects:
            if t.label in TINY_CATALOGUE:
                tiny += 1
                tiny_pixels.append(t.visible_pixel_count)
                assert max(t.dims) <= 0.06  # a few centimetres
            hidden_whole += (not t.cut_by_border) and t.occluded_fraction >= 0.15
    assert deep >= 4  # a deep piece is tried first in every room; most views fit one
    assert tiny >= 4 and 200 <= np.median(tiny_pixels) <= 320
    assert hidden_whole >= 8


def test_default_tidy_rooms_hide_fewer_objects_than_hidden_ones() -> None:
    def hidden_whole(style: RoomStyle) -> int:
        return sum((not t.cut_by_border) and t.occluded_fraction >= 0.15
                   for seed in range(8) for t in render_case(seed, style=style)[2].objects)

    assert hidden_whole(TIDY_HIDDEN) >= 2 * hidden_whole(TIDY)

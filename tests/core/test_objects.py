"""lift_objects against a golden made before it was made faster (issue 21, the core at
camera rate): rendered rooms with 10 objects, with and without the noise model, lifted
in the true scene frame; every output of every object must be what it was.

Regenerate the golden only for an intended change of the output:
``python tests/core/test_objects.py`` (and say why in the commit).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from spatial_vqa_ros.core.capture import Capture, Observations
from spatial_vqa_ros.core.objects import ObjectConfig, lift_objects
from spatial_vqa_ros.core.scene_frame import scene_frame_from_floor
from spatial_vqa_ros.synthetic.render import DepthNoise, render
from spatial_vqa_ros.synthetic.scenes import random_sequence

GOLDEN = Path(__file__).parent / "data" / "lift_objects_golden.json"
#: (seed, noisy, stride): noise model on and off; automatic and explicit grid strides.
CASES = ((0, True, 0), (1, True, 0), (2, False, 0), (3, True, 3))


def _lifted(seed: int, noisy: bool, stride: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    scene = random_sequence(rng, 1, n_objects=(10, 10))[0]
    frame = render(scene, DepthNoise() if noisy else None,
                   np.random.default_rng(seed + 100) if noisy else None)
    capture = Capture(frame.rgb, frame.depth_m, frame.camera, 0)
    obs = Observations.from_instance_image(frame.instance_ids, scene.id_to_label)
    floor = scene_frame_from_floor(*scene.pose.floor_plane_cam())
    return [_summary(e) for e in lift_objects(capture, obs, floor, ObjectConfig(stride=stride))]


def _summary(e) -> dict:
    points = e.points_scene.astype(np.float64)
    return {
        "label": e.label, "localised": e.localised, "partial": e.partial,
        "cut_by_border": e.cut_by_border, "reason": e.reason, "notes": list(e.notes),
        "roi": list(e.roi_xyxy), "pixel_count": e.pixel_count, "point_count": e.point_count,
        "base_occluder": e.base_occluder, "occluded_outline": e.occluded_outline,
        "occluded_bottom": e.occluded_bottom,
        "position_sigma_m": None if np.isnan(e.position_sigma_m) else e.position_sigma_m,
        "center": np.nan_to_num(e.center_scene, nan=-99.0).tolist(),
        "extent": np.nan_to_num(e.extent_scene, nan=-99.0).tolist(),
        "points_sum": points.sum(axis=0).tolist(), "points_first": points[:3].tolist(),
        "hidden_directions": e.hidden_directions.tolist(),
        "hidden_reach_m": e.hidden_reach_m.tolist(), "hidden_causes": list(e.hidden_causes),
        "occluded_top": e.occluded_top,
        "behind_x_m": None if np.isnan(e.behind_x_m) else e.behind_x_m,
    }


def _close(got, want, path: str) -> None:
    if isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-5, abs=1e-6), path
    elif isinstance(want, list):
        assert len(got) == len(want), path
        for k, (g, w) in enumerate(zip(got, want)):
            _close(g, w, f"{path}[{k}]")
    else:
        assert got == want, path


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("seed,noisy,stride", CASES)
def test_lift_objects_gives_the_golden_output_on_rendered_rooms(golden, seed, noisy, stride):
    want = golden[f"{seed}-{noisy}-{stride}"]
    got = json.loads(json.dumps(_lifted(seed, noisy, stride)))
    assert len(got) == len(want) == 10
    assert sum(e["localised"] for e in want) >= 5  # the golden exercises lifted objects
    for k, (g, w) in enumerate(zip(got, want)):
        for key in w:
            _close(g[key], w[key], f"object {k} {key}")


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps({f"{s}-{n}-{st}": _lifted(s, n, st) for s, n, st in CASES},
                                 indent=0))
    sys.exit(0)

"""With the camera pose known (odometry), the graph keeps objects while the camera moves."""

from __future__ import annotations

import numpy as np

from spatial_vqa_ros.core.frame import Frame, Observations
from spatial_vqa_ros.core.pipeline import ScenePipeline
from spatial_vqa_ros.synthetic import ground_truth, random_sequence, render


def _pose_matrix(pose) -> np.ndarray:
    transform = np.eye(4)
    transform[:3, :3] = pose.rotation_world_from_cam
    transform[:3, 3] = pose.position_world
    return transform


def test_ids_are_stable_and_positions_follow_the_current_view():
    scenes = random_sequence(np.random.default_rng(7), 6, max_shift_m=0.4, max_turn_rad=0.2)
    pipeline = ScenePipeline()
    identity: dict[int, int] = {}  # graph id -> true object id
    checked = 0
    for k, scene in enumerate(scenes):
        rendered = render(scene)
        truth = ground_truth(scene, rendered)
        frame = Frame(rendered.rgb, rendered.depth_m, rendered.camera, k * 0.1)
        obs = Observations.from_instance_image(rendered.instance_ids, rendered.id_to_label)
        graph = pipeline.process(frame, obs, _pose_matrix(scene.pose)).graph
        for o in graph.objects:
            # every object, in view or not, is where the truth is *in this view's frame*
            nearest = min(truth.objects, key=lambda t: np.linalg.norm(
                t.center_scene[:2] - o.center_scene[:2]) if t.label == o.label else np.inf)
            error = np.linalg.norm(nearest.center_scene[:2] - o.center_scene[:2])
            assert error < 0.15, f"frame {k}: {o.description} is {error:.2f} m off"
            assert identity.setdefault(o.id, nearest.id) == nearest.id, \
                f"frame {k}: track {o.id} jumped to another object"
            checked += 1
    assert checked > 10
    assert len(identity) == len(set(identity.values())), "one object got two tracks"

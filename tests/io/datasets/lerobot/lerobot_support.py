"""The small dataset the goldens describe (golden/make_goldens.py), written by our writer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from spatial_vqa_ros.io.datasets.lerobot import LeRobotWriter

FPS = 10
H, W = 48, 64
PAIR = "tf_tool0__cube"
CAMERA = "observation.images.front"
FEATURES = {
    "observation.state": {"dtype": "float32", "shape": (2,), "names": ["x", "y"]},
    "action": {"dtype": "float32", "shape": (2,), "names": ["vx", "vy"]},
    CAMERA: {"dtype": "video", "shape": (H, W, 3), "names": ["height", "width", "channels"]},
    f"reward.{PAIR}": {"dtype": "float32", "shape": (1,), "names": None},
    f"distance.{PAIR}": {"dtype": "float32", "shape": (1,), "names": None},
    f"reached.{PAIR}": {"dtype": "bool", "shape": (1,), "names": None},
    "scene_graph": {"dtype": "string", "shape": (1,), "names": None},
}
TASKS = ["push the cube", "reach the cube"]
VQA = [{"role": "user", "content": "How far is the cube from the gripper?", "style": "vqa",
        "camera": CAMERA, "tool_calls": None},
       {"role": "assistant", "content": json.dumps({"distance_m": 0.5}), "style": "vqa",
        "camera": CAMERA, "tool_calls": None}]


def image(episode: int, i: int) -> np.ndarray:
    """A smooth test image (video codecs keep smooth images well; noise they do not)."""
    y, x = np.mgrid[0:H, 0:W]
    r = x * 3 + 30 * i
    g = y * 4 + 30 * episode
    b = 60 + 40 * ((x - 12 * i) ** 2 + (y - 24) ** 2 < 100)  # a disc moving right fast
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def frame(episode: int, i: int) -> dict:
    return {
        "observation.state": np.array([i, episode], dtype=np.float32),
        "action": np.array([0.5 * i, -1.0], dtype=np.float32),
        CAMERA: image(episode, i),
        f"reward.{PAIR}": 0.1 * i,
        f"distance.{PAIR}": 1.0 - 0.1 * i,
        f"reached.{PAIR}": i == 4,
        "scene_graph": json.dumps({"objects": [], "i": i}),
    }


def write_golden_dataset(root: Path, episodes: int = 2, frames: int = 5,
                         settings: dict | None = None) -> LeRobotWriter:
    with LeRobotWriter(root, fps=FPS, features=FEATURES, settings=settings or {"seed": 1},
                       robot_type="sim") as writer:
        for e in range(episodes):
            key = f"ep{e}"
            if writer.is_done(key):
                continue
            writer.begin_episode(key, TASKS[e % 2])
            for i in range(frames):
                writer.add_frame(frame(e, i), VQA if (e, i) == (0, 0) else ())
            writer.end_episode()
    return writer

"""What lerobot's own ``LeRobotDataset`` sees of a local dataset directory, as JSON.

Run with a side environment's python that imports lerobot (see
tests/io/datasets/lerobot/golden/make_goldens.py); the project never imports lerobot.
Usage: ``python lerobot_view.py ROOT FRAMES_JSON CAMERA_KEY DELTA_KEY``. Prints the
metadata (totals, features, episodes, tasks, stats keys), every item's non-image
values, and one item loaded with ``delta_timestamps`` (the camera one tick back, the
``DELTA_KEY`` column one tick ahead, as an RL trainer asks for the next reward);
writes the decoded camera image of every item to FRAMES_JSON (uint8, HWC).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset


def plain(value):
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return {"dtype": str(value.dtype), "shape": list(value.shape), "value": value.tolist()}
    return {"type": type(value).__name__, "value": value}


def meta_view(loaded: LeRobotDataset) -> dict:
    meta = loaded.meta
    episodes = [{k: row[k] for k in ("episode_index", "length", "tasks",
                                     "dataset_from_index", "dataset_to_index")}
                for row in meta.episodes]
    return {"total_episodes": meta.total_episodes, "total_frames": meta.total_frames,
            "fps": meta.fps, "camera_keys": list(meta.camera_keys),
            "video_keys": list(meta.video_keys),
            "features": {k: {"dtype": v["dtype"], "shape": list(v["shape"]),
                             "names": v.get("names")} for k, v in meta.features.items()},
            "episodes": episodes, "tasks": list(meta.tasks.index),
            "stats_keys": sorted(meta.stats)}


def main(root: Path, frames_path: Path, camera: str, delta_key: str) -> dict:
    loaded = LeRobotDataset("local/check", root=root)
    items, frames = {}, {}
    for i in range(len(loaded)):
        item = loaded[i]
        image = item.pop(camera)
        frames[str(i)] = (image.numpy() * 255).round().astype(np.uint8).transpose(1, 2, 0
                                                                                   ).tolist()
        items[str(i)] = {k: plain(v) for k, v in item.items()}
    frames_path.write_text(json.dumps(frames))
    period = 1.0 / loaded.fps
    windowed = LeRobotDataset("local/check", root=root, delta_timestamps={
        camera: [-period, 0.0], delta_key: [0.0, period]})
    delta = {}
    for i in (0, 1):
        item = windowed[i]
        delta[str(i)] = {"camera_shape": list(item[camera].shape),
                         delta_key: plain(item[delta_key]),
                         "pad": {k: plain(v) for k, v in item.items() if k.endswith("_is_pad")}}
    return {"len": len(loaded), "meta": meta_view(loaded), "items": items, "delta": delta}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]),
                     sort_keys=True))

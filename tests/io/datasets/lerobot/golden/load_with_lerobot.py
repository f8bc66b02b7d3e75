"""Load a dataset directory with lerobot's LeRobotDataset and print what it sees, as
JSON (run with the side environment's python; see make_goldens.py). Used by the loader
test, and by make_goldens.py's golden_loader.json."""

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
        return {"dtype": str(value.dtype), "shape": list(value.shape),
                "value": value.tolist() if value.size <= 8 else None}
    return {"type": type(value).__name__, "value": value}


def view(root: Path, items=(0, 6)) -> dict:
    loaded = LeRobotDataset("local/check", root=root)
    out = {"len": len(loaded), "num_episodes": loaded.num_episodes, "fps": loaded.fps,
           "items": {str(i): {k: plain(v) for k, v in loaded[i].items()} for i in items}}
    frames = {str(i): (loaded[i][loaded.meta.camera_keys[0]].numpy() * 255).round()
              .astype(np.uint8).transpose(1, 2, 0).tolist()
              for i in items} if loaded.meta.camera_keys else {}
    return out, frames


if __name__ == "__main__":
    result, frames = view(Path(sys.argv[1]))
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(json.dumps(frames))
    print(json.dumps(result, sort_keys=True))

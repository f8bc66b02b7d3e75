"""Write the LeRobot goldens with lerobot's own code (run in a side environment only).

The project never imports lerobot (its pins conflict with ours); these files are how
the schema test knows what lerobot writes. Side environment, as made here (Debian 12,
Python 3.11, no newer python3 in its archive)::

    python3.11 -m venv /tmp/lerobot-side
    /tmp/lerobot-side/bin/pip install --no-deps --ignore-requires-python lerobot==0.6.1
    /tmp/lerobot-side/bin/pip install torch==2.14.1 torchvision==0.29.1 "datasets>=4.8,<5" \
        "pandas<3" "pyarrow>=21,<30" "av>=15,<16" "huggingface-hub>=1.6,<2" \
        "draccus>=0.11.6,<0.12" "gymnasium>=1.1.1,<2" einops safetensors jsonlines \
        termcolor packaging tqdm "numpy>=2,<2.3" opencv-python-headless "Pillow<13" requests
    /tmp/lerobot-side/bin/python patch_py311.py     # 3.12-only syntax -> 3.11
    /tmp/lerobot-side/bin/python make_goldens.py OUT_DIR

It records one small dataset (2 episodes of 5 frames at 10 fps, a state, an action, one
video camera and our per-frame columns) written by ``LeRobotDataset.create`` /
``add_frame`` / ``save_episode`` / ``finalize``, the language columns added as
lerobot's annotation writer adds them (``pa.array`` of the rows, one row group per
episode), then reloaded with ``LeRobotDataset``. Saved: ``golden_meta.json`` (info.json,
the parquet schemas with their Hugging Face metadata, the episodes and tasks tables
without the stats numbers, the stats keys and shapes) and ``golden_loader.json`` (what
``dataset[i]`` returns: keys, dtypes, shapes, values of the small columns).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lerobot
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from lerobot.datasets.io_utils import write_info, write_table_one_row_group_per_episode
from lerobot.datasets.language import LANGUAGE_EVENTS, LANGUAGE_PERSISTENT, language_feature_info
from lerobot.datasets.lerobot_dataset import LeRobotDataset

FPS = 10
H, W = 48, 64
PAIR = "tf_tool0__cube"
FEATURES = {
    "observation.state": {"dtype": "float32", "shape": (2,), "names": ["x", "y"]},
    "action": {"dtype": "float32", "shape": (2,), "names": ["vx", "vy"]},
    "observation.images.front": {"dtype": "video", "shape": (H, W, 3),
                                 "names": ["height", "width", "channels"]},
    f"reward.{PAIR}": {"dtype": "float32", "shape": (1,), "names": None},
    f"distance.{PAIR}": {"dtype": "float32", "shape": (1,), "names": None},
    f"reached.{PAIR}": {"dtype": "bool", "shape": (1,), "names": None},
    "scene_graph": {"dtype": "string", "shape": (1,), "names": None},
}


def _frame(episode: int, i: int) -> dict:
    rng = np.random.default_rng(100 * episode + i)
    return {
        "observation.state": np.array([i, episode], dtype=np.float32),
        "action": np.array([0.5 * i, -1.0], dtype=np.float32),
        "observation.images.front": rng.integers(0, 255, (H, W, 3), dtype=np.uint8),
        f"reward.{PAIR}": np.array([0.1 * i], dtype=np.float32),
        f"distance.{PAIR}": np.array([1.0 - 0.1 * i], dtype=np.float32),
        f"reached.{PAIR}": np.array([i == 4], dtype=bool),
        "scene_graph": json.dumps({"objects": [], "i": i}),
        "task": "push the cube" if episode == 0 else "reach the cube",
    }


def _schema(path: Path) -> dict:
    schema = pq.read_schema(path)
    meta = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
    meta.pop("pandas", None)
    return {"fields": [[f.name, str(f.type)] for f in schema],
            "metadata": {k: json.loads(v) for k, v in meta.items()}}


def _plain(value):
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return {"dtype": str(value.dtype), "shape": list(value.shape),
                "value": value.tolist() if value.size <= 8 else None}
    return {"type": type(value).__name__, "value": value}


def main(out: Path) -> None:
    root = out / "dataset"
    ds = LeRobotDataset.create("local/golden", fps=FPS, root=root, features=FEATURES,
                               robot_type="sim", use_videos=True)
    for episode in range(2):
        for i in range(5):
            ds.add_frame(_frame(episode, i))
        ds.save_episode()
    ds.finalize()

    # the language columns as lerobot's annotation writer adds them
    data_path = root / "data/chunk-000/file-000.parquet"
    table = pq.read_table(data_path)
    ts, ep = table.column("timestamp").to_pylist(), table.column("episode_index").to_pylist()
    events = [[{"role": "user", "content": "How far is the cube from the gripper?",
                "style": "vqa", "camera": "observation.images.front", "tool_calls": None},
               {"role": "assistant", "content": json.dumps({"distance_m": 0.5}),
                "style": "vqa", "camera": "observation.images.front", "tool_calls": None}]
              if t == 0.0 and e == 0 else [] for t, e in zip(ts, ep, strict=True)]
    table = table.append_column(LANGUAGE_PERSISTENT, pa.array([[] for _ in ts]))
    table = table.append_column(LANGUAGE_EVENTS, pa.array(events))
    write_table_one_row_group_per_episode(table, data_path)
    info = ds.meta.info
    info.features.update(language_feature_info())
    write_info(info, root)

    episodes_path = root / "meta/episodes/chunk-000/file-000.parquet"
    episodes = pq.read_table(episodes_path).to_pylist()
    stats = json.loads((root / "meta/stats.json").read_text())
    meta = {
        "lerobot_version": lerobot.__version__ if hasattr(lerobot, "__version__") else "0.6.1",
        "files": sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()),
        "info": json.loads((root / "meta/info.json").read_text()),
        "stats_shapes": {k: {s: np.shape(v) for s, v in d.items()} for k, d in stats.items()},
        "data_schema": _schema(data_path),
        "episodes_schema": _schema(episodes_path),
        "episodes": [{k: v for k, v in row.items() if not k.startswith("stats/")}
                     for row in episodes],
        "tasks_schema": _schema(root / "meta/tasks.parquet"),
        "tasks": pq.read_table(root / "meta/tasks.parquet").to_pylist(),
        "data_row_groups": pq.ParquetFile(data_path).num_row_groups,
    }
    (out / "golden_meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")

    loaded = LeRobotDataset("local/golden", root=root)
    view = {"len": len(loaded), "num_episodes": loaded.num_episodes, "fps": loaded.fps,
            "items": {str(i): {k: _plain(v) for k, v in loaded[i].items()} for i in (0, 6)}}
    (out / "golden_loader.json").write_text(json.dumps(view, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

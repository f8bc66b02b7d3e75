"""meta/episodes and meta/tasks.parquet: the tables lerobot reads an episode's place from.

An episode's row (dataset_metadata.save_episode): its index, tasks, length, where its
frames are (data chunk/file, global from/to index), where its video of each camera is
(chunk/file and the from/to timestamps inside that file) and its statistics flattened
as ``stats/<feature>/<stat>`` columns, in lerobot's column order. This writer gives
each episode its own data and video files (lerobot packs episodes into ~100 MB files;
its loader reads either), so an episode's video runs from 0 to length / fps.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ...errors import DataIOError
from . import format as fmt
from .stats import Stats

_STATS = "stats/"


def episode_row(*, index: int, task: str, length: int, start: int, fps: int,
                video_keys: Sequence[str], features: Mapping[str, Mapping[str, Any]],
                stats: Mapping[str, Stats]) -> dict[str, Any]:
    """One episode's row, ``stats`` kept as a dict (features' order) until written."""
    place = fmt.chunk_file(index)
    row: dict[str, Any] = {
        "episode_index": index, "tasks": [task], "length": length,
        "data/chunk_index": place["chunk_index"], "data/file_index": place["file_index"],
        "dataset_from_index": start, "dataset_to_index": start + length,
    }
    for key in video_keys:
        row[f"videos/{key}/chunk_index"] = place["chunk_index"]
        row[f"videos/{key}/file_index"] = place["file_index"]
        row[f"videos/{key}/from_timestamp"] = 0.0
        row[f"videos/{key}/to_timestamp"] = length / fps
    row["stats"] = {name: {k: np.asarray(stats[name][k]) for k in fmt.STAT_KEYS}
                    for name in features if name in stats}
    return row


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "stats"}
    for name, entry in row["stats"].items():
        for key in fmt.STAT_KEYS:
            out[f"{_STATS}{name}/{key}"] = np.asarray(entry[key]).tolist()
    out["meta/episodes/chunk_index"] = 0
    out["meta/episodes/file_index"] = 0
    return out


def episodes_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """The episodes parquet table of ``rows`` (all in one file, chunk 0 file 0)."""
    flat = [_flat(row) for row in rows]
    names = list(flat[0])
    return pa.table({name: pa.array([r[name] for r in flat]) for name in names})


def read_episodes(root: Path) -> list[dict[str, Any]]:
    """The rows of the episodes table (``stats`` regrouped), [] if it is not there yet."""
    path = root / fmt.EPISODES_PATH.format(**fmt.chunk_file(0))
    if not path.exists():
        return []
    try:
        flat_rows = pq.read_table(path).to_pylist()
    except (OSError, pa.ArrowException) as error:
        raise DataIOError(f"cannot read {path}: {error}") from None
    rows = []
    for flat in flat_rows:
        row: dict[str, Any] = {"stats": {}}
        for key, value in flat.items():
            if key.startswith(_STATS):
                name, stat = key[len(_STATS):].rsplit("/", 1)
                row["stats"].setdefault(name, {})[stat] = np.asarray(value)
            elif not key.startswith("meta/episodes/"):
                row[key] = value
        rows.append(row)
    return rows


def tasks_bytes(tasks: Mapping[str, int]) -> bytes:
    """meta/tasks.parquet: ``task_index`` with the task text as the pandas index named
    "task", as lerobot's ``write_tasks`` (DataFrame.to_parquet) leaves it."""
    import pandas as pd

    ordered = sorted(tasks.items(), key=lambda item: item[1])
    frame = pd.DataFrame({"task_index": [i for _, i in ordered]},
                         index=pd.Index([t for t, _ in ordered], name="task"))
    schema = pa.schema([("task_index", pa.int64()), ("task", pa.string())])  # pandas 3
    table = pa.Table.from_pandas(frame, schema=schema)  # would say large_string
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


__all__ = ["episode_row", "episodes_table", "read_episodes", "tasks_bytes"]

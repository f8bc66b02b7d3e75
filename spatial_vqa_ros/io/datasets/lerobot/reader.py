"""Reading a local LeRobot v3.0 dataset: its metadata, an episode's rows and video frames.

Written for any v3.0 directory, not only ours: lerobot packs several episodes into one
data file and one video file (an episode's rows are found by ``episode_index``, its
frames by the ``videos/<key>/from_timestamp`` / ``to_timestamp`` of its episodes row),
and its episodes table may span several files (``meta/episodes/chunk-*/file-*``).
Every way a directory is not such a dataset is a DataIOError that says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ...errors import DataIOError
from . import format as fmt
from .video import decode_timed


@dataclass(frozen=True)
class SourceEpisode:
    """One episode of a dataset: its index, length, first task and where it lives."""

    index: int
    length: int
    task: str
    row: dict[str, Any]


class LeRobotReader:
    """A local LeRobot v3.0 dataset, read-only (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        info_path = self.root / fmt.INFO_PATH
        if not self.root.is_dir():
            raise DataIOError(f"{self.root} is not a directory; give a local LeRobot v3.0 "
                              "dataset directory")
        try:
            self.info = json.loads(info_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataIOError(f"{self.root} is not a LeRobot dataset (no {fmt.INFO_PATH})"
                              ) from None
        except (OSError, ValueError) as error:
            raise DataIOError(f"cannot read {info_path}: {error}") from None
        version = self.info.get("codebase_version") if isinstance(self.info, dict) else None
        if version != fmt.CODEBASE_VERSION:
            raise DataIOError(f"{self.root} is not a LeRobot {fmt.CODEBASE_VERSION} dataset "
                              f"(codebase_version {version!r}); convert it with lerobot's "
                              "convert_dataset_v21_to_v30 first")
        self.fps = int(self.info["fps"])
        self.features: dict[str, dict[str, Any]] = {
            name: {**spec, "shape": tuple(spec["shape"])}
            for name, spec in self.info["features"].items()}
        self.video_keys = [k for k, v in self.features.items() if v["dtype"] == "video"]
        self.tasks = self._tasks()
        self.episodes = self._episodes()
        self._data: tuple[Path, pa.Table] | None = None
        self._video: tuple[Path, np.ndarray, np.ndarray] | None = None

    def _tasks(self) -> dict[int, str]:
        path = self.root / fmt.TASKS_PATH
        try:
            table = pq.read_table(path)
            return dict(zip(table.column("task_index").to_pylist(),
                            table.column("task").to_pylist(), strict=True))
        except (OSError, KeyError, pa.ArrowException) as error:
            raise DataIOError(f"{self.root}: cannot read its tasks ({path}): {error}") from None

    def _episodes(self) -> list[SourceEpisode]:
        files = sorted((self.root / "meta/episodes").glob("chunk-*/file-*.parquet"))
        if not files:
            raise DataIOError(f"{self.root} is not a LeRobot dataset with episodes (no "
                              "meta/episodes/chunk-*/file-*.parquet)")
        rows: list[dict[str, Any]] = []
        try:
            for path in files:
                columns = [c for c in pq.read_schema(path).names if not c.startswith("stats/")]
                rows += pq.read_table(path, columns=columns).to_pylist()
        except (OSError, pa.ArrowException) as error:
            raise DataIOError(f"{self.root}: cannot read its episodes table: {error}") from None
        rows.sort(key=lambda r: r["episode_index"])
        return [SourceEpisode(int(r["episode_index"]), int(r["length"]),
                              (r.get("tasks") or [""])[0], r) for r in rows]

    def rows(self, episode: SourceEpisode) -> dict[str, list[Any]]:
        """The episode's data rows, column by column, in frame order."""
        path = self.root / self.info["data_path"].format(
            chunk_index=episode.row["data/chunk_index"],
            file_index=episode.row["data/file_index"])
        if self._data is None or self._data[0] != path:
            try:
                self._data = (path, pq.read_table(path))
            except (OSError, pa.ArrowException) as error:
                raise DataIOError(f"cannot read {path}: {error}") from None
        table = self._data[1]
        table = table.filter(pc.equal(table.column("episode_index"), episode.index))
        table = table.sort_by("frame_index")
        if table.num_rows != episode.length:
            raise DataIOError(f"{path} holds {table.num_rows} rows of episode "
                              f"{episode.index}, its episodes row says {episode.length}")
        return table.to_pydict()

    def frames(self, episode: SourceEpisode, video_key: str) -> np.ndarray:
        """The episode's (length, H, W, 3) uint8 RGB frames of camera ``video_key``: the
        file's frames whose time lies in [from_timestamp, to_timestamp)."""
        prefix = f"videos/{video_key}/"
        path = self.root / self.info["video_path"].format(
            video_key=video_key, chunk_index=episode.row[prefix + "chunk_index"],
            file_index=episode.row[prefix + "file_index"])
        if self._video is None or self._video[0] != path:
            self._video = (path, *decode_timed(path))
        _, frames, times = self._video
        start = float(episode.row[prefix + "from_timestamp"])
        ticks = np.round((times - start) * self.fps).astype(np.int64)
        chosen = np.flatnonzero((ticks >= 0) & (ticks < episode.length))
        if chosen.size != episode.length or np.any(ticks[chosen] != np.arange(chosen.size)):
            raise DataIOError(f"{path}: {chosen.size} frames at {self.fps} fps from "
                              f"{start:.3f} s for episode {episode.index}, which has "
                              f"{episode.length}")
        return frames[chosen]


__all__ = ["LeRobotReader", "SourceEpisode"]

"""LeRobotWriter: episodes of fixed-rate frames into a LeRobot v3.0 dataset directory.

See the package docstring for the layout and the guarantees; this module keeps them.
An episode is committed by the rewrite of ``meta/episodes/chunk-000/file-000.parquet``
that adds its row; every file before it (manifest marked pending, tasks, videos, data)
is a complete file or absent, and everything after it (manifest, stats, info) is
recomputed from the episodes table when the directory is opened again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ... import atomic
from ...dir_lock import lock_directory, unlock_directory
from ...errors import DataIOError
from ..card import package_version
from . import format as fmt
from . import stats as st
from .episodes import episode_row, episodes_table, read_episodes, tasks_bytes
from .files import foreign_entries, remove_leftovers
from .video import VideoEncoder

MANIFEST = "meta/spatial_vqa_ros.json"
FORMAT = "spatial_vqa_ros/lerobot-dataset"
FORMAT_VERSION = 1
LOCK = ".lock"


@dataclass
class LeRobotCounts:
    """What the dataset holds (all runs together) and what this run added."""

    episodes: int = 0
    frames: int = 0
    tasks: int = 0
    added_episodes: int = 0
    added_frames: int = 0
    events: int = 0
    by_episode: dict[str, int] = field(default_factory=dict)


def _table_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue().to_pybytes()


class LeRobotWriter:
    """Write episodes into ``root`` as LeRobot v3.0, crash-safe and resumable.

    ``features``: the per-frame columns besides lerobot's own, ``{name: {"dtype",
    "shape", "names"}}`` (dtype a numpy name, "string" or "video"; see
    ``format.check_features``). ``settings``: JSON-able generation settings; a
    directory written with other settings, fps, features or robot type is refused, the
    same ones resume it. ``language``: write the ``language_persistent`` /
    ``language_events`` columns (spatial VQA as ``vqa`` events).

    Usage::

        with LeRobotWriter(out, fps=10, features=..., settings=...) as writer:
            if not writer.is_done(key):
                writer.begin_episode(key, "push the cube")
                for frame in frames:
                    writer.add_frame(values, events)
                writer.end_episode()
    """

    def __init__(self, root: str | Path, *, fps: int, features: Mapping[str, Mapping[str, Any]],
                 settings: Mapping[str, Any], robot_type: str | None = None,
                 language: bool = True) -> None:
        if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
            raise DataIOError(f"fps must be a positive integer (lerobot stores it as one), "
                              f"got {fps!r}")
        self.root = Path(root)
        self.fps = fps
        self.user_features = fmt.check_features(features)
        self.features = fmt.all_features(self.user_features, language)
        self.video_keys = [k for k, v in self.user_features.items() if v["dtype"] == "video"]
        self.robot_type = robot_type
        self.language = bool(language)
        try:
            self.settings = json.loads(json.dumps(dict(settings), sort_keys=True))
        except (TypeError, ValueError) as error:
            raise DataIOError(f"settings must be JSON-able: {error}") from None
        self.counts = LeRobotCounts()
        self._keys: list[str] = []
        self._tasks: dict[str, int] = {}
        self._rows: list[dict[str, Any]] = []
        self._episode: _OpenEpisode | None = None
        self._closed = False
        self._created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._lock_fd: int | None = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock()
            self._open()
        except OSError as error:
            self._unlock()
            raise DataIOError(f"cannot open LeRobot dataset directory {self.root}: {error}"
                              ) from None
        except BaseException:
            self._unlock()
            raise

    # -- opening and resuming ------------------------------------------------------------
    def _recorded(self) -> dict[str, Any]:
        return {"settings": self.settings, "fps": self.fps, "robot_type": self.robot_type,
                "language": self.language,
                "features": json.loads(json.dumps(self.user_features))}

    def _open(self) -> None:
        manifest_path = self.root / MANIFEST
        if not manifest_path.exists():
            foreign = foreign_entries(self.root, LOCK)
            if foreign:
                raise DataIOError(
                    f"{self.root} is not empty ({', '.join(foreign[:5])}) and holds no "
                    "LeRobot dataset written by spatial_vqa_ros; choose an empty or new "
                    "directory")
            remove_leftovers(self.root, 0, self.video_keys)
            (self.root / "meta").mkdir(exist_ok=True)
            self._write_manifest(pending=None)
            self._write_summary_files()  # lerobot's create() writes info.json at once
            return
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise DataIOError(f"cannot read {manifest_path}: {error}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise DataIOError(f"{manifest_path} is not a spatial_vqa_ros LeRobot manifest")
        theirs = {k: manifest.get(k) for k in self._recorded()}
        if theirs != self._recorded():
            differ = [k for k in theirs if theirs[k] != self._recorded()[k]]
            raise DataIOError(f"{self.root} was written with other {', '.join(differ)} "
                              f"(there: {json.dumps({k: theirs[k] for k in differ})}); resume "
                              "it with the same ones, or write to a new directory")
        self._created = manifest.get("created", self._created)
        keys = list(manifest.get("episodes", []))
        self._rows = read_episodes(self.root)
        if len(self._rows) == len(keys) + 1 and manifest.get("pending"):
            keys.append(manifest["pending"])  # committed, killed before the manifest
        if len(self._rows) != len(keys):
            raise DataIOError(f"{self.root}: the episodes table holds {len(self._rows)} "
                              f"episodes but {manifest_path} names {len(keys)}; the "
                              "directory was changed by something else")
        self._keys = keys
        self._tasks = _read_tasks(self.root)
        remove_leftovers(self.root, len(keys), self.video_keys)
        self.counts.episodes = len(keys)
        self.counts.frames = int(self._rows[-1]["dataset_to_index"]) if self._rows else 0
        self.counts.tasks = len(self._tasks)
        self._write_manifest(pending=None)
        self._write_summary_files()

    def _lock(self) -> None:
        self._lock_fd = lock_directory(self.root, LOCK)

    def _unlock(self) -> None:
        unlock_directory(self._lock_fd)
        self._lock_fd = None

    # -- episodes ----------------------------------------------------------------------------
    def is_done(self, key: str) -> bool:
        """True if episode ``key`` is in the dataset already."""
        return key in self._keys

    def begin_episode(self, key: str, task: str) -> None:
        """Start episode ``key`` (any unique text) of ``task`` (natural language)."""
        self._check_open()
        if self._episode is not None:
            raise DataIOError(f"episode {self._episode.key!r} is still open; end it first")
        if not isinstance(key, str) or not key or key in self._keys:
            raise DataIOError(f"episode key {key!r} is empty or in the dataset already")
        if not isinstance(task, str) or not task.strip():
            raise DataIOError("an episode needs a task: a non-empty text")
        index = len(self._keys)
        encoders = {}
        try:
            for video_key in self.video_keys:
                h, w, _ = self.user_features[video_key]["shape"]
                target = self.root / fmt.VIDEO_PATH.format(video_key=video_key,
                                                           **fmt.chunk_file(index))
                encoders[video_key] = VideoEncoder(target, self.fps, h, w)
        except BaseException:
            for encoder in encoders.values():
                encoder.abort()
            raise
        self._episode = _OpenEpisode(key, task, index, encoders,
                                     {k: [] for k in self.user_features
                                      if k not in encoders}, [])

    def add_frame(self, values: Mapping[str, Any],
                  events: Sequence[Mapping[str, Any]] = ()) -> None:
        """One frame: a value for every feature (a video feature: (H, W, 3) uint8 RGB),
        and its ``language_events`` rows (spatial VQA for a keyframe)."""
        self._check_open()
        episode = self._episode
        if episode is None:
            raise DataIOError("add_frame before begin_episode")
        missing = set(self.user_features) - set(values)
        extra = set(values) - set(self.user_features)
        if missing or extra:
            raise DataIOError(f"frame {episode.frames} of episode {episode.key!r}: missing "
                              f"features {sorted(missing)}, unknown {sorted(extra)}")
        if events and not self.language:
            raise DataIOError("this dataset has no language columns (language=False)")
        rows = [fmt.check_event_row(row, set(self.video_keys)) for row in events]
        checked = {name: _check_value(name, spec, values[name])
                   for name, spec in self.user_features.items() if spec["dtype"] != "video"}
        for video_key, encoder in episode.encoders.items():
            encoder.add(values[video_key])
        for name, value in checked.items():
            episode.columns[name].append(value)
        episode.events.append(rows)
        episode.frames += 1

    def abort_episode(self) -> None:
        """Drop the open episode (its temp videos removed; nothing else was written)."""
        if self._episode is not None:
            for encoder in self._episode.encoders.values():
                encoder.abort()
            self._episode = None

    def end_episode(self) -> int:
        """Write the open episode's files and commit it; returns its frame count.
        An episode without frames is refused (lerobot has no empty episodes)."""
        self._check_open()
        episode = self._episode
        if episode is None:
            raise DataIOError("end_episode without begin_episode")
        if episode.frames == 0:
            self.abort_episode()
            raise DataIOError(f"episode {episode.key!r} has no frames; nothing was written")
        try:
            self._commit(episode)
        except OSError as error:
            self.abort_episode()
            raise DataIOError(f"cannot write episode {episode.key!r} to {self.root}: "
                              f"{error}; the {len(self._keys)} episodes before it are intact"
                              ) from None
        except BaseException:
            self.abort_episode()
            raise
        self._episode = None
        return episode.frames

    def _commit(self, episode: _OpenEpisode) -> None:
        index, length = episode.index, episode.frames
        self._write_manifest(pending=episode.key)
        if episode.task not in self._tasks:
            self._tasks[episode.task] = len(self._tasks)
            atomic.atomic_write(self.root / fmt.TASKS_PATH, tasks_bytes(self._tasks))
        for video_key, encoder in episode.encoders.items():
            tmp = encoder.finish()
            atomic._replace(tmp, self.root / fmt.VIDEO_PATH.format(video_key=video_key,
                                                                   **fmt.chunk_file(index)))
            atomic.fsync_dir(tmp.parent)
        start = self.counts.frames
        table, frame_stats = self._data_table(episode, start)
        data_path = self.root / fmt.DATA_PATH.format(**fmt.chunk_file(index))
        data_path.parent.mkdir(parents=True, exist_ok=True)
        atomic.atomic_write(data_path, _table_bytes(table))
        for video_key, encoder in episode.encoders.items():
            frame_stats[video_key] = encoder.stats.stats()
        row = episode_row(index=index, task=episode.task, length=length, start=start,
                          fps=self.fps, video_keys=self.video_keys, features=self.features,
                          stats=frame_stats)
        rows = [*self._rows, row]
        episodes_path = self.root / fmt.EPISODES_PATH.format(**fmt.chunk_file(0))
        episodes_path.parent.mkdir(parents=True, exist_ok=True)
        atomic.atomic_write(episodes_path, _table_bytes(episodes_table(rows)))  # commit
        self._rows = rows
        self._keys.append(episode.key)
        self.counts.episodes += 1
        self.counts.frames += length
        self.counts.tasks = len(self._tasks)
        self.counts.added_episodes += 1
        self.counts.added_frames += length
        self.counts.events += sum(len(e) for e in episode.events)
        self.counts.by_episode[episode.key] = length
        self._write_manifest(pending=None)
        self._write_summary_files()

    def _data_table(self, episode: _OpenEpisode, start: int
                    ) -> tuple[pa.Table, dict[str, st.Stats]]:
        length = episode.frames
        columns: dict[str, Any] = {}
        for name, values in episode.columns.items():
            spec = self.user_features[name]
            columns[name] = values if spec["dtype"] == "string" else np.stack(values)
        frame_index = np.arange(length, dtype=np.int64)
        columns["timestamp"] = (frame_index / self.fps).astype(np.float32)
        columns["frame_index"] = frame_index
        columns["episode_index"] = np.full(length, episode.index, dtype=np.int64)
        columns["index"] = np.arange(start, start + length, dtype=np.int64)
        columns["task_index"] = np.full(length, self._tasks[episode.task], dtype=np.int64)
        schema = fmt.data_schema(self.features)
        arrays = []
        for f in schema:
            value = columns[f.name]
            if isinstance(value, np.ndarray) and value.ndim == 2:
                flat = pa.array(value.reshape(-1), type=f.type.value_type)
                arrays.append(pa.FixedSizeListArray.from_arrays(flat, value.shape[1]))
            else:
                arrays.append(pa.array(value, type=f.type))
        table = pa.Table.from_arrays(arrays, schema=schema)
        if self.language:  # as lerobot's annotation writer adds them
            table = table.append_column(fmt.LANGUAGE_PERSISTENT, pa.array(
                [[] for _ in range(length)], type=fmt.PERSISTENT_TYPE))
            table = table.append_column(fmt.LANGUAGE_EVENTS,
                                        pa.array(episode.events, type=fmt.EVENTS_TYPE))
        stats = {name: st.column_stats(np.asarray(columns[name]))
                 for name, spec in self.features.items()
                 if spec["dtype"] not in ("video", "string", "language")}
        return table, stats

    # -- metadata files -------------------------------------------------------------------
    def _write_manifest(self, pending: str | None) -> None:
        manifest = {"format": FORMAT, "version": FORMAT_VERSION, "created": self._created,
                    "package_version": package_version(), **self._recorded(),
                    "episodes": self._keys, "pending": pending}
        atomic.atomic_write(self.root / MANIFEST,
                            (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())

    def _write_summary_files(self) -> None:
        """stats.json and info.json from the committed episodes."""
        features = {name: dict(spec) for name, spec in self.features.items()}
        for video_key in self.video_keys:
            h, w, _ = features[video_key]["shape"]
            features[video_key]["info"] = fmt.video_info(h, w, self.fps)
        info = fmt.info_json(fps=self.fps, features=features, robot_type=self.robot_type,
                             total_episodes=len(self._keys), total_frames=self.counts.frames,
                             total_tasks=len(self._tasks), has_video=bool(self.video_keys))
        if self._rows:
            merged = st.aggregate([row["stats"] for row in self._rows])
            atomic.atomic_write(self.root / fmt.STATS_PATH,
                                (json.dumps(st.to_json(merged), indent=4) + "\n").encode())
        atomic.atomic_write(self.root / fmt.INFO_PATH,
                            (json.dumps(info, indent=4) + "\n").encode())

    # -- closing -----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise DataIOError(f"the LeRobot writer of {self.root} is closed")

    def close(self) -> LeRobotCounts:
        """Drop an episode left open (it was never committed) and release the lock."""
        if not self._closed:
            self.abort_episode()
            self._closed = True
            self._unlock()
        return self.counts

    def __enter__(self) -> LeRobotWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass
class _OpenEpisode:
    key: str
    task: str
    index: int
    encoders: dict[str, VideoEncoder]
    columns: dict[str, list[Any]]
    events: list[list[dict[str, Any]]]
    frames: int = 0


def _check_value(name: str, spec: Mapping[str, Any], value: Any) -> Any:
    if spec["dtype"] == "string":
        if not isinstance(value, str):
            raise DataIOError(f"feature {name!r} is a string, got {type(value).__name__}")
        return value
    array = np.asarray(value)
    shape = tuple(spec["shape"])
    if array.shape not in (shape, () if shape == (1,) else shape):
        raise DataIOError(f"feature {name!r} has shape {shape}, got {array.shape}")
    if spec["dtype"] != "bool" and array.dtype == bool:
        raise DataIOError(f"feature {name!r} is {spec['dtype']}, got bool")
    if not np.all(np.isfinite(array.astype(np.float64))):
        raise DataIOError(f"feature {name!r} has a NaN or infinite value: {array.tolist()}")
    return array.astype(spec["dtype"]).reshape(shape)[0] if shape == (1,) else \
        array.astype(spec["dtype"])


def _read_tasks(root: Path) -> dict[str, int]:
    path = root / fmt.TASKS_PATH
    if not path.exists():
        return {}
    try:
        table = pq.read_table(path)
        return dict(zip(table.column("task").to_pylist(),
                        table.column("task_index").to_pylist(), strict=True))
    except (OSError, KeyError, pa.ArrowException) as error:
        raise DataIOError(f"cannot read {path}: {error}") from None


__all__ = ["FORMAT", "MANIFEST", "LeRobotCounts", "LeRobotWriter"]

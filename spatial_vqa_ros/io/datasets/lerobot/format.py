"""The LeRobot v3.0 format as lerobot 0.6.1 writes it: paths, features, parquet schemas.

Read from lerobot's source (``datasets/utils.py``, ``feature_utils.py``,
``dataset_metadata.py``, ``language.py``, ``configs/video.py``; huggingface/lerobot at
7427f31, release 0.6.1 installed for the goldens) and checked against files lerobot
wrote (tests/io/datasets/lerobot/golden). One place spells the format; the writer and
the schema test use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from ...errors import DataIOError

CODEBASE_VERSION = "v3.0"
DEFAULT_CHUNK_SIZE = 1000  # files per chunk directory
DEFAULT_DATA_FILE_SIZE_IN_MB = 100
DEFAULT_VIDEO_FILE_SIZE_IN_MB = 200
CHUNK_FILE_PATTERN = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + CHUNK_FILE_PATTERN + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE_PATTERN + ".mp4"
EPISODES_PATH = "meta/episodes/" + CHUNK_FILE_PATTERN + ".parquet"
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"

#: The columns lerobot adds to every frame, in its order (after the user's features).
DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": (1,), "names": None},
    "frame_index": {"dtype": "int64", "shape": (1,), "names": None},
    "episode_index": {"dtype": "int64", "shape": (1,), "names": None},
    "index": {"dtype": "int64", "shape": (1,), "names": None},
    "task_index": {"dtype": "int64", "shape": (1,), "names": None},
}
#: The annotation columns (lerobot.datasets.language), dtype "language" in info.json.
LANGUAGE_PERSISTENT = "language_persistent"
LANGUAGE_EVENTS = "language_events"
LANGUAGE_FEATURES: dict[str, dict[str, Any]] = {
    LANGUAGE_PERSISTENT: {"dtype": "language", "shape": (1,), "names": None},
    LANGUAGE_EVENTS: {"dtype": "language", "shape": (1,), "names": None},
}
#: Event-row fields in lerobot's order; "vqa" rows need the camera they are about.
EVENT_ROW_FIELDS = ("role", "content", "style", "camera", "tool_calls")
VQA_STYLE = "vqa"
#: The events column's type as lerobot's annotation writer leaves it (``pa.array`` of
#: rows whose tool_calls are all None); written the same in every file, with or
#: without events, so all data files of a dataset share one schema.
EVENTS_TYPE = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string()),
                                  ("style", pa.string()), ("camera", pa.string()),
                                  ("tool_calls", pa.null())]))
PERSISTENT_TYPE = pa.list_(pa.null())  # no persistent rows are written here
#: lerobot's RGB encoder defaults (configs/video.py: VideoEncoderConfig).
VIDEO_CODEC = "libsvtav1"
VIDEO_CODEC_NAME = "av1"  # the stream's canonical name, as info.json records it
VIDEO_PIX_FMT = "yuv420p"
VIDEO_ENCODER = {"g": 2, "crf": 30, "preset": 12, "fast_decode": 0, "extra_options": {},
                 "video_backend": "pyav"}
#: Numeric dtypes a feature may have (numpy names); "video", "string", "language" besides.
NUMERIC_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                  "float16", "float32", "float64")
STAT_KEYS = ("min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99")
QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}


def check_features(features: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The user's features (without lerobot's default and language columns) as
    lerobot declares them: ``{"dtype", "shape" (tuple), "names"}``. DataIOError for a
    name lerobot reserves, an unknown dtype, or a video that is not (H, W, 3)."""
    out: dict[str, dict[str, Any]] = {}
    for name, spec in features.items():
        if name in DEFAULT_FEATURES or name in LANGUAGE_FEATURES or name == "task":
            raise DataIOError(f"feature {name!r} is a column lerobot writes itself; "
                              "choose another name")
        if not name or "/" in name:
            raise DataIOError(f"feature name {name!r} must be non-empty without '/'")
        dtype = spec.get("dtype")
        shape = tuple(int(n) for n in spec.get("shape", ()))
        if dtype not in (*NUMERIC_DTYPES, "video", "string"):
            raise DataIOError(f"feature {name!r}: dtype {dtype!r} is not one of "
                              f"{', '.join((*NUMERIC_DTYPES, 'video', 'string'))}")
        if not shape or any(n < 1 for n in shape):
            raise DataIOError(f"feature {name!r}: shape {shape} must be positive sizes")
        if dtype != "video" and len(shape) != 1:
            raise DataIOError(f"feature {name!r}: shape {shape}: this writer stores "
                              "scalars and vectors, shape (n,) (flatten arrays first)")
        if dtype == "video" and (len(shape) != 3 or shape[2] != 3):
            raise DataIOError(f"feature {name!r}: a video is (height, width, 3) RGB, got "
                              f"shape {shape}")
        if dtype == "string" and shape != (1,):
            raise DataIOError(f"feature {name!r}: a string feature has shape (1,)")
        names = spec.get("names")
        if dtype == "video" and names is None:
            names = ["height", "width", "channels"]
        out[name] = {"dtype": dtype, "shape": shape, "names": names}
    return out


def all_features(features: Mapping[str, dict[str, Any]], language: bool
                 ) -> dict[str, dict[str, Any]]:
    """info.json's features in lerobot's order: the user's, lerobot's defaults, then
    (``language``) the two annotation columns."""
    out = {name: dict(spec) for name, spec in features.items()}
    out.update({name: dict(spec) for name, spec in DEFAULT_FEATURES.items()})
    if language:
        out.update({name: dict(spec) for name, spec in LANGUAGE_FEATURES.items()})
    return out


def _hf_feature(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The Hugging Face ``datasets`` feature lerobot gives a column
    (feature_utils.get_hf_features_from_features), as its JSON."""
    value = {"_type": "Value", "dtype": spec["dtype"]}
    shape = tuple(spec["shape"])
    if shape == (1,) or spec["dtype"] == "string":
        return value
    return {"_type": "List", "feature": value, "length": shape[0]}


def _arrow_type(spec: Mapping[str, Any]) -> pa.DataType:
    dtype, shape = spec["dtype"], tuple(spec["shape"])
    if dtype == "string":
        return pa.string()
    base = pa.from_numpy_dtype(dtype)
    if shape == (1,):
        return base
    return pa.list_(base, shape[0])


def data_schema(features: Mapping[str, dict[str, Any]]) -> pa.Schema:
    """The schema of a data parquet file: every non-video, non-language column in
    info.json's order, with the Hugging Face features metadata ``datasets`` reads."""
    columns = {name: spec for name, spec in features.items()
               if spec["dtype"] not in ("video", "language")}
    hf = {name: _hf_feature(spec) for name, spec in columns.items()}
    meta = {"huggingface": json.dumps({"info": {"features": hf}})}
    return pa.schema([pa.field(name, _arrow_type(spec)) for name, spec in columns.items()],
                     metadata=meta)


def video_info(height: int, width: int, fps: int) -> dict[str, Any]:
    """A video feature's ``info`` in info.json (video_utils.get_video_info with the
    encoder's settings recorded)."""
    info: dict[str, Any] = {"video.height": height, "video.width": width,
                            "video.codec": VIDEO_CODEC_NAME, "video.pix_fmt": VIDEO_PIX_FMT,
                            "video.fps": int(fps), "video.channels": 3, "has_audio": False}
    info.update({f"video.{key}": value for key, value in VIDEO_ENCODER.items()})
    info["is_depth_map"] = False
    return info


def info_json(*, fps: int, features: Mapping[str, dict[str, Any]], robot_type: str | None,
              total_episodes: int, total_frames: int, total_tasks: int,
              has_video: bool) -> dict[str, Any]:
    """meta/info.json (utils.DatasetInfo.to_dict), shapes as lists."""
    return {
        "codebase_version": CODEBASE_VERSION,
        "fps": int(fps),
        "features": {name: {**spec, "shape": list(spec["shape"])}
                     for name, spec in features.items()},
        "total_episodes": total_episodes,
        "total_frames": total_frames,
        "total_tasks": total_tasks,
        "chunks_size": DEFAULT_CHUNK_SIZE,
        "data_files_size_in_mb": DEFAULT_DATA_FILE_SIZE_IN_MB,
        "video_files_size_in_mb": DEFAULT_VIDEO_FILE_SIZE_IN_MB,
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if has_video else None,
        "robot_type": robot_type,
        "splits": {"train": f"0:{total_episodes}"} if total_episodes else {},
    }


def chunk_file(index: int) -> dict[str, int]:
    """Chunk and file index of the ``index``-th file (utils.update_chunk_file_indices:
    ``chunks_size`` files per chunk directory)."""
    return {"chunk_index": index // DEFAULT_CHUNK_SIZE,
            "file_index": index % DEFAULT_CHUNK_SIZE}


def check_event_row(row: Mapping[str, Any], cameras: set[str]) -> dict[str, Any]:
    """One ``language_events`` row in lerobot's field order; DataIOError for a row the
    annotation validator would refuse (no role, content and tool_calls both missing,
    a ``vqa`` row without one of the dataset's cameras)."""
    unknown = set(row) - set(EVENT_ROW_FIELDS)
    if unknown:
        raise DataIOError(f"language event row has unknown fields {sorted(unknown)}; "
                          f"the fields are {', '.join(EVENT_ROW_FIELDS)}")
    if not isinstance(row.get("role"), str) or not row["role"]:
        raise DataIOError(f"language event row without a role: {dict(row)!r}")
    if not isinstance(row.get("content"), str):
        raise DataIOError(f"language event row without text content: {dict(row)!r}")
    if row.get("tool_calls") is not None:
        raise DataIOError("this writer writes language rows without tool_calls (spatial "
                          f"VQA); got {row['tool_calls']!r}")
    style, camera = row.get("style"), row.get("camera")
    if style == VQA_STYLE and camera not in cameras:
        raise DataIOError(f"a 'vqa' row must name one of the dataset's cameras "
                          f"({', '.join(sorted(cameras)) or 'none declared'}), got {camera!r}")
    if style != VQA_STYLE and camera is not None and style not in ("trace",):
        raise DataIOError(f"rows of style {style!r} carry no camera, got {camera!r}")
    return {field: row.get(field) for field in EVENT_ROW_FIELDS}


__all__ = [
    "CODEBASE_VERSION",
    "DATA_PATH",
    "DEFAULT_FEATURES",
    "EPISODES_PATH",
    "INFO_PATH",
    "LANGUAGE_EVENTS",
    "LANGUAGE_PERSISTENT",
    "STATS_PATH",
    "TASKS_PATH",
    "VIDEO_PATH",
    "all_features",
    "check_event_row",
    "check_features",
    "chunk_file",
    "data_schema",
    "info_json",
    "video_info",
]

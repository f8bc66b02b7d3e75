"""Spatial VQA datasets on disk: LLaVA-style records in JSON-lines shards, images as files.

Layout of a dataset directory::

    data/shard-00000.jsonl ...  records, ``shard_size`` per shard (the last one shorter)
    images/<source>/<stamp_ns>.jpg  one image per record (``.png`` with image_format="png")
    scene_graphs.jsonl          one scene-graph line per processed frame (offline tools)
    progress.json               manifest: settings, completed sources, skipped items
    README.md                   dataset card: settings, counts, sources, how to load

One record per image (the schema is :func:`build_record`'s docstring); it loads with
``datasets.load_dataset("json", data_files="OUT/data/*.jsonl")`` or
``load_dataset("OUT")`` (the card names the data files).

Crash safety: every file is written to a temporary file in its own directory, fsynced
and renamed over its target (``os.replace``), so a killed process leaves each file
either as it was or complete. Images are written before the shard that names them.
An item (one image, key ``"<source>/<stamp_ns>"``) is *done* when a shard holds its
record, or progress.json lists it as skipped; re-opening the directory resumes: done
items are never written twice. The open shard is rewritten in place as it grows
(:meth:`DatasetWriter.flush`), so at most the records added since the last flush are
lost by a kill. A full disk raises :class:`DataIOError` and leaves every file that
was already written intact.

Type anchoring: ``datasets`` infers the column types from the start of the first
shard, and refuses a later shard that has a value where shard 0 only had nulls or
empty lists. So the first record that shows a field in a new form (the first
non-empty ``warnings`` list, the first measured ``value``) is also placed at the front
of shard 0, which may therefore hold a few records more than ``shard_size``. Records
are never duplicated or lost by this.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.vqa import QA, conversation
from .errors import DataIOError

FORMAT = "spatial_vqa_ros/vqa-dataset"
FORMAT_VERSION = 1
MANIFEST = "progress.json"
CARD = "README.md"
SCENE_GRAPHS = "scene_graphs.jsonl"
DATA_DIR = "data"
IMAGES_DIR = "images"
#: Image format name -> (PIL format, file extension).
IMAGE_FORMATS = {"jpg": ("JPEG", ".jpg"), "png": ("PNG", ".png")}
_SHARD_NAME = re.compile(r"^shard-(\d{5,})\.jsonl$")
_KEY_PART = re.compile(r"^[A-Za-z0-9._-]+$")
_TMP_SUFFIX = ".tmp"
_LOCK = ".lock"
#: The OS calls that put bytes on disk, module-level so tests can make them fail.
_write = os.write
_replace = os.replace
#: Files get the usual mode (0o666 minus the umask), not mkstemp's private 0o600.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK


# --- atomic files -------------------------------------------------------------------
def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory, fsync, rename.

    Raises OSError as the OS reports it (the temp file is removed, ``path`` untouched).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        view = memoryview(data)
        while view:
            written = _write(fd, view)
            view = view[written:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        _replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_dir:
        _fsync_dir(path.parent)


def _io_error(error: OSError, what: str, safe: str) -> DataIOError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return DataIOError(f"no space left on the device while writing {what}: {safe}; free "
                           "some space and run the same command again to resume")
    return DataIOError(f"cannot write {what}: {error}; {safe}")


# --- records --------------------------------------------------------------------------
def encode_image(rgb: np.ndarray, image_format: str = "jpg", *, jpeg_quality: int = 95,
                 png_compress_level: int = 1) -> bytes:
    """An (H, W, 3) uint8 RGB image as JPEG or PNG bytes.

    PNG at compress level 1 is ~2.5x faster to write than PIL's default (6) for ~40%
    more bytes; JPEG at quality 95 is ~30x faster than default PNG.
    """
    from PIL import Image

    if image_format not in IMAGE_FORMATS:
        raise DataIOError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, got "
                          f"{image_format!r}")
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise DataIOError(f"image must be (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
    buffer = io.BytesIO()
    if image_format == "jpg":
        Image.fromarray(rgb).save(buffer, format="JPEG", quality=int(jpeg_quality))
    else:
        Image.fromarray(rgb).save(buffer, format="PNG", compress_level=int(png_compress_level))
    return buffer.getvalue()


def check_key(key: str) -> str:
    """An item key is ``"<source>/<stamp_ns>"``-like: parts of letters, digits, ``._-``."""
    parts = key.split("/") if isinstance(key, str) else []
    if not parts or any(not _KEY_PART.match(p) or p in (".", "..") for p in parts):
        raise DataIOError(f"item key {key!r} must be '/'-separated parts of letters, digits, "
                          "'.', '_' or '-' (e.g. 'bag_name/1700000000000000000')")
    return key


def image_relpath(key: str, image_format: str = "jpg") -> str:
    """Path of an item's image relative to the dataset root: ``images/<key>.<ext>``."""
    if image_format not in IMAGE_FORMATS:
        raise DataIOError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, got "
                          f"{image_format!r}")
    return f"{IMAGES_DIR}/{check_key(key)}{IMAGE_FORMATS[image_format][1]}"


def qa_fields(qa: QA) -> dict[str, Any]:
    """One QA as a JSON object with a fixed type per field (see :func:`build_record`)."""
    value = qa.value if qa.value is not None and math.isfinite(qa.value) else None
    return {
        "category": qa.category, "relation": qa.relation,
        "question": qa.question, "answer": qa.answer,
        "subject_id": int(qa.subject_id),
        "object_id": -1 if qa.object_id is None else int(qa.object_id),
        "subject_label": qa.subject_label,
        "object_label": qa.object_label or "",
        "value": None if value is None else float(value),
        "unit": qa.unit, "truth": qa.truth or "", "rendered_unit": qa.rendered_unit,
        "qualitative": bool(qa.qualitative),
    }


def build_record(key: str, qas: Sequence[QA], scene_graph: Mapping[str, Any],
                 source: Mapping[str, Any], *, width: int, height: int,
                 image_format: str = "jpg", image_token: str = "<image>") -> dict[str, Any]:
    """The dataset record of one image: LLaVA fields plus structured facts.

    Schema (every record has every field, each field always has one JSON type)::

        id             str   item key "<source>/<stamp_ns>"
        image          str   image path relative to the dataset root
        conversations  list  [{"from": "human", "value": "<image>\\nQ1"},
                              {"from": "gpt", "value": "A1"}, ...] one turn pair per QA
        qa             list  one object per QA, in conversation order:
            category, relation, question, answer   str
            subject_id int, subject_label str      track id and label of the subject
            object_id  int (-1: none), object_label str ("": none)
            value      float or null: metres for lengths, clock hour for
                       direction_clock, degrees (+ = left) for direction_degrees,
                       null for predicates and choices
            unit       str: unit of value ("m", "o'clock", "deg", "")
            truth      str: "true"/"false" for predicates and choices ("true": the
                       subject has the relation; for a choice, the answer names the
                       subject), "" for measures
            rendered_unit str: unit shown in the answer ("cm", "m", "in", "ft", ...)
            qualitative bool: the answer is a reasoning template
        scene_graph    dict  the frame's scene record (core.export.frame_record)
        source         dict  kind, uri, name, key, stamp_ns, topic
        width, height  int   image size in pixels
    """
    if not qas:
        raise DataIOError(f"item {key}: a record needs at least one QA")
    return {
        "id": check_key(key),
        "image": image_relpath(key, image_format),
        "conversations": conversation(qas, image_token),
        "qa": [qa_fields(qa) for qa in qas],
        "scene_graph": dict(scene_graph),
        "source": {"kind": str(source.get("kind", "")), "uri": str(source.get("uri", "")),
                   "name": str(source.get("name", "")), "key": key,
                   "stamp_ns": int(source.get("stamp_ns", 0)),
                   "topic": str(source.get("topic", ""))},
        "width": int(width),
        "height": int(height),
    }


def _type_paths(value: Any, path: str, out: set[str]) -> set[str]:
    """Every (path, JSON type) a record shows with a non-null value or non-empty list."""
    if isinstance(value, Mapping):
        for name, item in value.items():
            _type_paths(item, f"{path}.{name}", out)
    elif isinstance(value, list | tuple):
        if value:
            out.add(f"{path}[]")
            for item in value:
                _type_paths(item, f"{path}[]", out)
    elif value is not None:
        kind = ("bool" if isinstance(value, bool) else "int" if isinstance(value, int)
                else "float" if isinstance(value, float) else "str")
        out.add(f"{path}:{kind}")
    return out


def _dumps(record: Mapping[str, Any]) -> str:
    try:
        return json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as error:
        raise DataIOError(f"record {record.get('id')!r} has a NaN or infinite number "
                          f"({error}); write null instead") from None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --- the writer -----------------------------------------------------------------------
@dataclass
class DatasetCounts:
    """What a dataset directory holds (all runs together)."""

    records: int = 0
    qas: int = 0
    shards: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def add_record(self, record: Mapping[str, Any]) -> None:
        self.records += 1
        for qa in record.get("qa", ()):
            self.qas += 1
            self.by_category[qa["category"]] = self.by_category.get(qa["category"], 0) + 1


class DatasetWriter:
    """Append records and images to a dataset directory, crash-safe and resumable.

    Usage::

        with DatasetWriter(out, settings) as writer:
            if not writer.is_done(key):
                writer.add(key, image_bytes, record)   # record from build_record()
            ...

    ``settings``: JSON-able generation settings (seed, synthesis config, ...). A
    directory written with other settings is refused; the same settings resume it.
    Leaving the ``with`` block flushes the open shard and writes the dataset card,
    also after an error (what was added is kept). One writer per directory (a lock
    file enforces it). Not thread-safe: one thread adds.
    """

    def __init__(self, root: str | Path, settings: Mapping[str, Any], *,
                 shard_size: int = 1000, image_format: str = "jpg",
                 title: str = "Spatial VQA dataset") -> None:
        if shard_size < 1:
            raise DataIOError(f"shard_size must be >= 1, got {shard_size}")
        if image_format not in IMAGE_FORMATS:
            raise DataIOError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, got "
                              f"{image_format!r}")
        self.root = Path(root)
        self.shard_size = int(shard_size)
        self.image_format = image_format
        self.title = title
        try:
            self.settings = json.loads(json.dumps(dict(settings), sort_keys=True))
        except (TypeError, ValueError) as error:
            raise DataIOError(f"settings must be JSON-able: {error}") from None
        self.counts = DatasetCounts()
        #: Bytes of images and records added by this writer (for disk budgets).
        self.bytes_written = 0
        self._failed: str | None = None
        self._closed = False
        self._done: set[str] = set()
        self._skipped: dict[str, str] = {}
        self._sources: dict[str, dict[str, Any]] = {}
        self._shard_index = 0
        self._buffer: list[str] = []  # JSON lines of the open shard
        self._dirty = False
        self._shard0_types: set[str] = set()
        self._image_dirs: set[Path] = set()
        self._scene_files: dict[str, tuple[Path, Any]] = {}
        self._created = _now()
        self._lock_fd: int | None = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock()
            self._open()
        except OSError as error:
            self._unlock()
            raise DataIOError(f"cannot open dataset directory {self.root}: {error}") from None
        except BaseException:
            self._unlock()
            raise

    # -- opening and resuming ----------------------------------------------------------
    def _open(self) -> None:
        manifest_path = self.root / MANIFEST
        if manifest_path.exists():
            self._resume(manifest_path)
        else:
            foreign = sorted(p.name for p in self.root.iterdir()
                             if p.name not in (DATA_DIR, IMAGES_DIR, _LOCK))
            data = self.root / DATA_DIR
            if foreign or (data.is_dir() and any(data.iterdir())):
                raise DataIOError(
                    f"{self.root} is not empty ({', '.join(foreign[:5]) or DATA_DIR}) and holds "
                    "no dataset written by spatial_vqa_ros; choose an empty or new directory")
        (self.root / DATA_DIR).mkdir(exist_ok=True)
        (self.root / IMAGES_DIR).mkdir(exist_ok=True)
        self._remove_stale_temp_files()

    def _lock(self) -> None:
        fd = os.open(self.root / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DataIOError(f"another process is writing {self.root} (it holds "
                              f"{self.root / _LOCK}); wait for it or use another directory"
                              ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _resume(self, manifest_path: Path) -> None:
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise DataIOError(f"cannot read {manifest_path}: {error}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise DataIOError(f"{manifest_path} is not a spatial_vqa_ros dataset manifest")
        theirs = {"settings": manifest.get("settings"), "shard_size": manifest.get("shard_size"),
                  "image_format": manifest.get("image_format")}
        ours = {"settings": self.settings, "shard_size": self.shard_size,
                "image_format": self.image_format}
        if theirs != ours:
            raise DataIOError(
                f"{self.root} was written with other settings "
                f"({'; '.join(_differences(theirs, ours))}); resume it with the same "
                "settings, or write to a new directory")
        self._created = manifest.get("created", self._created)
        self._skipped = dict(manifest.get("skipped", {}))
        self._sources = dict(manifest.get("sources", {}))
        shards = self._shard_paths()
        last: list[dict[str, Any]] = []
        for index, path in shards:
            last = self._read_shard(path)
            for record in last:
                self._done.add(record["source"]["key"])
                self.counts.add_record(record)
                if index == 0:
                    _type_paths(record, "", self._shard0_types)
        self._done.update(self._skipped)
        for reason in self._skipped.values():
            self.counts.skipped[reason] = self.counts.skipped.get(reason, 0) + 1
        self.counts.shards = len(shards)
        if shards:
            if len(last) < self.shard_size:  # the open shard: keep filling it
                self._shard_index = shards[-1][0]
                self._buffer = [_dumps(record) + "\n" for record in last]
            else:
                self._shard_index = shards[-1][0] + 1

    def _shard_paths(self) -> list[tuple[int, Path]]:
        data = self.root / DATA_DIR
        if not data.is_dir():
            return []
        return sorted((int(m.group(1)), path) for path in data.iterdir()
                      if (m := _SHARD_NAME.match(path.name)))

    @staticmethod
    def _read_shard(path: Path) -> list[dict[str, Any]]:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
            records = [json.loads(line) for line in lines if line.strip()]
            if not all(isinstance(r["source"]["key"], str) for r in records):
                raise ValueError("a record without source.key")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataIOError(f"shard {path} cannot be read ({type(error).__name__}: {error}); "
                              "it was not written by spatial_vqa_ros (whose shards are only "
                              "ever replaced whole)") from None
        return records

    def _remove_stale_temp_files(self) -> None:
        """Temp files of a killed run (ours only: ".<name>.<random>.tmp")."""
        for directory in (self.root, self.root / DATA_DIR):
            for path in directory.glob(f".*{_TMP_SUFFIX}"):
                path.unlink(missing_ok=True)
        for path in (self.root / IMAGES_DIR).rglob(f".*{_TMP_SUFFIX}"):
            path.unlink(missing_ok=True)

    # -- adding ----------------------------------------------------------------------------
    def is_done(self, key: str) -> bool:
        """True if ``key`` has a record in the dataset (or was skipped) already."""
        return key in self._done

    def done_keys(self, source: str | None = None) -> set[str]:
        """Keys done already (of one source: keys starting with ``"<source>/"``)."""
        if source is None:
            return set(self._done)
        prefix = f"{source}/"
        return {key for key in self._done if key.startswith(prefix)}

    def add(self, key: str, image: bytes, record: Mapping[str, Any]) -> None:
        """Write the image (now) and add the record (written at the next flush, or
        when the shard is full).

        ``image``: encoded bytes in this writer's ``image_format``. An item that is
        done already raises DataIOError (the caller checks :meth:`is_done`).
        """
        self._check_open()
        if key in self._done:
            raise DataIOError(f"item {key} is in the dataset already")
        expected = image_relpath(key, self.image_format)
        if record.get("image") != expected or record.get("source", {}).get("key") != key:
            raise DataIOError(f"the record of item {key} must have image {expected!r} and "
                              "source.key equal to the key; build it with build_record()")
        line = _dumps(record) + "\n"  # a bad record fails before anything touches the disk
        path = self.root / expected
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, image, sync_dir=False)
        except OSError as error:
            raise self._fail(_io_error(error, f"image {path}", self._safe_note())) from None
        self._image_dirs.add(path.parent)
        self.bytes_written += len(image) + len(line)
        self._done.add(key)
        self.counts.add_record(record)
        types = _type_paths(json.loads(line), "", set())  # as JSON will type it
        if self._shard_index > 0 and not types <= self._shard0_types:
            self._anchor(line, types)
            return
        if self._shard_index == 0:
            self._shard0_types |= types
        self._buffer.append(line)
        self._dirty = True
        if len(self._buffer) >= self.shard_size:
            self._write_shard(final=True)

    def skip(self, key: str, reason: str) -> None:
        """Record that ``key`` was processed but gave no record (e.g. "no_objects");
        kept in progress.json at the next flush."""
        self._check_open()
        if key in self._done:
            return
        self._done.add(key)
        self._skipped[key] = reason
        self.counts.skipped[reason] = self.counts.skipped.get(reason, 0) + 1
        self._dirty = True

    def _anchor(self, line: str, types: set[str]) -> None:
        """Put a record at the front of shard 0 (see the module docstring)."""
        path = self._shard_path(0)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise self._fail(DataIOError(f"cannot read shard {path}: {error}")) from None
        self._sync_image_dirs()
        self._write_file(path, line + text, f"shard {path}")
        self._shard0_types |= types

    def flush(self) -> None:
        """Write the open shard (if it changed) and progress.json, each atomically."""
        self._check_open()
        self._flush()

    def _flush(self) -> None:
        if self._buffer and self._dirty:
            self._write_shard(final=False)
        self._write_manifest()
        self._dirty = False

    def _shard_path(self, index: int) -> Path:
        return self.root / DATA_DIR / f"shard-{index:05d}.jsonl"

    def _sync_image_dirs(self) -> None:
        """Make the renames of the images a shard names durable before the shard."""
        for directory in self._image_dirs:
            try:
                _fsync_dir(directory)
            except OSError as error:
                raise self._fail(_io_error(error, f"images in {directory}",
                                           self._safe_note())) from None
        self._image_dirs.clear()

    def _write_shard(self, final: bool) -> None:
        path = self._shard_path(self._shard_index)
        self._sync_image_dirs()
        self._write_file(path, "".join(self._buffer), f"shard {path}")
        self.counts.shards = self._shard_index + 1
        self._dirty = False
        if final:
            self._shard_index += 1
            self._buffer = []
            self._write_manifest()

    def _write_file(self, path: Path, text: str, what: str) -> None:
        try:
            atomic_write(path, text.encode("utf-8"))
        except OSError as error:
            raise self._fail(_io_error(error, what, self._safe_note())) from None

    def _safe_note(self) -> str:
        pending = len(self._buffer) if self._dirty else 0
        return (f"the {self.counts.records - pending} records already in "
                f"{self.root / DATA_DIR} and their images are intact")

    def _fail(self, error: DataIOError) -> DataIOError:
        self._failed = str(error)
        return error

    def _check_open(self) -> None:
        if self._closed:
            raise DataIOError(f"the dataset writer of {self.root} is closed")
        if self._failed is not None:
            raise DataIOError(f"the dataset writer of {self.root} stopped after an error: "
                              f"{self._failed}")

    # -- sources and their scene graphs ------------------------------------------------------
    def source_complete(self, name: str) -> bool:
        """True if :meth:`end_source` marked ``name`` complete in an earlier run."""
        return bool(self._sources.get(name, {}).get("complete"))

    def begin_source(self, name: str, info: Mapping[str, Any]) -> None:
        """Start (or restart) a source: its scene-graph lines go to a temp file until
        :meth:`end_source` merges them into ``scene_graphs.jsonl``."""
        self._check_open()
        check_key(name)
        self._close_scene_file(name, keep=False)
        self._sources[name] = {**self._sources.get(name, {}), **_jsonable(info),
                               "complete": False}
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{SCENE_GRAPHS}.{name}.", suffix=_TMP_SUFFIX,
                                       dir=self.root)
            os.fchmod(fd, _FILE_MODE)
            self._scene_files[name] = (Path(tmp), os.fdopen(fd, "w", encoding="utf-8"))
        except OSError as error:
            raise self._fail(_io_error(error, "scene graph lines", self._safe_note())) from None

    def add_scene(self, name: str, line: Mapping[str, Any]) -> None:
        """One scene-graph line of source ``name`` (between begin_source and end_source)."""
        self._check_open()
        if name not in self._scene_files:
            raise DataIOError(f"source {name!r} was not begun (call begin_source first)")
        try:
            self._scene_files[name][1].write(_dumps(line) + "\n")
        except OSError as error:
            raise self._fail(_io_error(error, "scene graph lines", self._safe_note())) from None

    def end_source(self, name: str, info: Mapping[str, Any], complete: bool = True) -> None:
        """Flush; if ``complete``, merge the source's scene lines into scene_graphs.jsonl
        and mark it complete (a complete source is skipped when the dataset resumes)."""
        self._check_open()
        self._flush()  # its records on disk before it is marked complete
        if complete:
            self._merge_scene_lines(name)
        else:
            self._close_scene_file(name, keep=False)
        self._sources[name] = {**self._sources.get(name, {}), **_jsonable(info),
                               "complete": bool(complete)}
        self._write_manifest()

    def _close_scene_file(self, name: str, keep: bool) -> Path | None:
        entry = self._scene_files.pop(name, None)
        if entry is None:
            return None
        path, stream = entry
        try:
            stream.close()
        except OSError:
            keep = False
        if not keep:
            path.unlink(missing_ok=True)
            return None
        return path

    def _merge_scene_lines(self, name: str) -> None:
        tmp = self._close_scene_file(name, keep=True)
        if tmp is None:
            return
        target = self.root / SCENE_GRAPHS
        try:
            old = target.read_text(encoding="utf-8").splitlines(True) if target.exists() else []
            kept = [line for line in old if json.loads(line).get("source") != name]
            text = "".join(kept) + tmp.read_text(encoding="utf-8")
        except (OSError, ValueError) as error:
            raise self._fail(DataIOError(f"cannot merge the scene graphs of {name} into "
                                         f"{target}: {error}")) from None
        finally:
            tmp.unlink(missing_ok=True)
        self._write_file(target, text, str(target))

    # -- closing ---------------------------------------------------------------------------
    def _write_manifest(self) -> None:
        manifest = {
            "format": FORMAT, "version": FORMAT_VERSION,
            "created": self._created, "updated": _now(),
            "package_version": package_version(),
            "settings": self.settings, "shard_size": self.shard_size,
            "image_format": self.image_format,
            "records": self.counts.records,
            "sources": self._sources,
            "skipped": self._skipped,
        }
        path = self.root / MANIFEST
        self._write_file(path, json.dumps(manifest, indent=1, sort_keys=True) + "\n", str(path))

    def close(self, extra: Mapping[str, Any] | None = None) -> DatasetCounts:
        """Flush everything and write the dataset card. Idempotent.

        After a write error (e.g. a full disk) the open shard is still tried once:
        its records' images are on disk, and the atomic write keeps the old shard
        if it fails again.
        """
        if self._closed:
            return self.counts
        try:
            if self._failed is None:
                self._flush()
                self._write_file(self.root / CARD, self.card(extra), "the dataset card")
            else:
                with contextlib.suppress(DataIOError):
                    self._flush()
        finally:
            for name in list(self._scene_files):
                self._close_scene_file(name, keep=False)
            self._closed = True
            self._unlock()
        return self.counts

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def card(self, extra: Mapping[str, Any] | None = None) -> str:
        """The dataset card (README.md): YAML header for the Hub, settings and counts."""
        return dataset_card(self.title, self.settings, self.counts, self._sources,
                            image_format=self.image_format, shard_size=self.shard_size,
                            extra=extra)


def _jsonable(value: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(dict(value), sort_keys=True))
    except (TypeError, ValueError) as error:
        raise DataIOError(f"source info must be JSON-able: {error}") from None


def _differences(theirs: Mapping[str, Any], ours: Mapping[str, Any], prefix: str = ""
                 ) -> list[str]:
    """'key: old there, new now' for every leaf that differs."""
    out = []
    for key in sorted(set(theirs) | set(ours)):
        a, b = theirs.get(key), ours.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {json.dumps(a)} there, {json.dumps(b)} now")
    return out


def package_version() -> str:
    from .. import __version__

    return __version__


def dataset_card(title: str, settings: Mapping[str, Any], counts: DatasetCounts,
                 sources: Mapping[str, Mapping[str, Any]], *, image_format: str,
                 shard_size: int, extra: Mapping[str, Any] | None = None) -> str:
    """Markdown with a Hub YAML header (configs -> data/*.jsonl) and the settings."""
    categories = "\n".join(f"| {name} | {count} |" for name, count in
                           sorted(counts.by_category.items())) or "| (none) | 0 |"
    skipped = ", ".join(f"{reason}: {n}" for reason, n in sorted(counts.skipped.items())) \
        or "none"
    source_lines = "\n".join(
        f"- `{name}`: {info.get('kind', '')} `{info.get('uri', '')}`"
        f"{'' if info.get('complete') else ' (incomplete)'}"
        for name, info in sorted(sources.items())) or "- (none)"
    extra_text = ""
    if extra:
        extra_text = "\n## Last run\n\n```json\n" + json.dumps(extra, indent=1, sort_keys=True) \
            + "\n```\n"
    return f"""---
language:
- en
task_categories:
- visual-question-answering
tags:
- spatial-reasoning
- robotics
- ros2
- synthetic-vqa
configs:
- config_name: default
  data_files:
  - split: train
    path: data/*.jsonl
---

# {title}

Templated spatial VQA (SpatialVLM / VQASynth style) generated by `spatial_vqa_ros`
{package_version()} from a metric scene graph: every number is measured in a
gravity-aligned scene frame (metres; x forward, y left, z up), and relations within
their ambiguity margin were never emitted.

- records: {counts.records} (one image each), QAs: {counts.qas}, shards: {counts.shards}
  of up to {shard_size} records (`data/shard-*.jsonl`), images: `images/` ({image_format})
- frames processed without a record: {skipped}

## Loading

```python
from datasets import load_dataset
ds = load_dataset("json", data_files="data/*.jsonl", split="train")
# or: load_dataset("<this directory>", split="train")
```

`image` is relative to this directory. Each record: `id`, `image`, `conversations`
(LLaVA turns), `qa` (category, relation, question, answer, subject/object id and
label, value, unit, truth, rendered_unit, qualitative), `scene_graph` (the frame's
scene record), `source` (kind, uri, name, key, stamp_ns, topic), `width`, `height`.

## QAs per category

| category | QAs |
|---|---|
{categories}

## Sources

{source_lines}

## Generation settings

```json
{json.dumps(settings, indent=1, sort_keys=True)}
```
{extra_text}"""


def load_records(root: str | Path) -> list[dict[str, Any]]:
    """Every record of a dataset directory (all shards), without ``datasets``."""
    shards = sorted((Path(root) / DATA_DIR).glob("shard-*.jsonl"))
    return [record for path in shards for record in DatasetWriter._read_shard(path)]


_OFFLINE_VALUES = {"1", "ON", "YES", "TRUE"}


def push_to_hub(root: str | Path, repo_id: str, *, private: bool = True,
                token: str | None = None, endpoint: str | None = None) -> str:
    """Upload a dataset directory to the Hugging Face Hub as a dataset repo; its URL.

    Uploads the card, shards, images and scene_graphs.jsonl (not progress.json).
    Raises DataIOError with the reason when offline (HF_HUB_OFFLINE=1) or when the
    Hub cannot be reached or refuses the upload.
    """
    root = Path(root)
    if not (root / MANIFEST).exists():
        raise DataIOError(f"{root} is not a dataset written by spatial_vqa_ros "
                          f"(no {MANIFEST})")
    if os.environ.get("HF_HUB_OFFLINE", "").upper() in _OFFLINE_VALUES:
        raise DataIOError(f"cannot push {root} to the Hugging Face Hub as {repo_id}: offline "
                          "mode is on (HF_HUB_OFFLINE is set); unset it on a machine with "
                          "network access and log in (`hf auth login`)")
    try:
        from huggingface_hub import HfApi
    except ImportError:
        raise DataIOError("pushing to the Hub needs huggingface_hub "
                          "(pip install huggingface_hub)") from None
    try:
        api = HfApi(endpoint=endpoint, token=token)
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(root), repo_id=repo_id, repo_type="dataset",
                          ignore_patterns=[MANIFEST, _LOCK, f"**/.*{_TMP_SUFFIX}",
                                           f".*{_TMP_SUFFIX}"])
    except Exception as error:  # hub, HTTP and auth errors of any kind
        raise DataIOError(f"cannot push {root} to the Hugging Face Hub as {repo_id}: "
                          f"{type(error).__name__}: {error}; check the network and "
                          "your login (`hf auth login`)") from None
    return f"https://huggingface.co/datasets/{repo_id}"


__all__ = [
    "DatasetCounts",
    "DatasetWriter",
    "atomic_write",
    "build_record",
    "dataset_card",
    "encode_image",
    "image_relpath",
    "load_records",
    "push_to_hub",
    "qa_fields",
]

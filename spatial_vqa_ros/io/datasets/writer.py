"""The dataset writer: records and images into a dataset directory, crash-safe, resumable.

See the package docstring for the layout, the crash-safety and resume rules and the
type anchoring in shard 0; :class:`DatasetWriter` implements them. Every file goes
through ``io.atomic``; a full disk becomes a DataIOError that says what is intact.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_write, fsync_dir, temp_file
from ..dir_lock import lock_directory, unlock_directory
from ..errors import DataIOError
from .card import dataset_card, package_version
from .layout import (
    CARD,
    DATA_DIR,
    FORMAT,
    FORMAT_VERSION,
    IMAGES_DIR,
    LOCK,
    MANIFEST,
    SCENE_GRAPHS,
    check_image_format,
    read_shard,
    shard_path,
    shard_paths,
)
from .leftovers import foreign_entries, remove_orphan_images, remove_stale_temp_files
from .schema import check_key, dumps, image_relpath, type_paths


def _io_error(error: OSError, what: str, safe: str) -> DataIOError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return DataIOError(f"no space left on the device while writing {what}: {safe}; free "
                           "some space and run the same command again to resume")
    return DataIOError(f"cannot write {what}: {error}; {safe}")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


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
    ``upgrade``: the settings a directory holds as this version spells them (the
    settings' owner knows their old versions), so a rename resumes; the manifest then
    holds ``settings``.
    Leaving the ``with`` block flushes the open shard and writes the dataset card,
    also after an error (what was added is kept). One writer per directory (a lock
    file enforces it). Not thread-safe: one thread adds.
    """

    def __init__(self, root: str | Path, settings: Mapping[str, Any], *,
                 shard_size: int = 1000, image_format: str = "jpg",
                 title: str = "Spatial VQA dataset",
                 upgrade: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
                 ) -> None:
        if shard_size < 1:
            raise DataIOError(f"shard_size must be >= 1, got {shard_size}")
        check_image_format(image_format)
        self.root = Path(root)
        self.shard_size = int(shard_size)
        self.image_format = image_format
        self.title = title
        self._upgrade = upgrade
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
            # A run killed before its first manifest leaves only files of ours: the lock,
            # temp files, and images without records. That is a fresh start, not a
            # foreign directory.
            foreign = foreign_entries(self.root)
            if foreign:
                raise DataIOError(
                    f"{self.root} is not empty ({', '.join(foreign[:5])}) and holds "
                    "no dataset written by spatial_vqa_ros; choose an empty or new directory")
        (self.root / DATA_DIR).mkdir(exist_ok=True)
        (self.root / IMAGES_DIR).mkdir(exist_ok=True)
        remove_stale_temp_files(self.root)
        remove_orphan_images(self.root, self._done)
        if not manifest_path.exists():
            # The settings land before any shard does: a run killed after its first
            # shard resumes (with these settings checked) instead of being refused.
            self._write_manifest()

    def _lock(self) -> None:
        self._lock_fd = lock_directory(self.root, LOCK)

    def _unlock(self) -> None:
        unlock_directory(self._lock_fd)
        self._lock_fd = None

    def _resume(self, manifest_path: Path) -> None:
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise DataIOError(f"cannot read {manifest_path}: {error}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise DataIOError(f"{manifest_path} is not a spatial_vqa_ros dataset manifest")
        written = manifest.get("settings")
        if self._upgrade is not None and isinstance(written, Mapping):
            written = json.loads(json.dumps(dict(self._upgrade(written)), sort_keys=True))
        theirs = {"settings": written, "shard_size": manifest.get("shard_size"),
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
        shards = shard_paths(self.root)
        last: list[dict[str, Any]] = []
        for index, path in shards:
            last = read_shard(path)
            for record in last:
                self._done.add(record["source"]["key"])
                self.counts.add_record(record)
                if index == 0:
                    type_paths(record, "", self._shard0_types)
        self._done.update(self._skipped)
        for reason in self._skipped.values():
            self.counts.skipped[reason] = self.counts.skipped.get(reason, 0) + 1
        self.counts.shards = len(shards)
        if shards:
            if len(last) < self.shard_size:  # the open shard: keep filling it
                self._shard_index = shards[-1][0]
                self._buffer = [dumps(record) + "\n" for record in last]
            else:
                self._shard_index = shards[-1][0] + 1

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
        line = dumps(record) + "\n"  # a bad record fails before anything touches the disk
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
        types = type_paths(json.loads(line), "", set())  # as JSON will type it
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
        path = shard_path(self.root, 0)
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

    def _sync_image_dirs(self) -> None:
        """Make the renames of the images a shard names durable before the shard."""
        for directory in self._image_dirs:
            try:
                fsync_dir(directory)
            except OSError as error:
                raise self._fail(_io_error(error, f"images in {directory}",
                                           self._safe_note())) from None
        self._image_dirs.clear()

    def _write_shard(self, final: bool) -> None:
        path = shard_path(self.root, self._shard_index)
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
            fd, tmp = temp_file(self.root, f"{SCENE_GRAPHS}.{name}")
            self._scene_files[name] = (tmp, os.fdopen(fd, "w", encoding="utf-8"))
        except OSError as error:
            raise self._fail(_io_error(error, "scene graph lines", self._safe_note())) from None

    def add_scene(self, name: str, line: Mapping[str, Any]) -> None:
        """One scene-graph line of source ``name`` (between begin_source and end_source)."""
        self._check_open()
        if name not in self._scene_files:
            raise DataIOError(f"source {name!r} was not begun (call begin_source first)")
        try:
            self._scene_files[name][1].write(dumps(line) + "\n")
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
                            extra=extra, examples=self._examples())

    def _examples(self, count: int = 3) -> list[dict[str, Any]]:
        """The first records of shard 0, for the card (none when it cannot be read)."""
        shards = shard_paths(self.root)
        if not shards:
            return []
        try:
            return read_shard(shards[0][1])[:count]
        except DataIOError:
            return []


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


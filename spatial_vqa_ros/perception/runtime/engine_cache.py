"""TensorRT engines built once and kept: a cache keyed by everything an engine depends on,
that notices when an engine no longer fits and rebuilds it.

Why: an engine is specific to the ONNX graph, the weights, the input shapes, the
precision, the TensorRT version and the GPU (on a Jetson, the JetPack release too).
ROS wrappers that rebuild on every launch cost minutes per start on a Jetson; those
that keep one engine file load a stale one after an upgrade. Here the key holds every
one of those facts, so a change picks another entry and the old one ages out.

- :class:`EngineKey`: checkpoint hash, ONNX hash, input profile, precision, TensorRT
  version, GPU name, compute capability, L4T release; :meth:`EngineKey.digest` names the
  entry.
- :class:`EngineCache`: ``<root>/<digest>.engine`` + ``<digest>.json`` (the key, the
  engine's size and sha256, its last use). The engine is written first and the record
  last, both atomically, so a half-written engine is never loaded; a record whose key,
  size or hash does not match its engine is a corrupt entry, removed and rebuilt.
  Concurrent builders of one key take a lock file (the second waits, then finds the
  engine built). A size cap evicts the least recently used entries.
- The build itself is a callable (the TensorRT builder on a GPU machine; a fake in the
  tests), so all of this is tested without TensorRT.

No TensorRT import here.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...io.atomic import atomic_write
from ..errors import PerceptionError

__all__ = ["ENGINES_ENV", "ENGINES_MAX_ENV", "EngineBuild", "EngineCache", "EngineKey",
           "default_engines_dir", "default_max_bytes", "file_sha256"]

FORMAT = "spatial_vqa_ros engine cache 1"
#: The environment variable that moves the engine cache (the GPU images set /engines).
ENGINES_ENV = "SPATIAL_VQA_ENGINES"


def default_engines_dir() -> Path:
    """$SPATIAL_VQA_ENGINES, else ~/.cache/spatial_vqa_ros/engines."""
    configured = os.environ.get(ENGINES_ENV)
    return Path(configured) if configured else \
        Path.home() / ".cache" / "spatial_vqa_ros" / "engines"


#: The environment variable capping the engine cache, in GB (unset or 0 = no cap).
ENGINES_MAX_ENV = "SPATIAL_VQA_ENGINES_MAX_GB"


def default_max_bytes() -> int:
    """$SPATIAL_VQA_ENGINES_MAX_GB in bytes; 0 (no cap) when unset; ValueError naming the
    variable for a value that is not a number >= 0."""
    text = os.environ.get(ENGINES_MAX_ENV, "").strip()
    try:
        gigabytes = float(text) if text else 0.0
    except ValueError:
        gigabytes = -1.0
    if not gigabytes >= 0:  # also NaN
        raise ValueError(f"{ENGINES_MAX_ENV} must be a number of GB >= 0, got {text!r}")
    return int(gigabytes * 1e9)


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file, read in 1 MB blocks (engines and graphs are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class EngineKey:
    """Everything a TensorRT engine depends on (strings, so the key is exact)."""

    checkpoint_sha256: str
    onnx_sha256: str
    input_profile: str
    precision: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    l4t_release: str = ""

    def digest(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CachedEngine:
    """An engine found in (or put into) the cache: its path and whether it was built now."""

    path: Path
    built: bool


class EngineCache:
    """Engines under ``root``, at most ``max_bytes`` in all (0 = no cap)."""

    def __init__(self, root: str | Path, *, max_bytes: int = 0,
                 log: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        self._log = log or (lambda message: None)

    def _paths(self, key: EngineKey) -> tuple[Path, Path, Path]:
        name = key.digest()
        return (self.root / f"{name}.engine", self.root / f"{name}.json",
                self.root / f"{name}.lock")

    def get(self, key: EngineKey) -> Path | None:
        """The engine of ``key`` when present and whole (its use is recorded), else
        None; an entry that does not match its record is removed and logged."""
        engine, record_path, _ = self._paths(key)
        if not record_path.is_file():
            return None
        problem = self._check(key, engine, record_path)
        if problem:
            self._log(f"engine cache: {engine.name} {problem}: removed, it will be rebuilt")
            engine.unlink(missing_ok=True)
            record_path.unlink(missing_ok=True)
            return None
        self._touch(record_path)
        return engine

    def _check(self, key: EngineKey, engine: Path, record_path: Path) -> str:
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "has an unreadable record"
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            return "has a record of another format"
        if record.get("key") != asdict(key):
            return "was built for another key"
        if not engine.is_file():
            return "is missing"
        if engine.stat().st_size != record.get("size"):
            return "has the wrong size (truncated?)"
        if file_sha256(engine) != record.get("sha256"):
            return "does not match its checksum (corrupt)"
        return ""

    def _touch(self, record_path: Path) -> None:
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(record_path.read_text(encoding="utf-8"))
            record["last_used"] = time.time()
            atomic_write(record_path, (json.dumps(record, indent=1) + "\n").encode())

    def put(self, key: EngineKey, engine_bytes: bytes, source: str = "") -> Path:
        """Store an engine: the engine first, its record last (both atomic). ``source``
        names the graph it came from (``<model>/onnx/<graph>``), for ``models list``."""
        engine, record_path, _ = self._paths(key)
        self.root.mkdir(parents=True, exist_ok=True)
        record_path.unlink(missing_ok=True)  # no record: not a finished entry
        atomic_write(engine, engine_bytes)
        record = {"format": FORMAT, "key": asdict(key), "size": len(engine_bytes),
                  "sha256": hashlib.sha256(engine_bytes).hexdigest(),
                  "source": source, "built": time.time(), "last_used": time.time()}
        atomic_write(record_path, (json.dumps(record, indent=1) + "\n").encode())
        self.evict(keep=key)
        return engine

    @contextlib.contextmanager
    def _locked(self, key: EngineKey) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        lock = self._paths(key)[2]
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a second builder waits for the first
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def get_or_build(self, key: EngineKey, build: Callable[[], bytes],
                     source: str = "") -> CachedEngine:
        """The engine of ``key``, built (once, whoever asks first) when absent or bad.
        PerceptionError when the build fails (nothing is stored then)."""
        found = self.get(key)
        if found is not None:
            return CachedEngine(found, built=False)
        with self._locked(key):
            found = self.get(key)  # another process may have built it while we waited
            if found is not None:
                return CachedEngine(found, built=False)
            self._log(f"engine cache: building {key.digest()} ({key.precision}, "
                      f"{key.input_profile}, TensorRT {key.tensorrt_version} on "
                      f"{key.gpu_name})")
            try:
                engine_bytes = build()
            except Exception as error:
                raise PerceptionError(f"the TensorRT engine build failed: "
                                      f"{type(error).__name__}: {error}") from error
            if not engine_bytes:
                raise PerceptionError("the TensorRT engine build returned nothing")
            return CachedEngine(self.put(key, engine_bytes, source), built=True)

    def entries(self) -> list[dict[str, Any]]:
        """The records of every finished entry, least recently used first."""
        records = []
        for path in sorted(self.root.glob("*.json")) if self.root.is_dir() else []:
            with contextlib.suppress(OSError, ValueError):
                record = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(record, dict) and record.get("format") == FORMAT:
                    records.append({**record, "digest": path.stem})
        return sorted(records, key=lambda r: r.get("last_used", 0.0))

    def evict(self, keep: EngineKey | None = None) -> list[str]:
        """Remove least recently used entries until the cache fits ``max_bytes``
        (never ``keep``); the digests removed."""
        if self.max_bytes <= 0:
            return []
        entries = self.entries()
        total = sum(int(e.get("size", 0)) for e in entries)
        removed = []
        keep_digest = keep.digest() if keep is not None else None
        for entry in entries:
            if total <= self.max_bytes:
                break
            if entry["digest"] == keep_digest:
                continue
            for suffix in (".json", ".engine", ".lock"):
                (self.root / f"{entry['digest']}{suffix}").unlink(missing_ok=True)
            total -= int(entry.get("size", 0))
            removed.append(entry["digest"])
            self._log(f"engine cache: evicted {entry['digest']} (least recently used; "
                      f"cap {self.max_bytes} bytes)")
        return removed


class EngineBuild:
    """An engine obtained on a background thread, so a node keeps serving (with its
    fallback runtime) while TensorRT builds for minutes. ``state`` is "building",
    "ready" (``path`` set) or "failed" (``error`` says why): what diagnostics report."""

    def __init__(self, cache: EngineCache, key: EngineKey, build: Callable[[], bytes],
                 source: str = "") -> None:
        self.state = "building"
        self.path: Path | None = None
        self.built = False
        self.error = ""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(cache, key, build, source),
                                        name="engine_build", daemon=True)
        self._thread.start()

    def _run(self, cache: EngineCache, key: EngineKey, build: Callable[[], bytes],
             source: str) -> None:
        try:
            result = cache.get_or_build(key, build, source)
        except PerceptionError as error:
            self.error, self.state = str(error), "failed"
        else:
            self.path, self.built, self.state = result.path, result.built, "ready"
        finally:
            self._done.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """True once the build has finished (ready or failed)."""
        return self._done.wait(timeout_s)

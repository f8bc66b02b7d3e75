"""Crash-safe file writes, the one implementation the package uses.

A file is written to a temporary file in its own directory (``.<name>.<random>.tmp``),
fsynced, renamed over its target (``os.replace``) and the directory fsynced, so a
killed process leaves the target either as it was or complete, and an error leaves
it untouched with no temporary file behind. Dataset shards, manifests, cards and
images (``io.datasets``) and the JSON lines of ``spatial-vqa scenes`` go through here.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

#: Suffix of every temporary file (a killed run's are recognised by it).
TMP_SUFFIX = ".tmp"
#: The OS calls that put bytes on disk, module-level so tests can make them fail.
_write = os.write
_replace = os.replace
#: Files get the usual mode (0o666 minus the umask), not mkstemp's private 0o600.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK


def fsync_dir(path: str | Path) -> None:
    """Make the renames and new entries of directory ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_file(directory: str | Path, name: str) -> tuple[int, Path]:
    """A new empty file ``.<name>.<random>.tmp`` in ``directory`` with mode
    :data:`FILE_MODE`: its open file descriptor and path (the caller closes and
    removes it)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=TMP_SUFFIX, dir=directory)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    return fd, Path(tmp)


class _FdWriter(io.RawIOBase):
    """Raw writes to a file descriptor it does not own, each through :data:`_write`."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, data: bytes | memoryview) -> int:
        if self.closed:
            raise ValueError("write to a closed atomic file")
        return _write(self._fd, data)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: Literal["w", "wb"] = "w", *, encoding: str = "utf-8",
                sync_dir: bool = True) -> Iterator[IO[Any]]:
    """A stream whose bytes replace ``path`` atomically when the ``with`` block ends.

    ``mode`` "w" yields a text stream (``encoding``), "wb" a binary one. On a clean
    exit the stream is flushed and fsynced, renamed over ``path``, and (with
    ``sync_dir``) the directory fsynced. On an exception in the block, or an OSError
    while finishing (raised as the OS reports it), the temporary file is removed and
    ``path`` is untouched. The stream is closed when the block ends.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    fd, tmp = temp_file(path.parent, path.name)
    raw = _FdWriter(fd)
    binary = io.BufferedWriter(raw)
    stream: IO[Any] = binary if mode == "wb" else io.TextIOWrapper(binary, encoding=encoding)
    try:
        yield stream
        stream.flush()
        os.fsync(fd)
        raw.close()  # nothing is written to fd after this (a closed raw stops flushes)
        os.close(fd)
        fd = -1
        _replace(tmp, path)
    except BaseException:
        raw.close()
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def atomic_write(path: str | Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory, fsync, rename.

    Raises OSError as the OS reports it (the temp file is removed, ``path`` untouched).
    """
    with atomic_open(path, "wb", sync_dir=sync_dir) as stream:
        stream.write(data)


__all__ = [
    "FILE_MODE",
    "TMP_SUFFIX",
    "atomic_open",
    "atomic_write",
    "fsync_dir",
    "temp_file",
]

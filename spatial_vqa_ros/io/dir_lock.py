"""One writer per output directory: an exclusive, non-blocking lock file.

Two processes writing one dataset would interleave their shards and manifests; the
second is refused at once with the path of the lock it met. The lock is advisory
(``flock``) and dies with its process, so a writer killed mid-run leaves nothing that
blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .errors import DataIOError

__all__ = ["lock_directory", "unlock_directory"]


def lock_directory(root: Path, name: str) -> int:
    """The descriptor of ``root / name`` held exclusively; DataIOError if another
    process holds it."""
    path = Path(root) / name
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise DataIOError(f"another process is writing {root} (it holds {path}); wait for "
                          "it or use another directory") from None
    return fd


def unlock_directory(fd: int | None) -> None:
    """Release a lock from :func:`lock_directory` (None: nothing held)."""
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

"""The one crash-safe write: the old file survives any failure, no temp file is left."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from spatial_vqa_ros.io import atomic
from spatial_vqa_ros.io.atomic import FILE_MODE, TMP_SUFFIX, atomic_open, atomic_write


def _entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_atomic_write_replaces_the_file_with_the_usual_mode(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    atomic_write(target, b"old")
    atomic_write(target, b"new" * 10_000)
    assert target.read_bytes() == b"new" * 10_000
    assert stat.S_IMODE(target.stat().st_mode) == FILE_MODE
    assert _entries(tmp_path) == ["file.bin"]


def test_an_exception_in_the_block_keeps_the_old_file_and_leaves_no_temp_file(
        tmp_path: Path) -> None:
    target = tmp_path / "lines.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError, match="boom"), atomic_open(target) as stream:
        stream.write("new line\n" * 2000)  # some of it already flushed to the temp file
        assert any(n.endswith(TMP_SUFFIX) for n in _entries(tmp_path))
        raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert _entries(tmp_path) == ["lines.jsonl"]


def test_a_text_stream_is_written_whole_on_success(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    target.parent.mkdir()
    with atomic_open(target, "w") as stream:
        for i in range(5000):
            stream.write(f"line {i} é\n")
    assert target.read_text(encoding="utf-8").splitlines()[-1] == "line 4999 é"
    assert _entries(target.parent) == ["out.txt"]


@pytest.mark.parametrize("size", [10, 100_000])  # buffered, and written straight through
def test_a_full_disk_keeps_the_old_file_and_leaves_no_temp_file(
        tmp_path: Path, monkeypatch, size: int) -> None:
    target = tmp_path / "file.bin"
    atomic_write(target, b"old")

    def disk_full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_write", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, b"x" * size)
    with pytest.raises(OSError, match="No space left"), atomic_open(target, "w") as stream:
        stream.write("y" * size)
    assert target.read_bytes() == b"old"
    assert _entries(tmp_path) == ["file.bin"]


def test_short_writes_are_continued(tmp_path: Path, monkeypatch) -> None:
    def short_write(fd: int, data: bytes) -> int:
        return os.write(fd, bytes(data[:7]))

    monkeypatch.setattr(atomic, "_write", short_write)
    atomic_write(tmp_path / "file.bin", bytes(range(256)) * 100)
    assert (tmp_path / "file.bin").read_bytes() == bytes(range(256)) * 100


def test_the_file_and_its_directory_are_fsynced(tmp_path: Path, monkeypatch) -> None:
    synced: list[bool] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    atomic_write(tmp_path / "file.bin", b"data")
    assert synced == [False, True]  # the file, then (after the rename) its directory
    synced.clear()
    atomic_write(tmp_path / "other.bin", b"data", sync_dir=False)
    assert synced == [False]


def test_a_failing_rename_keeps_the_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "file.txt"
    atomic_write(target, b"old")

    def fail(*_: object) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(atomic, "_replace", fail)
    with pytest.raises(OSError, match="I/O error"), atomic_open(target) as stream:
        stream.write("new")
    assert target.read_bytes() == b"old"
    assert _entries(tmp_path) == ["file.txt"]


def test_only_write_modes_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode"), atomic_open(tmp_path / "f", "a"):
        pass
    assert _entries(tmp_path) == []

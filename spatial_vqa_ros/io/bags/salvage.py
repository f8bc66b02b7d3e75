"""Recordings cut short (power loss, a killed recorder): every complete message up to the
damage, instead of nothing.

A rosbag2 recorder writes its index last: an mcap file loses its summary and footer
("File end magic is invalid"), a sqlite3 file its last pages ("database disk image is
malformed"), and both lose metadata.yaml. The robot's recording is still mostly there.

- mcap: records are written one after another (op, length, body), so the file is read
  up to the last record that is whole; a chunk cut in the middle is dropped. A copy of
  that prefix with a footer but no summary is opened, and the reader scans it.
- sqlite3: the header's page count is set to the pages that are there (SQLite refuses
  a file shorter than its header says), then the readable rows of ``topics`` and
  ``messages``, in id order, are copied into a fresh database until the first
  unreadable one.

Copies go to a temporary directory owned by the returned :class:`Salvaged` (removed when
it is closed or collected); the recording itself is never written to.
"""

from __future__ import annotations

import sqlite3
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataIOError

__all__ = ["MCAP_MAGIC", "Salvaged", "salvage"]

MCAP_MAGIC = b"\x89MCAP0\r\n"
_OP_FOOTER, _OP_DATA_END = 0x02, 0x0F


@dataclass
class Salvaged:
    """A readable copy of a damaged recording: its path, what was kept, and the
    temporary directory that holds it (cleaned with :meth:`close`)."""

    path: Path
    note: str
    kept_bytes: int = 0
    total_bytes: int = 0
    _directory: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None


def _whole_records_end(data: bytes, start: int) -> int:
    """The offset after the last whole record from ``start`` (op + uint64 length + body),
    stopping at a footer or data-end record."""
    position = start
    while position + 9 <= len(data):
        op = data[position]
        (length,) = struct.unpack_from("<Q", data, position + 1)
        end = position + 9 + length
        if op in (_OP_FOOTER, _OP_DATA_END) or end > len(data):
            break
        position = end
    return position


def _salvage_mcap(path: Path, directory: Path) -> tuple[Path, int, int]:
    data = path.read_bytes()
    if not data.startswith(MCAP_MAGIC) or len(data) < 9 + 8:
        raise DataIOError(f"{path} is not an mcap file (no magic at its start): nothing to "
                          "salvage")
    end = _whole_records_end(data, len(MCAP_MAGIC))
    footer = bytes([_OP_FOOTER]) + struct.pack("<Q", 20) + struct.pack("<QQI", 0, 0, 0)
    repaired = directory / path.name
    repaired.write_bytes(data[:end] + footer + MCAP_MAGIC)
    return repaired, end, len(data)


def _readable_copy(path: Path, directory: Path) -> Path:
    """A copy of a cut sqlite3 file that SQLite will open: whole pages only, and the
    header's page count (bytes 28-31) set to the pages that are there (SQLite refuses a
    file shorter than its header says before reading a single row)."""
    data = path.read_bytes()
    if not data.startswith(b"SQLite format 3\x00") or len(data) < 100:
        raise DataIOError(f"{path} is not an sqlite3 file (no header): nothing to salvage")
    (page_size,) = struct.unpack_from(">H", data, 16)
    page_size = 65536 if page_size == 1 else page_size
    pages = len(data) // page_size
    if pages < 1:
        raise DataIOError(f"{path} holds less than one database page: nothing to salvage")
    fixed = bytearray(data[:pages * page_size])
    struct.pack_into(">I", fixed, 28, pages)
    copy = directory / f"cut-{path.name}"
    copy.write_bytes(bytes(fixed))
    return copy


def _salvage_sqlite3(path: Path, directory: Path) -> tuple[Path, int, int]:
    repaired = directory / path.name
    source = sqlite3.connect(f"file:{_readable_copy(path, directory)}?mode=ro", uri=True)
    target = sqlite3.connect(repaired)
    copied = 0
    try:
        schema = source.execute("SELECT type, name, sql FROM sqlite_master "
                                "WHERE sql IS NOT NULL").fetchall()
        for kind, _, sql in schema:
            if kind == "table":
                target.execute(sql)
        for table in ("schema", "metadata", "topics", "message_definitions"):
            if any(name == table for _, name, _ in schema):
                rows = source.execute(f"SELECT * FROM {table}").fetchall()
                if rows:
                    marks = ",".join("?" * len(rows[0]))
                    target.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        try:
            for row in source.execute("SELECT * FROM messages ORDER BY id"):
                marks = ",".join("?" * len(row))
                target.execute(f"INSERT INTO messages VALUES ({marks})", row)
                copied += 1
        except sqlite3.DatabaseError:
            pass  # the damage: every row before it is kept
        target.commit()
    except sqlite3.DatabaseError as error:
        raise DataIOError(f"{path}: not even the topic table can be read ({error}): "
                          "nothing to salvage") from None
    finally:
        source.close()
        target.close()
    return repaired, copied, -1


def salvage(path: str | Path) -> Salvaged:
    """A readable copy of the damaged recording file ``path`` (.mcap or .db3), or
    DataIOError when nothing can be salvaged."""
    path = Path(path)
    directory = tempfile.TemporaryDirectory(prefix="spatial_vqa_salvage_")
    try:
        if path.suffix == ".mcap":
            repaired, kept, total = _salvage_mcap(path, Path(directory.name))
            note = (f"salvaged {path.name}: a recording cut short, read up to byte {kept} "
                    f"of {total} (its last {total - kept} bytes were an incomplete record)")
        elif path.suffix == ".db3":
            repaired, kept, total = _salvage_sqlite3(path, Path(directory.name))
            note = (f"salvaged {path.name}: a database cut short, {kept} readable message "
                    "rows copied up to the damage")
        else:
            raise DataIOError(f"{path}: only .mcap and .db3 recordings can be salvaged")
    except BaseException:
        directory.cleanup()
        raise
    return Salvaged(repaired, note, kept, total, directory)

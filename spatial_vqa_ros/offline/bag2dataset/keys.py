"""Record keys of image sources: one per image, the same on every run of the same data,
never another image's.

A key part may hold only letters, digits and ``._-`` (``io.datasets.check_key``), so an
image's own name (a relative path, an id column's value) is made key-safe: runs of
other characters become ``_``, and a part that is empty or only dots (``.``, ``..``,
``#..``) becomes ``_``. Two names can then meet on one key (``a b``, ``a_b``, ``a/b``),
and a dataset can repeat an id: rather than drop the later rows, each of them gets a
short hash suffix (``a_b-1f3c9e0a``) of its name and of how often that name came
before, so the keys depend only on the names in their order, and a re-run of the same
data gives the same keys (a killed run resumes). A name already key-safe keeps its key
as it is: no suffixed key can take it. Parts longer than :data:`MAX_PART` are cut and
suffixed the same way (a file name has at most 255 bytes).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MAX_PART", "UniqueKeys", "safe_part", "unique_keys"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: The longest key part kept whole (the image file adds its extension).
MAX_PART = 120


def safe_part(text: str) -> str:
    """``text`` as one key part: unsafe runs replaced by ``_``, ``_`` trimmed at the
    ends; ``"_"`` when nothing usable is left (empty, or only dots)."""
    part = _UNSAFE.sub("_", text).strip("_")
    return part if part.strip(".") else "_"


def _suffix(name: str, occurrence: int, attempt: int) -> str:
    text = f"{name}\0{occurrence}\0{attempt}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(text).hexdigest()[:8]


def _shortened(candidate: str, name: str) -> str:
    """``candidate`` with every over-long part cut and given a hash of ``name``."""
    parts = candidate.split("/")
    if all(len(p) <= MAX_PART for p in parts):
        return candidate
    return "/".join(p if len(p) <= MAX_PART else f"{p[:MAX_PART - 9]}-{_suffix(name, 0, 0)}"
                    for p in parts)


@dataclass(frozen=True)
class UniqueKeys:
    """The key of each row (in row order), and how many rows needed a hash suffix
    because their key-safe name was taken (by another name or a repeat of theirs)."""

    keys: tuple[str, ...]
    collisions: int


def unique_keys(names: Sequence[str], candidates: Sequence[str]) -> UniqueKeys:
    """Unique keys for rows named ``names`` whose key-safe forms are ``candidates``
    (``"/"``-joined :func:`safe_part` parts; a name equal to its candidate is
    *verbatim*). A verbatim name owns its key (its first occurrence); every other row
    takes its candidate if still free, else the candidate with a hash suffix that no
    verbatim name and no earlier row holds."""
    if len(names) != len(candidates):
        raise ValueError(f"{len(names)} names but {len(candidates)} candidates")
    candidates = [_shortened(c, n) for n, c in zip(names, candidates, strict=True)]
    owner: dict[str, int] = {}
    for index, (name, candidate) in enumerate(zip(names, candidates, strict=True)):
        if name == candidate:
            owner.setdefault(candidate, index)
    taken = set(owner)
    seen: dict[str, int] = {}
    keys: list[str] = []
    collisions = 0
    for index, (name, candidate) in enumerate(zip(names, candidates, strict=True)):
        occurrence = seen.get(name, 0)
        seen[name] = occurrence + 1
        if owner.get(candidate) == index or candidate not in taken:
            key = candidate
        else:
            collisions += 1
            attempt = 0
            key = f"{candidate}-{_suffix(name, occurrence, attempt)}"
            while key in taken:
                attempt += 1
                key = f"{candidate}-{_suffix(name, occurrence, attempt)}"
        taken.add(key)
        keys.append(key)
    return UniqueKeys(tuple(keys), collisions)

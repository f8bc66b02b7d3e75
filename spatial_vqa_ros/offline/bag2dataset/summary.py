"""What a run did, per source and in total: counts, failure notes and the text report.

:class:`SourceReport` travels between processes (``to_dict``/``from_dict``, for the
``ray`` engine); :class:`Bag2DatasetSummary` gathers the reports of a run with what
the dataset holds and formats the summary the command prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...core.vqa import EmissionStats
from ...io.datasets import DatasetCounts


@dataclass
class SourceReport:
    """Counts of one source's run (JSON-able with :meth:`to_dict`)."""

    name: str
    kind: str = ""
    uri: str = ""
    frames_read: int = 0
    frames_selected: int = 0
    frames_failed: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    failure_notes: list[str] = field(default_factory=list)
    frames_no_objects: int = 0
    frames_no_qa: int = 0
    #: Frames the filters dropped, by reason (``filters.FILTER_REASONS``).
    filtered_by_reason: dict[str, int] = field(default_factory=dict)
    frames_done_before: int = 0
    records: int = 0
    emission: EmissionStats = field(default_factory=EmissionStats)
    reader: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    complete: bool = False
    seconds: float = 0.0

    def fail(self, reason: str, note: str) -> None:
        self.frames_failed += 1
        self.failed_by_reason[reason] = self.failed_by_reason.get(reason, 0) + 1
        if note not in self.failure_notes and len(self.failure_notes) < 10:
            self.failure_notes.append(note)

    def filter(self, reason: str) -> None:
        self.filtered_by_reason[reason] = self.filtered_by_reason.get(reason, 0) + 1

    def merge(self, part: SourceReport) -> None:
        """Add the report of another part of the same source (a window the ``ray``
        engine ran on another actor): counts add, failure notes stay at most 10, the
        source is complete only when every part is, ``seconds`` adds up worker time."""
        for name in ("frames_read", "frames_selected", "frames_failed", "frames_no_objects",
                     "frames_no_qa", "frames_done_before", "records"):
            setattr(self, name, getattr(self, name) + getattr(part, name))
        for mine, theirs in ((self.failed_by_reason, part.failed_by_reason),
                             (self.filtered_by_reason, part.filtered_by_reason)):
            for reason, count in theirs.items():
                mine[reason] = mine.get(reason, 0) + count
        for note in part.failure_notes:
            if note not in self.failure_notes and len(self.failure_notes) < 10:
                self.failure_notes.append(note)
        self.emission.add(part.emission)
        for key, value in part.reader.items():
            self.reader[key] = self.reader.get(key, 0) + value
        self.error = self.error or part.error
        self.complete = self.complete and part.complete
        self.seconds += part.seconds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SourceReport:
        values = dict(values)
        values["emission"] = EmissionStats(**values["emission"])
        return cls(**values)


@dataclass
class Bag2DatasetSummary:
    """What a run did (``sources``, this run) and what the dataset holds (``dataset``)."""

    out: Path
    sources: list[SourceReport] = field(default_factory=list)
    skipped_complete: list[str] = field(default_factory=list)
    dataset: DatasetCounts = field(default_factory=DatasetCounts)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.complete for r in self.sources) and self.dataset.records > 0

    @property
    def exit_status(self) -> int:
        """The command's exit status: 0 done, 1 partial (a frame failed, a source is
        incomplete, or the dataset holds no record)."""
        return 0 if self.ok and not any(r.frames_failed for r in self.sources) else 1

    def totals(self) -> dict[str, Any]:
        emission = EmissionStats()
        failed: dict[str, int] = {}
        filtered: dict[str, int] = {}
        for r in self.sources:
            emission.add(r.emission)
            for reason, n in r.failed_by_reason.items():
                failed[reason] = failed.get(reason, 0) + n
            for reason, n in r.filtered_by_reason.items():
                filtered[reason] = filtered.get(reason, 0) + n
        total = {name: sum(getattr(r, name) for r in self.sources) for name in (
            "frames_read", "frames_selected", "frames_failed", "frames_no_objects",
            "frames_no_qa", "frames_done_before", "records")}
        collisions = sum(int(r.reader.get("key_collisions", 0)) for r in self.sources)
        return {**total, "failed_by_reason": failed, "filtered_by_reason": filtered,
                "key_collisions": collisions,
                "qa_by_category": emission.by_category,
                "qa_emitted": emission.emitted, "qa_refused_by_reason": emission.skipped,
                "qa_shortfall": emission.shortfall}

    def format(self) -> str:
        t = self.totals()
        rate = t["frames_read"] / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"{self.out}: {t['records']} records written this run "
            f"({self.dataset.records} in the dataset, {self.dataset.qas} QAs) in "
            f"{self.seconds:.1f} s ({rate:.1f} frames/s)",
            f"frames: {t['frames_read']} read, {t['frames_selected']} selected, "
            f"{t['frames_failed']} failed, {t['frames_no_objects']} without objects, "
            f"{t['frames_no_qa']} without QAs, {t['frames_done_before']} already in the dataset",
        ]
        if t["failed_by_reason"]:
            lines.append("failed: " + ", ".join(f"{k} {v}" for k, v in
                                                sorted(t["failed_by_reason"].items())))
        if t["key_collisions"]:
            lines.append(f"keys: {t['key_collisions']} images named like another once made "
                         "key-safe (or named twice) got a hash suffix; none dropped")
        if t["filtered_by_reason"]:
            lines.append("filtered out: " + ", ".join(
                f"{k} {v}" for k, v in sorted(t["filtered_by_reason"].items())))
        lines.append("QAs per category: " + (", ".join(
            f"{k} {v}" for k, v in sorted(t["qa_by_category"].items())) or "none"))
        refused = {k: v for k, v in t["qa_refused_by_reason"].items() if v}
        lines.append("QA attempts refused: " + (", ".join(
            f"{k} {v}" for k, v in sorted(refused.items())) or "none")
            + f"; shortfall {t['qa_shortfall']} QAs")
        for name in self.skipped_complete:
            lines.append(f"{name}: complete in the dataset already, nothing new to read")
        for r in self.sources:
            reader = {k: v for k, v in r.reader.items()
                      if k.startswith("skipped_") and v}
            state = "complete" if r.complete else f"INCOMPLETE: {r.error}"
            lines.append(f"{r.name}: {r.frames_read} frames, {r.records} records, {state}"
                         + (f"; reader skipped {reader}" if reader else ""))
            lines += [f"  {note}" for note in r.failure_notes[:5]]
            lines += [f"  reader: {note}" for note in r.reader.get("notes", [])[:5]]
        return "\n".join(lines)

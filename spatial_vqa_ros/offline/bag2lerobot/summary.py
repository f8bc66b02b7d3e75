"""What a ``bag2lerobot`` run did, per recording and in total, and the text it prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...io.datasets.lerobot import LeRobotCounts


@dataclass
class BagReport:
    """One recording's run. ``ticks``: grid ticks considered; ``dropped``: ticks
    dropped, by reason (``no_<stream>``: no message within the tolerance, counted per
    stream; ``unreadable``: the reader skipped the image; ``perception``/``invalid``:
    the chain or the core failed on it; ``reward_invalid``: a pair had no valid
    reward, as the node's stream would publish it invalid)."""

    name: str
    ticks: int = 0
    frames: int = 0
    episodes: int = 0
    episodes_done_before: int = 0
    episodes_empty: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    events: int = 0
    complete: bool = False
    error: str = ""

    def drop(self, reason: str, note: str = "", count: int = 1) -> None:
        if count <= 0:
            return
        self.dropped[reason] = self.dropped.get(reason, 0) + count
        if note and note not in self.notes and len(self.notes) < 10:
            self.notes.append(note)


@dataclass
class Bag2LeRobotSummary:
    """A run's reports and what the dataset holds."""

    out: Path
    bags: list[BagReport] = field(default_factory=list)
    dataset: LeRobotCounts = field(default_factory=LeRobotCounts)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(b.complete for b in self.bags) and self.dataset.frames > 0

    @property
    def exit_status(self) -> int:
        """0 done; 1 a recording incomplete or no frame in the dataset."""
        return 0 if self.ok else 1

    def format(self) -> str:
        frames = sum(b.frames for b in self.bags)
        rate = frames / self.seconds if self.seconds > 0 else 0.0
        dropped: dict[str, int] = {}
        for b in self.bags:
            for reason, n in b.dropped.items():
                dropped[reason] = dropped.get(reason, 0) + n
        d = self.dataset
        lines = [f"{self.out}: {d.added_episodes} episodes, {d.added_frames} frames written "
                 f"this run ({d.episodes} episodes, {d.frames} frames, {d.tasks} tasks in the "
                 f"dataset) in {self.seconds:.1f} s ({rate:.1f} frames/s)",
                 f"ticks: {sum(b.ticks for b in self.bags)} at the fixed rate, {frames} "
                 f"written, dropped: " + (", ".join(f"{k} {v}" for k, v in
                                                   sorted(dropped.items())) or "none"),
                 f"VQA: {sum(b.events for b in self.bags)} language event rows"]
        for b in self.bags:
            state = "complete" if b.complete else f"INCOMPLETE: {b.error}"
            extra = (f", {b.episodes_done_before} already in the dataset"
                     if b.episodes_done_before else "")
            extra += f", {b.episodes_empty} without frames" if b.episodes_empty else ""
            lines.append(f"{b.name}: {b.episodes} episodes, {b.frames} frames{extra}, {state}")
            lines += [f"  {note}" for note in b.notes[:5]]
        return "\n".join(lines)


__all__ = ["Bag2LeRobotSummary", "BagReport"]

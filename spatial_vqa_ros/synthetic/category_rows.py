"""Per-category rows of the benchmarks (issue 22): for each quantity and each category
of :mod:`.categories`, what the one gate stated (and how well) and what it refused.

Both geometry and VQA benchmarks fill one :class:`CategoryRows` and print its
:meth:`~CategoryRows.lines`, so their tables read the same. A statement is counted in
every category of its object or pair (the rows overlap, except ``whole``). Also the
issue's coverage figure: the share of objects with at least ``MIN_PIXELS`` visible
pixels whose width (height) the gate states, whatever the object's category.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .categories import CATEGORIES

#: The quantities with rows, in print order ("predicates": the position predicates and
#: closer_to_camera of every ordered pair; size comparisons are not rows).
ROW_QUANTITIES = ("distance", "horizontal_distance", "vertical_distance", "width", "height",
                  "predicates")
TOLERANCE = 0.25


@dataclass
class CategoryRows:
    """Stated relative errors, predicate outcomes and refusals per (quantity, category)."""

    errors: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    correct: dict[tuple[str, str], list[bool]] = field(default_factory=lambda: defaultdict(list))
    refused: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    #: Objects with enough visible pixels, and those of them with a stated width/height.
    sized_visible: int = 0
    sized_stated: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def stated(self, quantity: str, categories: tuple[str, ...], estimate: float,
               truth: float) -> None:
        """A stated measure; relative error against a positive truth (others skipped,
        as the benchmarks' other rows do)."""
        if truth > 1e-9 and math.isfinite(estimate):
            for c in categories:
                self.errors[quantity, c].append(abs(estimate - truth) / truth)

    def predicate(self, categories: tuple[str, ...], correct: bool) -> None:
        for c in categories:
            self.correct["predicates", c].append(bool(correct))

    def refusal(self, quantity: str, categories: tuple[str, ...]) -> None:
        for c in categories:
            self.refused[quantity, c] += 1

    def size_coverage(self, width_stated: bool, height_stated: bool) -> None:
        """One object with enough visible pixels, and which of its sizes were stated."""
        self.sized_visible += 1
        self.sized_stated["width"] += int(width_stated)
        self.sized_stated["height"] += int(height_stated)
        self.sized_stated["either"] += int(width_stated or height_stated)
        self.sized_stated["both"] += int(width_stated and height_stated)

    def cell(self, quantity: str, category: str) -> tuple[int, float, int]:
        """(stated, share within +-25% or correct, refused) of one row."""
        if quantity == "predicates":
            flags = self.correct.get((quantity, category), [])
            share = float(np.mean(flags)) if flags else math.nan
            n = len(flags)
        else:
            errors = np.asarray(self.errors.get((quantity, category), []))
            share = float((errors <= TOLERANCE).mean()) if errors.size else math.nan
            n = int(errors.size)
        return n, share, self.refused.get((quantity, category), 0)

    def coverage(self, size: str) -> float:
        """Share of objects with enough visible pixels whose ``size`` is stated
        ("width", "height", or "either" / "both" of them)."""
        return self.sized_stated.get(size, 0) / self.sized_visible if self.sized_visible \
            else math.nan

    def lines(self) -> list[str]:
        """The table: per quantity, one line per category with statements or refusals."""
        out = [f"  {'quantity':20s} {'pairs/objects':13s} {'stated':>7s} {'within':>8s} "
               f"{'refused':>8s}   (predicates: correct instead of within +-25%)"]
        for quantity in ROW_QUANTITIES:
            for category in CATEGORIES:
                n, share, refused = self.cell(quantity, category)
                if n or refused:
                    shown = f"{share:8.1%}" if n else f"{'-':>8s}"
                    out.append(f"  {quantity:20s} {category:13s} {n:7d} {shown} {refused:8d}")
        out.append(f"  stated size coverage (objects >= MIN_PIXELS visible, n="
                   f"{self.sized_visible}): width {self.coverage('width'):.1%}, height "
                   f"{self.coverage('height'):.1%}, either {self.coverage('either'):.1%}, "
                   f"both {self.coverage('both'):.1%}")
        return out


__all__ = ["ROW_QUANTITIES", "CategoryRows"]

"""One benchmark question, whichever benchmark it comes from, as the runner and the
scorers read it.

Why one type for two benchmarks: SpatialRGPT-Bench marks its objects as regions (boxes,
masks) and Q-Spatial Bench names them in words, but both ask for one of the core's
relations between at most two objects and both hold a metric truth. Each reader turns
its released rows into :class:`BenchQuestion`; everything downstream (answering,
the benchmark's own rule, our verifier, the tables) is shared.

``qa`` is the question as this package's answer verifier
(:func:`~spatial_vqa_ros.core.vqa.verify.score_answer`) reads a dataset record's QA:
our category, the truth (``value`` in metres or a clock hour; ``truth`` "true"/"false")
and the names an answer may use for the two objects. Pure Python: no numpy, no ROS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BenchFormatError", "BenchQuestion", "ReadResult", "Region", "region_name",
           "with_region_names"]

#: "Region [0]", "region[1]": how SpatialRGPT-Bench names its regions in text.
_REGION = re.compile(r"\bregion\s*\[\s*(\d+)\s*\]", re.IGNORECASE)


class BenchFormatError(ValueError):
    """A benchmark file that is not in the released format: names the file and line."""


@dataclass(frozen=True)
class Region:
    """One region of a question: its box (x0, y0, x1, y1 in pixels of the image, as
    released) and, where the benchmark gives one, its mask as COCO RLE."""

    xyxy: tuple[float, float, float, float]
    rle: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class BenchQuestion:
    """A benchmark question (module docstring). ``image``: the image's path relative to
    the benchmark's folder (``image_bytes`` when the file embeds it); ``relation``: the
    core's relation that answers it (``gap`` for a minimum distance, the closest points
    of the two objects); ``subject`` / ``object``: the names the runner gives the
    objects (``Region A`` for a region, the words of the question for a named one);
    ``kind``: "quantitative" or "qualitative"; ``truth_text``: the released answer."""

    benchmark: str
    qid: str
    image: str
    question: str
    category: str
    kind: str
    relation: str
    subject: str
    object: str
    qa: Mapping[str, Any]
    truth_text: str
    regions: tuple[Region, ...] = ()
    image_bytes: bytes | None = field(default=None, repr=False)

    @property
    def truth_m(self) -> float | None:
        """The metric truth of a length question [m]; None for other forms."""
        value = self.qa.get("value")
        return float(value) if value is not None and self.kind == "quantitative" \
            and self.relation != "direction" else None


def region_name(index: int) -> str:
    """The name an answer uses for region ``index``: "Region A", "Region B", ... (the
    released "Region [0]" holds digits a length reader would take for a number)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"Region {letters}"


def with_region_names(text: str) -> str:
    """``text`` with every "Region [k]" written as :func:`region_name` gives it."""
    return _REGION.sub(lambda match: region_name(int(match.group(1))), text)


@dataclass(frozen=True)
class ReadResult:
    """A benchmark file's questions, and (id, reason) of each record skipped."""

    questions: tuple[BenchQuestion, ...]
    skipped: tuple[tuple[str, str], ...]

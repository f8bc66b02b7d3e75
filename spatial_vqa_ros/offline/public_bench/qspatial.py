"""Q-Spatial Bench's released parquet files as :class:`BenchQuestion` s.

Two splits, one parquet each (``data/QSpatial_plus-*.parquet``, 101 rows, images
embedded; ``data/QSpatial_scannet-*.parquet``, 170 rows, images from the user's own
ScanNet download under ``image_path``), with the columns ``question``, ``answer_value``,
``answer_unit``, ``question_type``, ``image_path`` and ``image`` (a struct of JPEG
``bytes`` and ``path``; null in the ScanNet split).

The benchmark gives no regions and no intrinsics: the objects are named in the question
("What is the minimum distance between the sofa and the coffee table in the image?")
and are grounded by a detector family from those words. The question is read by a
table of patterns into one of the core's relations; "minimum distance" is the gap
between the objects (their closest points, as the benchmark's own worked example
reasons), "the two stools" asks about two objects of one name. A question no pattern
reads, or a truth in a unit the benchmark's table lacks, is skipped with the reason.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from .questions import BenchFormatError, BenchQuestion, ReadResult
from .rules import unit_metres

__all__ = ["COLUMNS", "parquet_files", "parse_qspatial_question", "read_qspatial"]

BENCHMARK = "qspatial"
COLUMNS = ("question", "answer_value", "answer_unit", "question_type", "image_path")
_TAIL = r"(?:\s+(?:in|shown in|seen in) (?:the|this) (?:image|picture|photo))?\s*[?.]?\s*$"
_PAIR = r"(?:the )?(?:minimum |shortest |closest )?distance between (?P<a>.+?) and (?P<b>.+?)"
#: (pattern, relation), first match wins; the relation is the core's (``gap``: closest
#: points). Object names keep their words ("the coffee table").
_PATTERNS = [(re.compile(p + _TAIL, re.IGNORECASE), relation) for p, relation in (
    (r"^what is the (?:minimum|shortest|closest) distance between (?P<a>.+?) and (?P<b>.+?)",
     "gap"),
    (r"^what is the vertical distance between (?P<a>.+?) and (?P<b>.+?)", "vertical_distance"),
    (r"^what is the horizontal distance between (?P<a>.+?) and (?P<b>.+?)",
     "horizontal_distance"),
    (r"^what is " + _PAIR, "distance"),
    (r"^how far (?:apart )?(?:is|are) (?P<a>.+?) from (?P<b>.+?)", "distance"),
    (r"^how far apart are (?P<a>.+?) and (?P<b>.+?)", "distance"),
    (r"^(?:what is|how much is) the height of (?P<a>.+?)", "height"),
    (r"^how (?:tall|high) is (?P<a>.+?)", "height"),
    (r"^(?:what is|how much is) the width of (?P<a>.+?)", "width"),
    (r"^how wide is (?P<a>.+?)", "width"),
)]
_TWO = re.compile(r"^(?:the )?(?:two|2|both) (?P<name>.+)$", re.IGNORECASE)


def _singular(words: str) -> str:
    """"stool chairs" -> "stool chair", "boxes" -> "box" (the last word only)."""
    head, _, last = words.rpartition(" ")
    for plural, singular in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("xes", "x"),
                             ("sses", "ss"), ("s", "")):
        if last.lower().endswith(plural) and len(last) > len(plural) + 1:
            last = last[: len(last) - len(plural)] + singular
            break
    return f"{head} {last}".strip()


def _name(words: str) -> str:
    words = " ".join(words.split())
    return re.sub(r"^the ", "", words, flags=re.IGNORECASE)


def parse_qspatial_question(question: str) -> tuple[str, str, str] | None:
    """(relation, subject, object) of a question, ``object`` empty for a size and equal
    to ``subject`` for "the two <things>"; None when no pattern reads it."""
    text = " ".join(question.split())
    for pattern, relation in _PATTERNS:
        match = pattern.match(text)
        if match is None:
            continue
        names = match.groupdict()
        a, b = _name(names["a"]), _name(names.get("b") or "")
        if relation in ("height", "width"):
            return relation, a, ""
        return relation, a, b
    for pattern, relation in _PATTERNS[:4]:  # "between the two stools": one name, twice
        two = re.match(pattern.pattern.replace(r" and (?P<b>.+?)", ""), text, re.IGNORECASE)
        if two is not None and (pair := _TWO.match(_name(two.group("a")))):
            name = _singular(pair.group("name"))
            return relation, name, name
    return None


def _rows(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow's errors name no common base
        raise BenchFormatError(f"{path}: not a readable parquet file ({error})") from None
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise BenchFormatError(f"{path}: no column {', '.join(missing)} (Q-Spatial Bench's "
                               f"parquet has {', '.join(COLUMNS)}, image)")
    return table.to_pylist()


def _question(row: dict[str, Any], where: str, qid: str) -> BenchQuestion | tuple[str, str]:
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        raise BenchFormatError(f"{where}: question must be a non-empty string")
    value, unit = row.get("answer_value"), row.get("answer_unit")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not (
            math.isfinite(value) and value > 0) or not isinstance(unit, str):
        raise BenchFormatError(f"{where}: answer_value must be a number > 0 and "
                               f"answer_unit a string, got {value!r}, {unit!r}")
    per_unit = unit_metres(unit)
    if per_unit is None:
        return qid, f"unit {unit!r} is not in the benchmark's table"
    image_path = row.get("image_path")
    image = row.get("image") if isinstance(row.get("image"), dict) else {}
    data = image.get("bytes") if image else None
    if not data and not (isinstance(image_path, str) and image_path.strip()):
        raise BenchFormatError(f"{where}: neither image bytes nor an image_path")
    parsed = parse_qspatial_question(question)
    if parsed is None:
        return qid, f"no relation reads the question {question!r:.80}"
    relation, subject, obj = parsed
    category = {"gap": "distance"}.get(relation, relation)
    truth_m = float(value) * per_unit
    return BenchQuestion(
        BENCHMARK, qid, str(image_path or ""), question, str(row.get("question_type") or ""),
        "quantitative", relation, subject, obj,
        {"category": category, "value": truth_m, "subject_text": subject,
         "object_text": obj}, f"{value:g} {unit}", (), data or None)


def parquet_files(path: str | Path) -> list[Path]:
    """The parquet file ``path`` names, or those under the folder ``path``."""
    path = Path(path)
    if path.is_file():
        return [path]
    files = sorted(path.rglob("*.parquet"))
    if not files:
        raise BenchFormatError(f"{path}: no parquet file (Q-Spatial Bench's data/ holds "
                               f"QSpatial_plus-*.parquet and QSpatial_scannet-*.parquet)")
    return files


def read_qspatial(path: str | Path) -> ReadResult:
    """Every question of the parquet file(s) at ``path``; ids are
    ``<file stem>:<row>``. Raises BenchFormatError naming the row of the first one
    not in the format."""
    questions, skipped = [], []
    for file in parquet_files(path):
        split = file.stem.split("-")[0]
        for k, row in enumerate(_rows(file)):
            read = _question(row, f"{file}: row {k}", f"{split}:{k}")
            (skipped if isinstance(read, tuple) else questions).append(read)
    return ReadResult(tuple(questions), tuple(skipped))

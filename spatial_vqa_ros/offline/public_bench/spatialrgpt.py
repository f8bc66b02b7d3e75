"""SpatialRGPT-Bench's released annotations as :class:`BenchQuestion` s.

The released file is ``SpatialRGPT-Bench_v1.json``, one JSON array (the official
``llava/eval/eval_spatial.py`` loads it with ``json.load``); one record per line (JSONL)
is read too. A record (fields as the official evaluation reads them)::

    {"id": "qualitative_1g1lvedTvh",
     "image_info": {"file_path": "SUNRGBD/.../0000035.jpg", "height": 530, "width": 730},
     "text_q": "Who is lower down, Region [0] or Region [1]?",
     "qa_info": {"type": "qualitative", "category": "below_choice"},
     "conversations": [{"from": "human", "value": "<image>\\nWho is lower down, <mask> or <mask>?"},
                       {"from": "gpt", "value": "Region [1] is below."}],
     "bbox": [[x1, y1, x2, y2], ...],      # pixels of the original image, one per <mask>
     "rle": [{"size": [h, w], "counts": "..."}, ...]}   # COCO RLE masks, optional

``file_path`` is relative to Omni3D's ``datasets/`` folder (where the images are
downloaded); the truth is the second turn's text ("3.67 feet", "around the 2 o'clock
direction", "Yes, ..."), read here with the package's answer readers. A record whose
truth cannot be read, or whose category has no relation in the core, is skipped and
counted with its reason; a record that is not in the format stops the run with the
line it is on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...core.vqa import CATEGORIES
from ...core.vqa.answers import parse_choice, parse_clock, parse_length, parse_yes_no
from ...core.vqa.templates import relation_phrases
from .questions import (
    BenchFormatError,
    BenchQuestion,
    ReadResult,
    Region,
    region_name,
    with_region_names,
)

__all__ = ["MEASURE_CATEGORIES", "read_spatialrgpt"]

BENCHMARK = "spatialrgpt"
#: The released quantitative categories -> this package's verifier category.
MEASURE_CATEGORIES = {
    "distance_data": "distance",
    "horizontal_distance_data": "horizontal_distance",
    "vertical_distance_data": "vertical_distance",
    "width_data": "width",
    "height_data": "height",
    "direction": "direction_clock",
}
_MASK = "<mask>"


def _records(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, record) of a JSON array or a JSONL file; ``where`` names the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BenchFormatError(f"{path}: cannot be read ({error})") from None
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as error:
            raise BenchFormatError(f"{path}:{error.lineno}: not JSON ({error.msg})") from None
        for k, record in enumerate(records):
            yield f"{path}: record {k + 1}", record
        return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"{path}:{number}", json.loads(line)
        except json.JSONDecodeError as error:
            raise BenchFormatError(f"{path}:{number}: not JSON ({error.msg})") from None


def _field(record: Mapping[str, Any], where: str, *keys: str, kind: type = str) -> Any:
    value: Any = record
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            raise BenchFormatError(f"{where}: no {'.'.join(keys)} (every record has it)")
        value = value[key]
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        raise BenchFormatError(f"{where}: {'.'.join(keys)} must be a non-empty "
                               f"{kind.__name__}, got {value!r:.60}")
    return value


def _box(value: Any, where: str, k: int) -> tuple[float, float, float, float]:
    ok = isinstance(value, (list, tuple)) and len(value) == 4 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        for v in value)
    if not ok or not (value[0] < value[2] and value[1] < value[3]):
        raise BenchFormatError(f"{where}: bbox {k} must be [x1, y1, x2, y2] pixels with "
                               f"x1 < x2 and y1 < y2, got {value!r:.80}")
    return tuple(float(v) for v in value)  # type: ignore[return-value]


def _regions(record: Mapping[str, Any], where: str, masks_in_question: int
             ) -> tuple[Region, ...]:
    boxes = _field(record, where, "bbox", kind=list)
    rles = record.get("rle")
    if rles is not None and (not isinstance(rles, list) or len(rles) != len(boxes)
                             or not all(isinstance(r, Mapping) and "counts" in r
                                        and "size" in r for r in rles)):
        raise BenchFormatError(f"{where}: rle must be one COCO RLE ({{size, counts}}) per "
                               f"bbox ({len(boxes)})")
    if masks_in_question and masks_in_question != len(boxes):
        raise BenchFormatError(f"{where}: the question has {masks_in_question} {_MASK} "
                               f"but bbox holds {len(boxes)} boxes (one per {_MASK})")
    return tuple(Region(_box(box, where, k), None if rles is None else rles[k])
                 for k, box in enumerate(boxes))


def _truth(category: str, answer: str, n_regions: int) -> dict[str, Any] | str:
    """Our verifier's truth fields of a released answer, or why it cannot be read."""
    text = with_region_names(answer)
    subject, obj = region_name(0), region_name(1)
    form = CATEGORIES[category].form
    if form == "measure":
        length = parse_length(text, bare_unit=None)
        if length is None or not length.metres > 0:
            return f"no length in the answer {answer!r:.80}"
        return {"value": length.metres}
    if form == "clock":
        hour = parse_clock(text)
        return {"value": float(hour)} if hour is not None else \
            f"no clock hour in the answer {answer!r:.80}"
    if n_regions < 2:
        return f"a {category} question needs two regions, the record has {n_regions}"
    if form == "choice":
        said = parse_choice(text, (subject,), (obj,))
    else:
        affirm, oppose = relation_phrases(category)
        said = parse_yes_no(text, affirm=affirm, oppose=oppose, subject=(subject,),
                            obj=(obj,))
    if said is None:
        return f"no {form} in the answer {answer!r:.80}"
    return {"truth": "true" if said else "false"}


def _question(record: Any, where: str) -> BenchQuestion | tuple[str, str]:
    if not isinstance(record, Mapping):
        raise BenchFormatError(f"{where}: a record is a JSON object, got "
                               f"{type(record).__name__}")
    qid = _field(record, where, "id")
    image = _field(record, where, "image_info", "file_path")
    question = _field(record, where, "text_q")
    kind = _field(record, where, "qa_info", "type")
    category = _field(record, where, "qa_info", "category")
    turns = _field(record, where, "conversations", kind=list)
    if len(turns) < 2 or not all(isinstance(t, Mapping) and isinstance(t.get("value"), str)
                                 for t in turns[:2]):
        raise BenchFormatError(f"{where}: conversations must hold the question and the "
                               f"answer ({{from, value}} turns)")
    regions = _regions(record, where, turns[0]["value"].count(_MASK))
    ours = MEASURE_CATEGORIES.get(category, category)
    if ours not in CATEGORIES:
        return qid, f"category {category!r} has no relation in the core"
    truth = _truth(ours, turns[1]["value"], len(regions))
    if isinstance(truth, str):
        return qid, truth
    relation = CATEGORIES[ours].relation
    binary = len(regions) >= 2
    return BenchQuestion(
        BENCHMARK, qid, image, with_region_names(question), category, kind, relation,
        region_name(0), region_name(1) if binary else "",
        {"category": ours, **truth, "subject_text": region_name(0),
         "object_text": region_name(1) if binary else ""},
        turns[1]["value"], regions)


def read_spatialrgpt(path: str | Path) -> ReadResult:
    """Every question of a released annotation file (module docstring). Raises
    BenchFormatError naming the line of the first record not in the format."""
    questions, skipped, seen = [], [], set()
    for where, record in _records(Path(path)):
        read = _question(record, where)
        if isinstance(read, tuple):
            skipped.append(read)
            continue
        if read.qid in seen:
            raise BenchFormatError(f"{where}: id {read.qid!r} appears twice")
        seen.add(read.qid)
        questions.append(read)
    return ReadResult(tuple(questions), tuple(skipped))

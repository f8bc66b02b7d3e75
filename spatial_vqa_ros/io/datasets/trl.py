"""A written dataset as TRL-ready parquet: chat ``messages`` with the image embedded as a
``datasets.Image`` feature, for SFT (one row per image) or GRPO (one row per QA, with
the structured truth the answer verifier scores against).

Why a second form beside the LLaVA JSON lines: TRL's trainers and the Qwen-VL /
LLaVA-OneVision processors take typed chat turns and decoded images, and a GRPO run
needs each question apart with its truth; parquet with the image bytes inside loads
with one ``load_dataset`` call anywhere (no image folder to copy beside it) and pushes
with ``push_to_hub``.

Layout: ``data/train-NNNNN.parquet`` and a README.md card naming them (so
``load_dataset(OUT)`` works). Each shard is written to a temporary file and renamed,
and the card last: an interrupted export leaves no half shard, and running it again
rewrites the directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.vqa.messages import as_multiple_choice, grpo_prompt, sft_messages
from ..atomic import atomic_write
from ..errors import DataIOError
from .layout import confined_path, load_records

__all__ = ["FORMS", "TrlExport", "export_trl"]

FORMS = ("sft", "grpo")
_MARK = "spatial_vqa_ros trl export"
#: Every QA carries every field, with one type, so the parquet schema never changes.
_QA_FIELDS = {"category": "", "relation": "", "question": "", "answer": "",
              "subject_id": -1, "subject_label": "", "object_id": -1, "object_label": "",
              "value": None, "unit": "", "truth": "", "rendered_unit": "",
              "qualitative": False, "subject_text": "", "object_text": "", "options": [],
              "correct": -1}


@dataclass(frozen=True)
class TrlExport:
    """What an export wrote: rows, parquet shards, the directory."""

    rows: int
    shards: int
    path: Path


def _features(form: str) -> Any:
    from datasets import Features, Image, List, Value

    part = {"type": Value("string"), "text": Value("string")}
    turns = List({"role": Value("string"), "content": List(part)})
    columns: dict[str, Any] = {"id": Value("string"), "images": List(Image())}
    if form == "sft":
        columns["messages"] = turns
        return Features(columns)
    qa = {name: Value("string") for name in _QA_FIELDS}
    qa.update({"subject_id": Value("int64"), "object_id": Value("int64"),
               "value": Value("float64"), "qualitative": Value("bool"),
               "options": List(Value("string")), "correct": Value("int64")})
    columns.update({"prompt": turns, "answer": Value("string"),
                    "category": Value("string"), "qa": qa})
    return Features(columns)


def _field_problem(name: str, value: Any) -> str | None:
    """Why one QA field does not fit its parquet column, or None (None values take the
    column's default)."""
    default = _QA_FIELDS[name]
    if value is None:
        return None
    if name == "value":
        fits = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if fits else "a number"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) \
            else "an integer"
    if isinstance(default, list):
        fits = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if fits else "a list of texts"
    return None if isinstance(value, str) else "text"


def _qa_row(qa: Mapping[str, Any]) -> dict[str, Any]:
    return {name: qa.get(name, default) if qa.get(name) is not None else default
            for name, default in _QA_FIELDS.items()}


@dataclass(frozen=True)
class _Item:
    """One record, checked: its id, its image file (inside the dataset) and its QAs."""

    name: str
    image: Path
    qas: list[Mapping[str, Any]]


def _checked(root: Path, records: list[dict[str, Any]]) -> list[_Item]:
    """Every record's id, image path and QAs, checked before anything is written, so a
    bad record stops the export with nothing exported (exit 2) rather than halfway.
    An image path must stay inside ``root`` (:func:`.layout.confined_path`)."""
    items = []
    for record in records:
        name = str(record.get("id", record["source"]["key"]))
        try:
            image = confined_path(root, record.get("image"))
        except DataIOError as error:
            raise DataIOError(f"record {name}: its image {error}; nothing was exported "
                              "(fix or remove the record)") from None
        qas = record.get("qa")
        if not isinstance(qas, list) or not all(isinstance(qa, Mapping) for qa in qas):
            raise DataIOError(f"record {name}: its 'qa' is not a list of QA objects; "
                              "nothing was exported (fix or remove the record)")
        for index, qa in enumerate(qas):
            for field_name in _QA_FIELDS.keys() & qa.keys():
                if (expected := _field_problem(field_name, qa[field_name])) is not None:
                    raise DataIOError(
                        f"record {name}: QA {index} field {field_name!r} must be "
                        f"{expected}, got {qa[field_name]!r:.60}; nothing was exported "
                        "(fix or remove the record)")
        items.append(_Item(name, image, qas))
    return items


def _rows(items: list[_Item], form: str, multiple_choice: bool) -> Iterator[dict[str, Any]]:
    for item in items:
        try:
            image = {"bytes": item.image.read_bytes(), "path": None}
        except OSError as error:
            raise DataIOError(f"record {item.name}: its image {item.image} cannot "
                              f"be read ({error.strerror or error})") from None
        qas = []
        for index, qa in enumerate(item.qas):
            lettered = as_multiple_choice(qa, f"{item.name}#{index}") \
                if multiple_choice else None
            qas.append(_qa_row(lettered or qa))
        if form == "sft":
            yield {"id": item.name, "images": [image], "messages": sft_messages(qas)}
            continue
        for index, qa in enumerate(qas):
            yield {"id": f"{item.name}#{index}", "images": [image],
                   "prompt": grpo_prompt(qa), "answer": qa["answer"],
                   "category": qa["category"], "qa": qa}


def _card(form: str, multiple_choice: bool, rows: int, shards: int, source: Path) -> str:
    column = "messages" if form == "sft" else "prompt, answer, category, qa"
    return f"""---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/*.parquet
tags:
- spatial-reasoning
- vqa
---
# Spatial VQA for TRL ({form})

<!-- {_MARK} -->
{rows} rows in {shards} parquet shards, exported from `{source.name}` by `spatial-vqa
to-trl` ({form}{", lettered multiple choice where a QA has two options" if multiple_choice
else ""}). Columns: `id`, `images` (one `datasets.Image`), {column}.

```python
from datasets import load_dataset
dataset = load_dataset("path/to/this/directory", split="train")
```
""" + ("""
GRPO: score completions with `spatial_vqa_ros.core.vqa.verify.make_reward_function()`
(it reads the `qa` column).
""" if form == "grpo" else "")


def _only_shards(out: Path) -> bool:
    """Whether ``out`` holds nothing but this export's shards (what an export stopped
    before its card, which is written last, leaves)."""
    data = out / "data"
    return ([p.name for p in out.iterdir()] == ["data"] and data.is_dir()
            and all(re.fullmatch(r"\.?train-\d{5,}\.parquet(?:\.tmp)?", p.name)
                    for p in data.iterdir()))


def _check_out(out: Path) -> None:
    card = out / "README.md"
    ours = card.is_file() and _MARK in card.read_text(encoding="utf-8", errors="replace")
    ours = ours or (out.is_dir() and _only_shards(out))
    if out.exists() and any(out.iterdir()) and not ours:
        raise DataIOError(f"{out} is not empty and holds no TRL export: choose a new "
                          "directory")


def export_trl(dataset_dir: str | Path, out: str | Path, *, form: str = "sft",
               multiple_choice: bool = False, shard_size: int = 1000) -> TrlExport:
    """Export the dataset at ``dataset_dir`` to ``out`` (see the module docstring)."""
    from datasets import Dataset

    if form not in FORMS:
        raise DataIOError(f"form must be one of {FORMS}, got {form!r}")
    if shard_size < 1:
        raise DataIOError(f"shard_size must be >= 1, got {shard_size}")
    root, out = Path(dataset_dir), Path(out)
    records = load_records(root)
    if not records:
        raise DataIOError(f"{root} holds no dataset records (data/shard-*.jsonl)")
    items = _checked(root, records)
    _check_out(out)
    (out / "data").mkdir(parents=True, exist_ok=True)
    for old in (*(out / "data").glob("train-*.parquet"),
                *(out / "data").glob(".train-*.parquet.tmp")):
        old.unlink()
    features = _features(form)
    rows = shards = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal shards
        path = out / "data" / f"train-{shards:05d}.parquet"
        scratch = path.with_name(f".{path.name}.tmp")
        Dataset.from_list(batch, features=features).to_parquet(str(scratch))
        os.replace(scratch, path)
        shards += 1
        batch.clear()

    for row in _rows(items, form, multiple_choice):
        batch.append(row)
        rows += 1
        if len(batch) >= shard_size:
            flush()
    if batch:
        flush()
    atomic_write(out / "README.md", _card(form, multiple_choice, rows, shards, root).encode())
    return TrlExport(rows, shards, out)

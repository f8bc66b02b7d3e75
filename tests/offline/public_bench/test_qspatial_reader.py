"""Q-Spatial Bench's released parquet read into questions (issue 25).

``data/qspatial_sample.json`` holds hand-written rows with the released columns
(question, answer_value, answer_unit, question_type, image_path, image), after the
official notebooks' rows: QSpatial_plus[41] ("the two speckled pattern stool chairs",
96 cm), the coffee-grinder and chair-height questions; values partly ours."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spatial_vqa_ros.offline.public_bench.qspatial import (
    parse_qspatial_question,
    read_qspatial,
)
from spatial_vqa_ros.offline.public_bench.questions import BenchFormatError

SAMPLE = Path(__file__).parent / "data" / "qspatial_sample.json"


def _parquet(tmp_path, rows, name="QSpatial_plus-00000-of-00001.parquet") -> Path:
    path = tmp_path / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def _rows() -> list[dict]:
    rows = json.loads(SAMPLE.read_text())
    for row in rows:  # the released struct: JPEG bytes (any bytes do for the reader)
        row["image"] = {"bytes": b"\xff\xd8jpeg", "path": "x.jpg"}
    return rows


@pytest.mark.parametrize(("question", "parsed"), [
    ("What is the minimum distance between the two speckled pattern stool chairs in the "
     "image?", ("gap", "speckled pattern stool chair", "speckled pattern stool chair")),
    ("What is the minimum distance between the coffee grinder and the base of the "
     "gooseneck kettle in the image?", ("gap", "coffee grinder",
                                        "base of the gooseneck kettle")),
    ("What is the height of the chair in the image?", ("height", "chair", "")),
    ("How far is the lamp from the door?", ("distance", "lamp", "door")),
    ("What is the vertical distance between the shelf and the floor lamp?",
     ("vertical_distance", "shelf", "floor lamp")),
    ("How wide is the sofa?", ("width", "sofa", "")),
    ("What is the length of the table?", None),
])
def test_questions_are_read_into_the_cores_relations(question, parsed):
    assert parse_qspatial_question(question) == parsed


def test_sample_rows_become_questions_with_truth_in_metres(tmp_path):
    read = read_qspatial(_parquet(tmp_path, _rows()).parent.parent)
    assert read.skipped == ()
    first = read.questions[0]
    assert first.qid == "QSpatial_plus:0" and first.relation == "gap"
    assert first.truth_m == pytest.approx(0.96)  # 96.0 centimeter
    assert first.qa["category"] == "distance" and first.image_bytes == b"\xff\xd8jpeg"
    assert read.questions[1].truth_m == pytest.approx(7.5 * 0.0254)  # inch
    assert read.questions[2].truth_m == pytest.approx(0.85)  # meter
    assert [q.category for q in read.questions][:3] == [
        "horizontal_distance", "horizontal_distance", "object_height"]


def test_rows_the_core_cannot_answer_are_skipped_with_the_reason(tmp_path):
    rows = _rows()
    rows[0]["answer_unit"] = "cubits"
    rows[1]["question"] = "What is the length of the kettle?"
    read = read_qspatial(_parquet(tmp_path, rows))
    assert len(read.questions) == len(rows) - 2
    assert dict(read.skipped) == {
        "QSpatial_plus:0": "unit 'cubits' is not in the benchmark's table",
        "QSpatial_plus:1": "no relation reads the question 'What is the length of the "
                           "kettle?'"}


def test_a_file_not_in_the_format_is_refused_naming_the_row(tmp_path):
    rows = _rows()
    rows[2]["answer_value"] = -1.0
    with pytest.raises(BenchFormatError, match=r"row 2: answer_value must be a number > 0"):
        read_qspatial(_parquet(tmp_path, rows))
    no_column = [{k: v for k, v in r.items() if k != "answer_unit"} for r in _rows()]
    with pytest.raises(BenchFormatError, match=r"no column answer_unit"):
        read_qspatial(_parquet(tmp_path, no_column, "other.parquet"))
    with pytest.raises(BenchFormatError, match=r"no parquet file"):
        read_qspatial(tmp_path / "empty_dir_that_is_missing")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(BenchFormatError, match=r"bad\.parquet: not a readable parquet"):
        read_qspatial(tmp_path / "bad.parquet")

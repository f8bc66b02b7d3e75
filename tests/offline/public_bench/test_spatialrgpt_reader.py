"""SpatialRGPT-Bench's released annotations read into questions (issue 25).

``data/spatialrgpt_sample.jsonl`` is hand-written in the released record format, after
the official evaluation's reader (llava/eval/eval_spatial.py) and real records: the
tutorial notebook's ``qualitative_1g1lvedTvh`` (below_choice), a real box pair of a
small_predicate, the paper's Fig. 8 answers (3.67 feet tall, 4.65 inches, 31.21 feet
apart horizontally) and the official judge's clock example; ids marked SAMPLE and the
RLE masks (rectangles) are ours."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spatial_vqa_ros.offline.public_bench.questions import (
    BenchFormatError,
    region_name,
    with_region_names,
)
from spatial_vqa_ros.offline.public_bench.spatialrgpt import read_spatialrgpt

SAMPLE = Path(__file__).parent / "data" / "spatialrgpt_sample.jsonl"


def _records() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]


def _write(tmp_path, records, *, array=True) -> Path:
    path = tmp_path / ("bench.json" if array else "bench.jsonl")
    path.write_text(json.dumps(records) if array else
                    "".join(json.dumps(r) + "\n" for r in records))
    return path


def test_every_sample_record_becomes_a_question_with_its_metric_truth():
    read = read_spatialrgpt(SAMPLE)
    assert read.skipped == ()
    by_id = {q.qid: q for q in read.questions}
    assert len(by_id) == 6
    choice = by_id["qualitative_1g1lvedTvh"]  # "Region [1] is below."
    assert (choice.category, choice.relation, choice.kind) == ("below_choice", "below",
                                                               "qualitative")
    assert choice.qa["truth"] == "false" and choice.qa["category"] == "below_choice"
    assert choice.question == "Who is lower down, Region A or Region B?"
    assert len(choice.regions) == 2 and choice.regions[0].rle is not None
    assert by_id["qualitative_SAMPLE00002"].qa["truth"] == "false"  # "No, ... not smaller"
    feet = by_id["quantitative_SAMPLE00003"]  # "3.67 feet tall"
    assert feet.relation == "height" and feet.object == ""
    assert feet.truth_m == pytest.approx(3.67 * 0.3048)
    assert by_id["quantitative_SAMPLE00004"].truth_m == pytest.approx(4.65 * 0.0254)
    boxes_only = by_id["quantitative_SAMPLE00005"]  # 31.21 feet apart horizontally
    assert boxes_only.relation == "horizontal_distance"
    assert all(r.rle is None for r in boxes_only.regions)
    assert boxes_only.truth_m == pytest.approx(31.21 * 0.3048)
    clock = by_id["quantitative_SAMPLE00006"]  # around the 2 o'clock direction
    assert (clock.relation, clock.qa["category"], clock.qa["value"]) == (
        "direction", "direction_clock", 2.0)
    assert clock.truth_m is None


def test_the_released_json_array_and_one_record_per_line_read_the_same(tmp_path):
    as_array = read_spatialrgpt(_write(tmp_path, _records(), array=True))
    as_lines = read_spatialrgpt(_write(tmp_path, _records(), array=False))
    assert as_array.questions == as_lines.questions


def test_region_names_carry_no_digits_for_the_length_reader():
    assert [region_name(k) for k in (0, 1, 25, 26)] == ["Region A", "Region B", "Region Z",
                                                         "Region AA"]
    assert with_region_names("Region [0] is 2 m from region[1].") == \
        "Region A is 2 m from Region B."


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r.pop("text_q"), r"record 2: no text_q"),
    (lambda r: r["qa_info"].pop("category"), r"record 2: no qa_info\.category"),
    (lambda r: (r.pop("rle"), r.update(bbox=[[1, 2, 3, 4]])),
     r"record 2: the question has 2 <mask> but bbox holds 1"),
    (lambda r: (r.pop("rle"), r.update(bbox=[[1, 2, 3], [0, 0, 4, 4]])),
     r"record 2: bbox 0 must be \[x1, y1, x2, y2\]"),
    (lambda r: r.update(bbox=[[5, 5, 1, 9], [0, 0, 4, 4]]), r"record 2: bbox 0 must be "),
    (lambda r: r.update(rle=[{"counts": "x"}]), r"record 2: rle must be one COCO RLE"),
    (lambda r: r.update(conversations=[{"from": "human", "value": "?"}]),
     r"record 2: conversations must hold the question and the answer"),
    (lambda r: r.update(id="qualitative_1g1lvedTvh"),
     r"record 2: id 'qualitative_1g1lvedTvh' appears twice"),
])
def test_a_record_not_in_the_format_stops_the_read_naming_its_place(tmp_path, change,
                                                                    message):
    records = _records()
    change(records[1])
    with pytest.raises(BenchFormatError, match=message):
        read_spatialrgpt(_write(tmp_path, records))


def test_a_broken_line_is_named_by_its_number(tmp_path):
    path = tmp_path / "bench.jsonl"
    path.write_text(SAMPLE.read_text().splitlines()[0] + "\n{not json\n")
    with pytest.raises(BenchFormatError, match=r"bench\.jsonl:2: not JSON"):
        read_spatialrgpt(path)


def test_records_the_core_cannot_answer_are_skipped_with_the_reason(tmp_path):
    records = _records()
    records[0]["qa_info"]["category"] = "count_data"
    records[2]["conversations"][1]["value"] = "It is quite tall."
    read = read_spatialrgpt(_write(tmp_path, records))
    assert len(read.questions) == 4
    assert dict(read.skipped) == {
        "qualitative_1g1lvedTvh": "category 'count_data' has no relation in the core",
        "quantitative_SAMPLE00003": "no length in the answer 'It is quite tall.'"}

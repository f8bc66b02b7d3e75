"""`spatial-vqa eval`: a model's answers to a written dataset, scored per category with
success rate and absolute relative error; answers that name no QA are an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dataset_support import SETTINGS, T0, dataset_item

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.core.vqa.evaluate import evaluate
from spatial_vqa_ros.io.datasets import DatasetWriter


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    with DatasetWriter(root, SETTINGS, shard_size=2) as writer:
        for i in range(4):
            writer.add(*dataset_item(i, value=1.0 + i))
    return root


def write_answers(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_answers_are_scored_per_category(dataset, tmp_path, capsys):
    rows = [{"id": f"bag/{T0 + i}", "qa": 1, "answer": answer} for i, answer in
            enumerate(["about 1 meter", "2.2 m", "It is 4 meters.", "no idea"])]
    rows += [{"id": f"bag/{T0 + i}", "answer": answer}
             for i, answer in enumerate(["Yes.", "No, it is to the right.", "yes", "Sure"])]
    out = tmp_path / "summary.json"
    code = main(["eval", str(dataset), str(write_answers(tmp_path / "a.jsonl", rows)),
                 "--out", str(out)])
    assert code == 0
    summary = json.loads(out.read_text())
    distance = summary["categories"]["distance"]
    # truths 1, 2, 3, 4 m: 1 right, 2.2 right (+10%), 4 for 3 wrong (+33%), one unreadable
    assert (distance["answers"], distance["readable"], distance["success_rate"]) == (4, 3, 0.5)
    assert distance["abs_rel_error_mean"] == pytest.approx((0 + 0.1 + 1 / 3) / 3)
    left = summary["categories"]["left_predicate"]
    assert (left["answers"], left["readable"], left["success_rate"]) == (4, 3, 0.5)
    assert summary["overall"]["answers"] == 8
    printed = capsys.readouterr().out
    assert "distance" in printed and "50.0%" in printed


def test_a_stricter_mode_changes_the_score(dataset, tmp_path):
    rows = [{"id": f"bag/{T0 + 1}", "qa": 1, "answer": "2.2 m"}]
    answers = write_answers(tmp_path / "a.jsonl", rows)
    for mode, success in (("within", 1.0), ("exact", 0.0)):
        out = tmp_path / f"{mode}.json"
        assert main(["eval", str(dataset), str(answers), "--mode", mode, "--out",
                     str(out)]) == 0
        assert json.loads(out.read_text())["overall"]["success_rate"] == success


@pytest.mark.parametrize(("row", "message"), [
    ({"id": "bag/1", "answer": "yes"}, "no record with id 'bag/1'"),
    ({"id": f"bag/{T0}", "qa": 5, "answer": "yes"}, "has 2 QAs, not index 5"),
    ({"id": f"bag/{T0}", "answer": 3}, "'answer' must be text"),
])
def test_answers_that_name_no_qa_are_errors(dataset, tmp_path, capsys, row, message):
    code = main(["eval", str(dataset), str(write_answers(tmp_path / "a.jsonl", [row]))])
    assert code == 2 and message in capsys.readouterr().err


def test_unreadable_inputs_exit_2(dataset, tmp_path, capsys):
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    assert main(["eval", str(dataset), str(broken)]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "empty"), str(broken)]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["eval", str(tmp_path / "empty"), str(broken)]) == 2
    assert "holds no dataset records" in capsys.readouterr().err


def test_a_records_file_works_like_a_dataset_directory(dataset, tmp_path):
    from spatial_vqa_ros.io.datasets import load_records

    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in load_records(dataset)))
    answers = write_answers(tmp_path / "a.jsonl", [{"id": f"bag/{T0}", "answer": "Yes."}])
    out = tmp_path / "s.json"
    assert main(["eval", str(records), str(answers), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["overall"]["success_rate"] == 1.0


def test_evaluate_without_answers_reports_nothing_as_none():
    summary = evaluate([]).as_dict()
    assert summary["overall"]["success_rate"] is None and summary["categories"] == {}


def strict_json(text: str) -> dict:
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_unreadable_lines_are_reported_and_counted_and_the_rest_scored(dataset, tmp_path,
                                                                      capsys):
    good = json.dumps({"id": f"bag/{T0}", "answer": "Yes."})
    answers = tmp_path / "a.jsonl"
    answers.write_bytes(b"\n".join([good.encode(), b"[" * 100_000 + b"]" * 100_000,
                                    b'{"id": "\xff\xfe", "answer": "yes"}', b"[1]",
                                    good.encode()]) + b"\n")
    out = tmp_path / "s.json"
    assert main(["eval", str(dataset), str(answers), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{answers}:2: JSON nested too deep to read" in err
    assert f"{answers}:3: not UTF-8 text (byte 0xff at column 9)" in err
    assert f"{answers}:4: an answer must be a JSON object" in err
    assert "3 lines could not be scored (see above); 2 answers were" in err
    assert "Traceback" not in err
    summary = strict_json(out.read_text())
    assert (summary["overall"]["answers"], summary["unscored"]) == (2, 3)


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe\x00{\n\x80\x81\n", "2: not UTF-8 text"),
    (b"[" * 100_000 + b"\n", "1: JSON nested too deep to read"),
])
def test_a_file_with_no_readable_line_exits_2(dataset, tmp_path, capsys, content, message):
    answers = tmp_path / "a.jsonl"
    answers.write_bytes(content)
    assert main(["eval", str(dataset), str(answers)]) == 2
    err = capsys.readouterr().err
    assert f"{answers}:{message}" in err and "holds no answer that can be scored" in err
    assert "Traceback" not in err


def test_out_is_strict_json_for_an_absurdly_long_number(dataset, tmp_path):
    rows = [{"id": f"bag/{T0 + i}", "qa": 1, "answer": answer} for i, answer in
            enumerate(["1" * 400 + " m", "9" * 300 + " m", "9" * 300 + " m", "1 m"])]
    out = tmp_path / "s.json"
    assert main(["eval", str(dataset), str(write_answers(tmp_path / "a.jsonl", rows)),
                 "--out", str(out)]) == 0
    distance = strict_json(out.read_text())["categories"]["distance"]
    assert (distance["answers"], distance["readable"]) == (4, 3)  # 1e400 m is no number
    # truths 2, 3, 4 m: errors about 1e300 / 2, 1e300 / 3 and 0.75
    assert distance["abs_rel_error_mean"] == pytest.approx((1e300 / 2 + 1e300 / 3) / 3,
                                                           rel=1e-3)


def test_out_goes_into_a_folder_made_for_it(dataset, tmp_path):
    rows = [{"id": f"bag/{T0}", "qa": 1, "answer": "1 m"}]
    out = tmp_path / "new" / "folder" / "s.json"
    assert main(["eval", str(dataset), str(write_answers(tmp_path / "a.jsonl", rows)),
                 "--out", str(out)]) == 0
    assert strict_json(out.read_text())["overall"]["answers"] == 1


def test_qa_true_is_not_index_1(dataset, tmp_path, capsys):
    rows = [{"id": f"bag/{T0}", "qa": True, "answer": "1 m"},
            {"id": f"bag/{T0}", "qa": 1, "answer": "1 m"}]
    out = tmp_path / "s.json"
    assert main(["eval", str(dataset), str(write_answers(tmp_path / "a.jsonl", rows)),
                 "--out", str(out)]) == 1
    assert "has 2 QAs, not index True" in capsys.readouterr().err
    assert strict_json(out.read_text())["overall"]["answers"] == 1


def test_only_the_first_20_line_errors_are_printed(dataset, tmp_path, capsys):
    answers = tmp_path / "a.jsonl"
    answers.write_text("{bad\n" * 25 + json.dumps({"id": f"bag/{T0}", "answer": "Yes."}))
    assert main(["eval", str(dataset), str(answers)]) == 1
    err = capsys.readouterr().err
    assert err.count("not JSON") == 20 and "... and 5 more lines that cannot be scored" in err


def test_bad_lines_of_a_records_file_are_counted_too(dataset, tmp_path, capsys):
    from spatial_vqa_ros.io.datasets import load_records

    records = tmp_path / "records.jsonl"
    records.write_bytes(b"\xff\n" + b'{"no": "id"}\n' + b"".join(
        json.dumps(r).encode() + b"\n" for r in load_records(dataset)))
    answers = write_answers(tmp_path / "a.jsonl", [{"id": f"bag/{T0}", "answer": "Yes."}])
    assert main(["eval", str(records), str(answers)]) == 1
    err = capsys.readouterr().err
    assert f"{records}:1: not UTF-8 text" in err and f"{records}:2: a record without an 'id'" \
        in err


def test_a_megabyte_answer_is_scored_unreadable_at_once(dataset, tmp_path):
    import time

    rows = [{"id": f"bag/{T0}", "answer": "the mug is left of the box " * 40_000}]
    out = tmp_path / "s.json"
    start = time.perf_counter()
    assert main(["eval", str(dataset), str(write_answers(tmp_path / "a.jsonl", rows)),
                 "--out", str(out)]) == 0
    assert time.perf_counter() - start < 5.0
    assert strict_json(out.read_text())["overall"]["readable"] == 0


def test_eval_help_states_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "0 every answer scored, 1 some lines could not be scored" in help_text
    assert "2 nothing scored" in help_text

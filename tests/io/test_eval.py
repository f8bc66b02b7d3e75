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

"""TRL export: SFT and GRPO parquet that load with one load_dataset call, images decoded,
chat turns typed; GRPO rows score their own reference answer 1 with the verifier;
lettered multiple choice puts the right answer under both letters across rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dataset_support import SETTINGS, dataset_item

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.core.vqa.messages import as_multiple_choice
from spatial_vqa_ros.core.vqa.verify import make_reward_function, score_answer
from spatial_vqa_ros.io.datasets import DatasetWriter, load_records
from spatial_vqa_ros.io.datasets.trl import export_trl
from spatial_vqa_ros.io.errors import DataIOError

datasets = pytest.importorskip("datasets")


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    with DatasetWriter(root, SETTINGS, shard_size=2) as writer:
        for i in range(5):
            writer.add(*dataset_item(i, value=1.0 + i))
    return root


def load(path: Path, cache: Path):
    return datasets.load_dataset(str(path), split="train", cache_dir=str(cache))


def test_sft_rows_are_one_conversation_per_image(dataset, tmp_path):
    result = export_trl(dataset, tmp_path / "sft", shard_size=2)
    assert (result.rows, result.shards) == (5, 3)
    loaded = load(tmp_path / "sft", tmp_path / "cache")
    assert len(loaded) == 5
    row = loaded[0]
    assert row["images"][0].size == (8, 6)
    messages = row["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert messages[0]["content"][0]["type"] == "image"
    assert messages[0]["content"][1] == {"type": "text", "text": "Is the mug left of the box?"}
    assert messages[1]["content"] == [{"type": "text", "text": "Yes."}]
    assert messages[2]["content"][0]["type"] == "text"  # the image comes once


def test_grpo_rows_carry_the_truth_the_verifier_scores(dataset, tmp_path):
    export_trl(dataset, tmp_path / "grpo", form="grpo")
    loaded = load(tmp_path / "grpo", tmp_path / "cache")
    assert len(loaded) == 10 and loaded[1]["id"].endswith("#1")
    reward = make_reward_function()
    assert reward(loaded["answer"], qa=loaded["qa"]) == [1.0] * 10
    wrong = ["No." if row["category"] == "left_predicate" else "9 m" for row in loaded]
    assert reward(wrong, qa=loaded["qa"]) == [0.0] * 10
    assert loaded[0]["prompt"][0]["content"][0]["type"] == "image"


def test_multiple_choice_letters_are_balanced_and_verifiable(dataset, tmp_path):
    export_trl(dataset, tmp_path / "mc", form="grpo", multiple_choice=True)
    loaded = load(tmp_path / "mc", tmp_path / "cache")
    lettered = [row for row in loaded if row["qa"]["options"]]
    assert len(lettered) == 5  # the predicates; distances stay open questions
    for row in lettered:
        assert "(A) yes\n(B) no" in row["prompt"][0]["content"][1]["text"]
        assert score_answer(row["qa"], row["answer"]).reward == 1.0
        assert score_answer(row["qa"], "(B)").reward == 0.0  # the truth is "yes"
    qa = {"category": "tall_choice", "truth": "true", "subject_text": "the mug",
          "object_text": "the lamp", "question": "Which is taller, the mug or the lamp?",
          "answer": "The mug."}
    correct = {as_multiple_choice(qa, f"img/{k}#0")["correct"] for k in range(20)}
    assert correct == {0, 1}
    for k in range(20):
        lettered_qa = as_multiple_choice(qa, f"img/{k}#0")
        assert score_answer(lettered_qa, lettered_qa["answer"]).reward == 1.0
        assert lettered_qa["options"][lettered_qa["correct"]] == "the mug"


def test_export_refuses_foreign_directories_and_rewrites_its_own(dataset, tmp_path, capsys):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(DataIOError, match="holds no TRL export"):
        export_trl(dataset, tmp_path / "busy")
    export_trl(dataset, tmp_path / "out", shard_size=1)
    export_trl(dataset, tmp_path / "out", shard_size=10)  # again: old shards replaced
    assert len(list((tmp_path / "out" / "data").glob("*.parquet"))) == 1
    assert main(["to-trl", str(tmp_path / "nothing"), str(tmp_path / "x")]) == 2
    assert "holds no dataset records" in capsys.readouterr().err
    assert main(["to-trl", str(dataset), str(tmp_path / "cli"), "--form", "grpo"]) == 0


def point_image_at(dataset: Path, image: str, record: int = 1) -> str:
    """Rewrite record ``record``'s image path in its shard; that record's id."""
    shard = sorted((dataset / "data").glob("shard-*.jsonl"))[0]
    lines = shard.read_text().splitlines()
    row = json.loads(lines[record])
    row["image"] = image
    lines[record] = json.dumps(row)
    shard.write_text("\n".join(lines) + "\n")
    return row["id"]


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink", "symlinked_dir"])
def test_an_image_path_leaving_the_dataset_is_refused_naming_the_record(
        dataset, tmp_path, capsys, how):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"SECRET-BYTES-0123456789")
    if how == "dotdot":
        image = "../" * 12 + str(secret).lstrip("/")
    elif how == "absolute":
        image = str(secret)
    elif how == "symlink":
        (dataset / "images" / "link.jpg").symlink_to(secret)
        image = "images/link.jpg"
    else:
        (dataset / "images" / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
        image = "images/elsewhere/secret.txt"
    record_id = point_image_at(dataset, image)
    out = tmp_path / "out"
    assert main(["to-trl", str(dataset), str(out), "--form", "grpo"]) == 2
    err = capsys.readouterr().err
    assert f"record {record_id}: its image" in err and "outside the dataset" in err
    assert "nothing was exported" in err and "Traceback" not in err
    assert not out.exists()  # checked before anything is written: no secret bytes out


def test_a_dotdot_image_path_is_refused_by_its_spelling_even_inside_the_dataset(dataset, tmp_path):
    point_image_at(dataset, f"data/../{load_records(dataset)[1]['image']}")
    with pytest.raises(DataIOError, match="outside the dataset directory"):
        export_trl(dataset, tmp_path / "out")


def test_an_export_stopped_before_its_card_can_be_run_again(dataset, tmp_path):
    out = tmp_path / "out"
    (out / "data").mkdir(parents=True)
    (out / "data" / "train-00000.parquet").write_bytes(b"half")
    (out / "data" / ".train-00001.parquet.tmp").write_bytes(b"scratch")
    assert export_trl(dataset, out).rows == 5
    assert sorted(p.name for p in (out / "data").iterdir()) == ["train-00000.parquet"]


def test_a_record_without_a_qa_list_is_refused_before_anything_is_written(dataset, tmp_path):
    shard = sorted((dataset / "data").glob("shard-*.jsonl"))[0]
    lines = shard.read_text().splitlines()
    row = json.loads(lines[0])
    row["qa"] = "none"
    shard.write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")
    with pytest.raises(DataIOError, match=f"record {row['id']}: its 'qa' is not a list"):
        export_trl(dataset, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_shard_line_nested_too_deep_is_a_clear_error(dataset, tmp_path, capsys):
    shard = sorted((dataset / "data").glob("shard-*.jsonl"))[0]
    shard.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    assert main(["to-trl", str(dataset), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "RecursionError" in err and "cannot be read" in err and "Traceback" not in err


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("value", "abc", "a number"), ("subject_id", True, "an integer"),
    ("options", [1, 2], "a list of texts"), ("question", 3, "text"),
    ("qualitative", "no", "true or false")])
def test_a_qa_field_of_the_wrong_type_is_refused_naming_it(dataset, tmp_path, field, value,
                                                           expected):
    shard = sorted((dataset / "data").glob("shard-*.jsonl"))[0]
    lines = shard.read_text().splitlines()
    row = json.loads(lines[0])
    row["qa"][1][field] = value
    shard.write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")
    with pytest.raises(DataIOError, match=f"record {row['id']}: QA 1 field '{field}' must "
                       f"be {expected}, got .*nothing was exported"):
        export_trl(dataset, tmp_path / "out", form="grpo")
    assert not (tmp_path / "out").exists()

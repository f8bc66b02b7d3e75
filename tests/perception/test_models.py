"""The model registry, local weights and `spatial-vqa models`: names resolve to local
snapshots, missing weights say how to get them, and nothing reaches the network."""

from __future__ import annotations

import json
import struct

import pytest

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.models.pull import pull
from spatial_vqa_ros.perception.models.registry import ModelEntry, is_present, load_registry
from spatial_vqa_ros.perception.models.snapshots import resolve_model_dir, snapshot_problem


def safetensors_bytes() -> bytes:
    """A whole safetensors file of one 4-byte tensor."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})
    return struct.pack("<Q", len(header)) + header.encode() + b"\0" * 4


def snapshot(directory):
    """A stand-in transformers snapshot: what `is_present` looks for, sound."""
    directory.mkdir(parents=True)
    (directory / "config.json").write_text("{}")
    (directory / "model.safetensors").write_bytes(safetensors_bytes())
    return directory


def test_the_shipped_registry_names_a_model_for_every_family_role():
    registry = load_registry()
    roles = {entry.role for entry in registry.entries.values()}
    assert roles == {"depth", "detector", "segmenter", "tracker", "tagger", "captioner"}
    import importlib.util

    for entry in registry.entries.values():  # every family named has its adapter module
        package = "trackers" if entry.role == "tracker" else "families"
        module = f"spatial_vqa_ros.perception.{package}.{entry.family}"
        assert importlib.util.find_spec(module) is not None, entry
    assert registry.get("sam_vit_base").checkpoint == "facebook/sam-vit-base"
    with pytest.raises(PerceptionError, match="no model called 'sam_huge'"):
        registry.get("sam_huge")


def test_a_name_resolves_to_its_snapshot_and_a_missing_one_names_the_pull(tmp_path):
    with pytest.raises(PerceptionError, match="spatial-vqa models pull sam_vit_base"):
        resolve_model_dir("sam_vit_base", models_dir=tmp_path)
    snapshot(tmp_path / "sam_vit_base")
    assert resolve_model_dir("sam_vit_base", models_dir=tmp_path) == tmp_path / "sam_vit_base"


def test_a_path_resolves_to_itself_and_must_hold_weights(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(PerceptionError, match="model weights not found"):
        resolve_model_dir(str(tmp_path / "empty"))
    assert resolve_model_dir(str(snapshot(tmp_path / "mine"))) == tmp_path / "mine"
    with pytest.raises(PerceptionError, match="no model named"):
        resolve_model_dir("")


def test_bad_registry_rows_and_files_are_refused(tmp_path):
    with pytest.raises(PerceptionError, match="role must be one of"):
        ModelEntry("x", "classifier", "owlv2", "google/owlv2")
    bad = tmp_path / "models.yaml"
    bad.write_text("models:\n  x: {role: depth}\n")
    with pytest.raises(PerceptionError, match="model registry"):
        load_registry(bad)
    with pytest.raises(PerceptionError, match="cannot read the model registry"):
        load_registry(tmp_path / "none.yaml")


def test_a_row_with_the_retired_runtime_and_precision_keys_loads_as_one_without(tmp_path):
    """runtime/precision were validated but never read (the runtime is the chain's
    perception_runtime): an older registry still loads, to the same entry."""
    row = "role: detector, family: owlv2, checkpoint: google/owlv2, licence: mit"
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(f"models:\n  x: {{{row}, runtime: torch, precision: fp16}}\n")
    new.write_text(f"models:\n  x: {{{row}}}\n")
    assert load_registry(old).entries == load_registry(new).entries
    assert not hasattr(load_registry(old).get("x"), "runtime")
    old.write_text(f"models:\n  x: {{{row}, runtimes: torch}}\n")  # only those two
    with pytest.raises(PerceptionError, match="model registry .*'runtimes'"):
        load_registry(old)


def test_the_shipped_registry_names_no_runtime_or_precision():
    text = (load_registry().path).read_text(encoding="utf-8")
    assert "runtime:" not in text and "precision:" not in text


def test_pull_without_network_says_what_to_copy_where(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = load_registry().get("owlv2_base_ensemble")
    with pytest.raises(PerceptionError, match=r"huggingface-cli download google/owlv2"):
        pull(entry, tmp_path)
    assert not is_present(tmp_path / entry.name)
    snapshot(tmp_path / entry.name)
    assert pull(entry, tmp_path) == tmp_path / entry.name  # present: nothing to fetch


def test_the_models_command_lists_and_pulls(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from spatial_vqa_ros.perception.runtime.engine_cache import EngineCache, EngineKey

    snapshot(tmp_path / "sam_vit_base")
    engines = EngineCache(tmp_path / "engines")
    for shapes in ("1x3x1024x1024", "1x3x512x512"):  # two engines of one graph
        engines.put(EngineKey("c", "g", shapes, "fp16", "10.3", "Orin", "8.7"), b"engine",
                    source="sam_vit_base/encoder.onnx")
    assert main(["models", "list", "--models-dir", str(tmp_path), "--engines-dir",
                 str(tmp_path / "engines")]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["sam_vit_base"][3:6] == ["yes", "no", "2"]  # present, not exported, engines
    assert rows["grounding_dino_tiny"][3:6] == ["no", "no", "0"]
    assert main(["models", "pull", "grounding_dino_tiny", "--models-dir", str(tmp_path)]) == 2
    assert "copy <dir> to" in capsys.readouterr().err


def test_a_models_directory_that_is_a_file_is_refused(tmp_path, monkeypatch, capsys):
    afile = tmp_path / "models"
    afile.write_text("not a directory")
    monkeypatch.setenv("SPATIAL_VQA_MODELS", str(afile))
    with pytest.raises(PerceptionError, match=r"\$SPATIAL_VQA_MODELS is .*models, which is "
                       "not a directory"):
        resolve_model_dir("sam_vit_base")
    assert main(["models", "list"]) == 2
    assert "$SPATIAL_VQA_MODELS is" in capsys.readouterr().err
    assert main(["models", "pull", "sam_vit_base"]) == 2
    assert "not a directory" in capsys.readouterr().err
    monkeypatch.delenv("SPATIAL_VQA_MODELS")
    assert main(["models", "list", "--models-dir", str(afile)]) == 2
    assert "the models directory is" in capsys.readouterr().err


@pytest.mark.parametrize("damage,problem", [
    ({"model.safetensors": b"\x00garbage" * 10}, "model.safetensors is not safetensors"),
    ({"model.safetensors": safetensors_bytes()[:-2]}, "model.safetensors is truncated"),
    ({"model.safetensors": b"abc"}, "model.safetensors is truncated"),
    ({"config.json": b"[]"}, "config.json holds a list, not a JSON object"),
    ({"config.json": b"{"}, "config.json is unreadable"),
    ({".cache/huggingface/download/preprocessor_config.json.metadata": b"x"},
     "preprocessor_config.json was downloaded but is gone"),
])
def test_a_broken_snapshot_is_named_without_loading_it(tmp_path, damage, problem):
    directory = snapshot(tmp_path / "m")
    assert snapshot_problem(directory) is None
    for name, content in damage.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(content)
    assert problem in snapshot_problem(directory)


def fake_hub(monkeypatch, write: bool):
    """snapshot_download replaced: records its calls; ``write`` puts a sound snapshot in
    place (the hub reached), else leaves the folder as it is (offline)."""
    import huggingface_hub

    calls = []

    def snapshot_download(repo_id, local_dir, force_download=False):
        calls.append((repo_id, force_download))
        if write:
            local_dir.mkdir(parents=True, exist_ok=True)
            (local_dir / "config.json").write_text("{}")
            (local_dir / "model.safetensors").write_bytes(safetensors_bytes())
        return str(local_dir)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return calls


def test_pulling_a_corrupt_snapshot_again_fetches_it_whole(tmp_path, monkeypatch):
    entry = load_registry().get("owlv2_base_ensemble")
    directory = snapshot(tmp_path / entry.name)
    (directory / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    calls = fake_hub(monkeypatch, write=True)
    assert pull(entry, tmp_path) == directory
    assert calls == [("google/owlv2-base-patch16-ensemble", True)]
    assert snapshot_problem(directory) is None
    assert pull(entry, tmp_path) == directory  # sound: checked, not forced
    assert calls[-1] == ("google/owlv2-base-patch16-ensemble", False)


def test_a_corrupt_snapshot_the_hub_cannot_replace_is_not_called_pulled(tmp_path, monkeypatch,
                                                                       capsys):
    entry = load_registry().get("owlv2_base_ensemble")
    directory = snapshot(tmp_path / entry.name)
    (directory / "config.json").write_text("[]")
    fake_hub(monkeypatch, write=False)  # offline: the hub hands the folder back as it is
    with pytest.raises(PerceptionError, match=r"still corrupt after pulling \(config.json "
                       "holds a list"):
        pull(entry, tmp_path)
    assert main(["models", "list", "--models-dir", str(tmp_path)]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows[entry.name][3] == "corrupt"


def test_pulling_several_models_reports_each_and_exits_1_when_some_failed(tmp_path,
                                                                          monkeypatch,
                                                                          capsys):
    fake_hub(monkeypatch, write=True)
    assert main(["models", "pull", "sam_vit_base", "sam_huge", "--models-dir",
                 str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert f"sam_vit_base: {tmp_path / 'sam_vit_base'}" in captured.out
    assert "sam_huge: no model called 'sam_huge'" in captured.err
    assert main(["models", "pull", "sam_huge", "--models-dir", str(tmp_path)]) == 2
    assert main(["models", "pull", "--models-dir", str(tmp_path)]) == 2
    assert "name the models to pull" in capsys.readouterr().err

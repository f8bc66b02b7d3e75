"""The model registry, local weights and `spatial-vqa models`: names resolve to local
snapshots, missing weights say how to get them, and nothing reaches the network."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.models.pull import pull
from spatial_vqa_ros.perception.models.registry import (
    ModelEntry,
    is_present,
    load_registry,
    resolve_model_dir,
)


def snapshot(directory):
    """A stand-in transformers snapshot: what `is_present` looks for."""
    directory.mkdir(parents=True)
    (directory / "config.json").write_text("{}")
    (directory / "model.safetensors").write_bytes(b"weights")
    return directory


def test_the_shipped_registry_names_a_model_for_every_family_role():
    registry = load_registry()
    roles = {entry.role for entry in registry.entries.values()}
    assert roles == {"depth", "detector", "segmenter", "tagger", "captioner"}
    import importlib.util

    for entry in registry.entries.values():  # every family named has its adapter module
        module = f"spatial_vqa_ros.perception.families.{entry.family}"
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

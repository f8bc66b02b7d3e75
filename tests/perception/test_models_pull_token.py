"""``models pull`` and gated weights (SAM 3): the hub token comes from the environment
(HF_TOKEN, else HUGGING_FACE_HUB_TOKEN), a missing one is said before anything is
tried, and an access failure says what to check. No network: sockets are blocked and
``snapshot_download`` is a recording double."""

from __future__ import annotations

import socket

import pytest
from test_models import safetensors_bytes, snapshot

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.models.pull import hub_token, is_gated, pull
from spatial_vqa_ros.perception.models.registry import load_registry


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network blocked in this test")
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for variable in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(variable, raising=False)


def recording_hub(monkeypatch, fail: Exception | None = None):
    """snapshot_download replaced: records (repo, keyword arguments), writes a sound
    snapshot, or raises ``fail``."""
    import huggingface_hub

    calls = []

    def snapshot_download(repo_id, local_dir, **kwargs):
        calls.append((repo_id, kwargs))
        if fail is not None:
            raise fail
        local_dir.mkdir(parents=True, exist_ok=True)
        (local_dir / "config.json").write_text("{}")
        (local_dir / "model.safetensors").write_bytes(safetensors_bytes())
        return str(local_dir)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return calls


def test_sam3_checkpoints_are_gated_and_the_others_are_not():
    registry = load_registry()
    assert is_gated(registry.get("sam3")) and is_gated(registry.get("sam3_tracker"))
    assert not is_gated(registry.get("owlv2_base_ensemble"))


def test_the_token_is_read_from_hf_token_then_the_older_name(monkeypatch):
    assert hub_token() is None
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", "hf_old")
    assert hub_token() == "hf_old"
    monkeypatch.setenv("HF_TOKEN", "  ")  # blank: not a token
    assert hub_token() == "hf_old"
    monkeypatch.setenv("HF_TOKEN", "hf_new")
    assert hub_token() == "hf_new"


def test_a_gated_checkpoint_without_a_token_says_so_and_tries_nothing(tmp_path, monkeypatch):
    calls = recording_hub(monkeypatch)
    with pytest.raises(PerceptionError, match=r"facebook/sam3 is gated on the hub "
                       r"\(sam-license\): accept its licence at https://huggingface.co/"
                       r"facebook/sam3 .* set HF_TOKEN \(or HUGGING_FACE_HUB_TOKEN\)"):
        pull(load_registry().get("sam3"), tmp_path)
    assert calls == [] and not (tmp_path / "sam3").exists()


def test_a_gated_snapshot_already_there_needs_no_token(tmp_path, monkeypatch):
    calls = recording_hub(monkeypatch)
    directory = snapshot(tmp_path / "sam3")
    assert pull(load_registry().get("sam3"), tmp_path) == directory and calls == []


@pytest.mark.parametrize("variable", ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"])
def test_a_gated_checkpoint_is_fetched_with_the_environments_token(tmp_path, monkeypatch,
                                                                   variable):
    monkeypatch.setenv(variable, "hf_secret")
    calls = recording_hub(monkeypatch)
    assert pull(load_registry().get("sam3"), tmp_path) == tmp_path / "sam3"
    assert calls == [("facebook/sam3", {"force_download": False, "token": "hf_secret"})]


def test_an_open_checkpoint_is_fetched_without_a_token_argument(tmp_path, monkeypatch):
    calls = recording_hub(monkeypatch)
    pull(load_registry().get("owlv2_base_ensemble"), tmp_path)
    assert calls == [("google/owlv2-base-patch16-ensemble", {"force_download": False})]


def test_a_refused_gated_download_asks_whether_the_licence_was_accepted(tmp_path,
                                                                       monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    recording_hub(monkeypatch, fail=PermissionError("401 Client Error: gated repo"))
    with pytest.raises(PerceptionError, match=r"\(PermissionError: 401 Client Error: gated "
                       r"repo\)\. facebook/sam3 is gated: has the account of the token in "
                       r"HF_TOKEN accepted its licence"):
        pull(load_registry().get("sam3"), tmp_path)


def test_the_models_command_exits_2_naming_the_missing_token(tmp_path, monkeypatch, capsys):
    recording_hub(monkeypatch)
    assert main(["models", "pull", "sam3", "--models-dir", str(tmp_path)]) == 2
    assert "set HF_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    assert main(["models", "pull", "sam3", "--models-dir", str(tmp_path)]) == 0
    assert f"sam3: {tmp_path / 'sam3'}" in capsys.readouterr().out

"""The settings a dataset records (offline/bag2dataset/config.py), and those of an older
version: version 1 spelled four perception keys as before issue 20 (``depth``,
``runtime``, ``device``, ``score_threshold``); they are still read, and a directory
written with them still resumes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from bag_support import CONFIG, write_bag

from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.offline.bag2dataset import Bag2DatasetConfig, bag2dataset, source_from_spec
from spatial_vqa_ros.offline.bag2dataset.config import SETTINGS_VERSION, current_settings
from spatial_vqa_ros.offline.bag2dataset.sources import BagSource
from spatial_vqa_ros.perception.factories import OLD_FIELD_NAMES, PerceptionSpec

#: A chain with every renamed field away from its default.
SPEC = PerceptionSpec(depth_estimator="some.plugin:Depth", detector="opencv_dnn",
                      segmenter="depth_box", detector_model="/models/ssd.pb",
                      perception_runtime="onnxruntime", perception_device="cpu",
                      detector_score_threshold=0.4)


def in_old_spelling(settings: dict) -> dict:
    """``settings`` as version 1 wrote them: no version key, the old perception names."""
    new_to_old = {new: old for old, new in OLD_FIELD_NAMES.items()}
    old = {key: value for key, value in settings.items() if key != "settings_version"}
    old["perception"] = {new_to_old.get(key, key): value
                         for key, value in settings["perception"].items()}
    return old


def test_settings_carry_their_version_and_the_node_parameter_names() -> None:
    settings = replace(CONFIG, perception=SPEC).settings()
    assert settings["settings_version"] == SETTINGS_VERSION == 2
    assert {"depth_estimator", "perception_runtime", "perception_device",
            "detector_score_threshold"} <= set(settings["perception"])
    assert not set(OLD_FIELD_NAMES) & set(settings["perception"])


def test_settings_in_the_old_spelling_read_as_the_same_config() -> None:
    config = replace(CONFIG, perception=SPEC)
    settings = json.loads(json.dumps(config.settings()))
    old = in_old_spelling(settings)
    assert old["perception"]["runtime"] == "onnxruntime"  # the fixture is in the old form
    assert Bag2DatasetConfig.from_settings(old, CONFIG.shard_size) == config
    assert current_settings(old) == settings


def test_settings_of_a_newer_version_are_refused_naming_it() -> None:
    settings = {**CONFIG.settings(), "settings_version": SETTINGS_VERSION + 1}
    with pytest.raises(DataIOError, match=r"settings version 3 is not one this "
                       r"spatial_vqa_ros reads \(1 to 2\)"):
        Bag2DatasetConfig.from_settings(settings)


def test_old_settings_naming_a_field_in_both_spellings_are_refused() -> None:
    old = in_old_spelling(CONFIG.settings())
    old["perception"]["perception_device"] = "cuda"
    with pytest.raises(DataIOError, match="name both 'device' and 'perception_device'"):
        Bag2DatasetConfig.from_settings(old)


def test_a_dataset_written_in_the_old_spelling_resumes_and_is_then_in_the_new(
        tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "lab", 1, n_frames=2)
    out = tmp_path / "out"
    bag2dataset([bag], out, CONFIG, progress=False)
    manifest_path = out / "progress.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["settings"] = in_old_spelling(manifest["settings"])
    manifest_path.write_text(json.dumps(manifest))
    summary = bag2dataset([bag], out, CONFIG, progress=False)  # not "other settings"
    assert summary.skipped_complete == ["lab"]
    settings = json.loads(manifest_path.read_text())["settings"]
    assert settings == json.loads(json.dumps(CONFIG.settings()))
    # what is really other is still refused
    manifest["settings"]["perception"]["device"] = "cpu"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(DataIOError, match="written with other settings"):
        bag2dataset([bag], out, CONFIG, progress=False)


def test_a_source_spec_in_the_old_spelling_rebuilds_the_same_source(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "lab", 1, n_frames=1)
    spec = json.loads(json.dumps(BagSource(bag, perception=SPEC).spec()))
    spec["perception"] = in_old_spelling({"perception": spec["perception"]})["perception"]
    assert "score_threshold" in spec["perception"]
    assert source_from_spec(spec).perception == SPEC


def test_the_gates_age_limit_is_in_the_settings_only_when_it_is_not_the_default() -> None:
    plain = CONFIG.settings()
    assert set(plain["synthesis"]["margins"]) == {"position_m", "sigmas", "size_m", "size_rel",
                                                  "volume_rel"}  # as before it existed
    assert Bag2DatasetConfig.from_settings(plain, CONFIG.shard_size) == CONFIG
    strict = replace(CONFIG, synthesis=replace(
        CONFIG.synthesis, margins=replace(CONFIG.synthesis.margins, max_detection_age_s=0.5)))
    settings = json.loads(json.dumps(strict.settings()))
    assert settings["synthesis"]["margins"]["max_detection_age_s"] == 0.5
    assert Bag2DatasetConfig.from_settings(settings, CONFIG.shard_size) == strict

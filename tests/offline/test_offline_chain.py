"""The offline tools run the perception chain: an RGB-D bag without instance topics (the
real Middlebury frame, recorded as an RGB-D camera would) through ``scenes`` and
``bag2dataset`` with a model chain, the simulation chain's clear failure on it, missing
depth, and bad perception options."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from bag_support import (
    CONFIG,
    MODEL_CHAIN_ARGS,
    PERIOD_NS,
    T0_NS,
    ssd_weights_missing,
    write_bag,
    write_motorcycle_bag,
)

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.io.bags import BagTopics
from spatial_vqa_ros.io.datasets import load_records
from spatial_vqa_ros.offline.bag2dataset import (
    Bag2DatasetConfig,
    BagSource,
    bag2dataset,
    required_roles,
    source_from_spec,
)
from spatial_vqa_ros.perception import PerceptionSpec

WHY_SKIP = ssd_weights_missing()
needs_weights = pytest.mark.skipif(bool(WHY_SKIP), reason=WHY_SKIP)
NO_SAMPLE = "scikit-image (the Middlebury sample) is not installed"
needs_sample = pytest.mark.skipif(importlib.util.find_spec("skimage") is None,
                                  reason=NO_SAMPLE)
#: What one object gives synthesis: its own measures, no relation to another object.
SINGLE_OBJECT_RELATIONS = {"width", "height"}


@pytest.fixture(scope="module")
def moto_bag(tmp_path_factory) -> Path:
    if importlib.util.find_spec("skimage") is None:
        pytest.skip(NO_SAMPLE)
    return write_motorcycle_bag(tmp_path_factory.mktemp("bags") / "moto", n_frames=2)


def model_spec() -> PerceptionSpec:
    from spatial_vqa_ros.perception.opencv_dnn import find_ssd_mobilenet_v2_coco

    model, config = find_ssd_mobilenet_v2_coco()
    return PerceptionSpec(detector="opencv_dnn", segmenter="depth_box",
                          detector_model=str(model), detector_config=str(config))


def test_required_topics_follow_the_chain() -> None:
    assert required_roles(PerceptionSpec()) == ("depth", "instances", "labels")
    assert required_roles(PerceptionSpec(detector="opencv_dnn", segmenter="depth_box")) == (
        "depth",)
    assert required_roles(PerceptionSpec(depth_estimator="some.plugin:Depth", detector="opencv_dnn",
                                         segmenter="simulation")) == ("instances", "labels")
    # asked of the class, not its name: a plugin extending the simulation detector reads
    # the instance image as much as it does; a plugin that cannot load needs nothing yet
    slow = "spatial_vqa_ros.synthetic.doubles:SlowSimulationDetector"
    assert required_roles(PerceptionSpec(detector=slow, segmenter="depth_box")) == (
        "depth", "instances", "labels")
    assert required_roles(PerceptionSpec(detector="no.such.module:Detector",
                                         segmenter="depth_box")) == ("depth",)


def test_perception_is_part_of_the_settings_and_of_the_source_spec(tmp_path: Path) -> None:
    spec = PerceptionSpec(detector="opencv_dnn", segmenter="depth_box",
                          detector_model="/models/ssd.pb", detector_score_threshold=0.4)
    config = Bag2DatasetConfig(perception=spec, prompts=["mug", "chair"])
    assert config.prompts == ("mug", "chair")
    settings = json.loads(json.dumps(config.settings()))
    assert settings["perception"]["detector"] == "opencv_dnn"
    assert settings["prompts"] == ["mug", "chair"]
    assert Bag2DatasetConfig.from_settings(settings) == config
    assert settings != Bag2DatasetConfig().settings()  # a resume would be refused
    bag = write_bag(tmp_path / "lab", 1, n_frames=1)
    source = BagSource(bag, BagTopics(), perception=spec, prompts=("mug",))
    rebuilt = source_from_spec(json.loads(json.dumps(source.spec())))
    assert rebuilt.perception == spec and rebuilt.prompts == ("mug",)
    assert rebuilt.name == source.name and rebuilt.topics == source.topics


@needs_weights
def test_scenes_runs_a_model_chain_on_a_bag_without_instance_topics(
        tmp_path: Path, moto_bag: Path, capsys) -> None:
    from spatial_vqa_ros.io.samples import middlebury_motorcycle
    from spatial_vqa_ros.offline.perceive import perceive

    out = tmp_path / "scenes.jsonl"
    code = main(["scenes", str(moto_bag), "--out", str(out), *MODEL_CHAIN_ARGS])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "2 frames written, 0 failed" in err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["stamp_ns"] for r in records] == [T0_NS, T0_NS + PERIOD_NS]
    sample = middlebury_motorcycle()  # the same frame through the same chain, directly
    alone = perceive(sample.rgb, model_spec(), ["motorcycle"], depth_m=sample.depth_m,
                     camera=sample.camera).record
    for record in records:
        assert [o["label"] for o in record["objects"]] == ["motorcycle"]
        assert record["floor_found"]
        provenance = record["provenance"]
        assert provenance["detector"].startswith("opencv-dnn")
        assert provenance["segmenter"] == "depth_box"
        assert provenance["depth_source"] == "sensor"
        assert provenance["intrinsics_source"] == "camera_info"
    first = records[0]["objects"][0]
    assert first["center"] == pytest.approx(alone["objects"][0]["center"], abs=1e-4)
    assert first["size"] == pytest.approx(alone["objects"][0]["size"], abs=1e-4)


@needs_weights
def test_bag2dataset_runs_a_model_chain_and_resumes_only_with_it(
        tmp_path: Path, moto_bag: Path, capsys) -> None:
    out = tmp_path / "out"
    args = ["bag2dataset", str(moto_bag), str(out), "--qa-per-image", "4", "--seed", "3",
            "--no-progress", *MODEL_CHAIN_ARGS]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "moto: 2 frames, 2 records, complete" in err
    records = load_records(out)
    assert len(records) == 2
    for record in records:
        assert [o["label"] for o in record["scene_graph"]["objects"]] == ["motorcycle"]
        assert record["scene_graph"]["provenance"]["detector"].startswith("opencv-dnn")
        assert record["scene_graph"]["provenance"]["segmenter"] == "depth_box"
        assert len(record["qa"]) == 4
        for qa in record["qa"]:
            assert qa["subject_label"] == "motorcycle" and "motorcycle" in qa["question"]
            assert qa["relation"] in SINGLE_OBJECT_RELATIONS
    settings = json.loads((out / "progress.json").read_text())["settings"]
    assert settings["perception"]["detector"] == "opencv_dnn"
    assert settings["perception"]["segmenter"] == "depth_box"
    assert settings["prompts"] == ["motorcycle"]
    assert main([*args, "--detector-score-threshold", "0.6"]) == 2  # other perception
    assert "written with other settings" in capsys.readouterr().err
    assert main([*args[:-1], "motorcycle,cat"]) == 2  # other prompts: refused
    assert "written with other settings" in capsys.readouterr().err
    assert main(args) == 0  # the same: resumed (nothing left to do)
    assert "complete in the dataset already" in capsys.readouterr().err


@needs_sample
def test_the_simulation_chain_fails_such_a_bag_frame_by_frame_saying_why(
        tmp_path: Path, moto_bag: Path, capsys) -> None:
    summary = bag2dataset([moto_bag], tmp_path / "out", CONFIG, progress=False)
    (report,) = summary.sources
    assert report.failed_by_reason == {"no_instances": 2} and report.complete
    assert summary.totals()["failed_by_reason"] == {"no_instances": 2}
    assert not summary.ok and summary.dataset.records == 0
    note = report.failure_notes[0]
    assert note.startswith("no instance image: topic /camera/instances/image_raw is not in "
                           "the bag")
    assert "choose a model detector" in note
    assert "failed: no_instances 2" in summary.format()

    assert main(["scenes", str(moto_bag), "--out", str(tmp_path / "s.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "0 frames written, 2 failed" in err
    assert "needs an instance image: set the instances topic" in err


def test_a_bag_without_depth_says_what_to_set(tmp_path: Path, capsys) -> None:
    bag = write_bag(tmp_path / "no_depth", 3, n_frames=2, depth=False)
    assert main(["scenes", str(bag), "--out", str(tmp_path / "s.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "0 frames written, 2 failed" in err
    assert "no depth image for this frame: set the depth topic" in err
    summary = bag2dataset([bag], tmp_path / "out", CONFIG, progress=False)
    assert summary.sources[0].failed_by_reason == {"no_depth": 2}
    assert "set the depth topic" in summary.sources[0].failure_notes[0]


@needs_weights
def test_a_model_chain_needs_depth_but_not_instances(tmp_path: Path) -> None:
    bag = write_motorcycle_bag(tmp_path / "moto_rgb", n_frames=1, depth=False)
    config = Bag2DatasetConfig(perception=model_spec(), prompts=("motorcycle",))
    summary = bag2dataset([bag], tmp_path / "out", config, progress=False)
    (report,) = summary.sources
    assert report.failed_by_reason == {"no_depth": 1}
    assert report.failure_notes[0].startswith(
        "no depth image: topic /camera/depth/image_raw is not in the bag")
    assert "choose a depth estimator" in report.failure_notes[0]


def test_bad_perception_options_exit_2_before_anything_is_written(tmp_path: Path,
                                                                  capsys) -> None:
    bag = write_bag(tmp_path / "lab", 1, n_frames=1)
    out = tmp_path / "scenes.jsonl"
    assert main(["scenes", str(bag), "--out", str(out), "--detector", "yolo"]) == 2
    err = capsys.readouterr().err
    assert "spatial-vqa scenes:" in err and "detector must be one of" in err
    assert main(["scenes", str(bag), "--out", str(out), "--detector", "opencv_dnn",
                 "--detector-model", str(tmp_path / "none.pb")]) == 2
    assert "spatial-vqa scenes:" in capsys.readouterr().err
    assert not out.exists()
    dataset = tmp_path / "dataset"
    assert main(["bag2dataset", str(bag), str(dataset), "--no-progress",
                 "--detector-score-threshold", "2"]) == 2
    assert "detector_score_threshold must be within [0, 1]" in capsys.readouterr().err
    assert main(["bag2dataset", str(bag), str(dataset), "--no-progress", "--detector",
                 "opencv_dnn", "--detector-model", str(tmp_path / "none.pb")]) == 2
    err = capsys.readouterr().err
    assert "spatial-vqa bag2dataset:" in err and "detector" in err
    assert main(["bag2dataset", str(bag), str(dataset), "--no-progress", "--segmenter",
                 "no.such.module:Segmenter"]) == 2
    assert "cannot be loaded" in capsys.readouterr().err
    assert not dataset.exists()

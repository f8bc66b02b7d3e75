"""The dataset commands hold depth to the node's valid range, as the node and ``scenes``
do (issue 19 items 9, 10): ``--depth-min-m`` / ``--depth-max-m`` of bag2dataset,
images2dataset and hf2dataset reach every frame, through the config's settings, the
sources and their specs (what the Ray engine rebuilds them from). An object beyond
``depth_max_m`` is never measured; a dataset records a non-default range and resumes
only with it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from bag_support import CONFIG, write_image_folder

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.io.bags import BagFrameWriter
from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.offline.bag2dataset import Bag2DatasetConfig
from spatial_vqa_ros.offline.bag2dataset.build import write_dataset
from spatial_vqa_ros.offline.bag2dataset.hf_images import HFImageSource
from spatial_vqa_ros.offline.bag2dataset.images import ImageFolderSource
from spatial_vqa_ros.offline.bag2dataset.source_specs import source_from_spec
from spatial_vqa_ros.offline.bag2dataset.sources import BagSource
from spatial_vqa_ros.perception.factories import PerceptionSpec
from spatial_vqa_ros.perception.types import InputSettings
from spatial_vqa_ros.synthetic.scoring import render_case

NEAR = InputSettings(0.2, 2.5)


def _scene_labels(out: Path) -> list[list[str]]:
    """The labels measured in each scene line of a dataset, in file order."""
    lines = (out / "scene_graphs.jsonl").read_text().splitlines()
    return [[o["label"] for o in json.loads(line)["objects"]] for line in lines if line]


def _settings(out: Path) -> dict:
    return json.loads((out / "progress.json").read_text())["settings"]


def _nearest_depths(frame) -> dict[str, float]:
    """Each uniquely-labelled instance's nearest depth [m], by label, in a rendered frame."""
    labels = list(frame.id_to_label.values())
    return {frame.id_to_label[int(i)]: float(np.nanmin(frame.depth_m[frame.instance_ids == i]))
            for i in np.unique(frame.instance_ids)
            if labels.count(frame.id_to_label.get(int(i), "")) == 1}


def _cut_farthest(frame) -> tuple[str, float]:
    """The label of the object whose nearest pixel is farthest away, and a depth limit
    just short of that pixel: every pixel of the object lies beyond it."""
    nearest = _nearest_depths(frame)
    label = max(nearest, key=nearest.get)
    return label, round(nearest[label] - 0.05, 3)


@pytest.fixture(scope="module")
def case():
    """A rendered frame, an object of it, and a depth limit short of all its pixels."""
    _, rendered, _ = render_case(1)
    return rendered, *_cut_farthest(rendered)


@pytest.fixture(scope="module")
def bag(case, tmp_path_factory) -> Path:
    rendered = case[0]
    path = tmp_path_factory.mktemp("bag") / "room"
    with BagFrameWriter(path) as writer:
        for k in range(2):
            writer.write(1_000_000_000 + k * 100_000_000, rendered.rgb, rendered.camera,
                         depth_m=rendered.depth_m, instance_ids=rendered.instance_ids,
                         id_to_label=rendered.id_to_label)
    return path


def test_bag2dataset_never_measures_an_object_beyond_depth_max(tmp_path, case, bag):
    _, label, limit_m = case
    common = ["--qa-per-image", "3", "--no-progress"]
    assert main(["bag2dataset", str(bag), str(tmp_path / "default"), *common]) == 0
    assert main(["bag2dataset", str(bag), str(tmp_path / "cut"), *common,
                 "--depth-max-m", str(limit_m)]) in (0, 1)
    default, cut = _scene_labels(tmp_path / "default"), _scene_labels(tmp_path / "cut")
    assert len(default) == len(cut) == 2
    assert all(label in labels for labels in default)
    assert not any(label in labels for labels in cut)
    assert "inputs" not in _settings(tmp_path / "default")  # old datasets resume as they were
    assert _settings(tmp_path / "cut")["inputs"] == {"depth_min_m": 0.05,
                                                     "depth_max_m": limit_m}


def test_a_dataset_resumes_only_with_its_depth_range(tmp_path, case, bag, capsys):
    _, _, limit_m = case
    out = str(tmp_path / "cut")
    args = ["bag2dataset", str(bag), out, "--qa-per-image", "3", "--no-progress"]
    assert main([*args, "--depth-max-m", str(limit_m)]) in (0, 1)
    capsys.readouterr()
    assert main(args) == 2  # the default range is another dataset
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "was written with other settings (settings.inputs: " in err
    assert main([*args, "--depth-max-m", str(limit_m)]) in (0, 1)  # its own range resumes


@pytest.mark.parametrize("command", ["bag2dataset", "images2dataset", "hf2dataset"])
def test_dataset_commands_refuse_a_bad_depth_range_with_exit_2(tmp_path, command, capsys):
    sources = {"bag2dataset": [str(tmp_path / "bag")],
               "images2dataset": [str(tmp_path / "images")],
               "hf2dataset": [str(tmp_path / "rows")]}[command]
    assert main([command, *sources, str(tmp_path / "out"), "--depth-min-m", "3",
                 "--depth-max-m", "2"]) == 2
    err = capsys.readouterr().err
    assert f"spatial-vqa {command}: need 0 < depth_min_m < depth_max_m" in err
    assert not (tmp_path / "out").exists()  # refused before anything is written


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three rendered scenes as an image folder with depth (.npy) and instance side
    files, and the rendered frames."""
    root, _, frames = write_image_folder(tmp_path_factory.mktemp("imgs"), 5, 3)
    return root, frames


def _folder_args(root: Path, out: Path, *extra: str) -> list[str]:
    return ["images2dataset", str(root / "images"), str(out), "--depth-dir",
            str(root / "depth"), "--instances-dir", str(root / "instances"),
            "--camera-info", str(root / "camera.yaml"), "--detector", "simulation",
            "--segmenter", "simulation", "--qa-per-image", "3", "--no-progress", *extra]


def test_images2dataset_never_measures_an_object_beyond_depth_max(tmp_path, folder):
    root, frames = folder
    farthest, limit_m = _cut_farthest(frames[0])
    assert main(_folder_args(root, tmp_path / "default")) in (0, 1)
    assert main(_folder_args(root, tmp_path / "cut", "--depth-max-m", str(limit_m))) in (0, 1)
    default = _scene_labels(tmp_path / "default")
    cut = _scene_labels(tmp_path / "cut")
    assert len(default) == len(cut) == 3  # file order: view 0 first
    assert farthest in default[0] and farthest not in cut[0]
    for frame, labels in zip(frames, cut, strict=True):  # nothing beyond the limit anywhere
        beyond = {label for label, m in _nearest_depths(frame).items() if m > limit_m}
        assert not beyond & set(labels)
    assert _settings(tmp_path / "cut")["inputs"]["depth_max_m"] == limit_m


def test_sources_carry_the_input_settings_through_their_specs(tmp_path, folder, bag):
    """What the Ray engine does in a worker: rebuild the config from its JSON settings
    and each source from its JSON spec."""
    root, _ = folder
    config = dataclasses.replace(CONFIG, inputs=NEAR)
    settings = json.loads(json.dumps(config.settings()))
    assert Bag2DatasetConfig.from_settings(settings, CONFIG.shard_size) == config
    sources = [BagSource(bag, inputs=NEAR),
               ImageFolderSource(root / "images", perception=CONFIG.perception,
                                 depth_dir=root / "depth", instances_dir=root / "instances",
                                 inputs=NEAR)]
    for source in sources:
        rebuilt = source_from_spec(json.loads(json.dumps(source.spec())))
        assert type(rebuilt) is type(source) and rebuilt.inputs == NEAR
    old_spec = {k: v for k, v in sources[1].spec().items() if k != "inputs"}
    assert source_from_spec(old_spec).inputs == InputSettings()  # a spec from before


def test_an_image_dataset_source_carries_the_input_settings(tmp_path, folder):
    pytest.importorskip("datasets")
    import datasets

    root, _ = folder
    rows = datasets.Dataset.from_dict({"image": [str(p) for p in
                                                 sorted((root / "images").glob("*.png"))]})
    rows = rows.cast_column("image", datasets.Image())
    rows.save_to_disk(str(tmp_path / "rows"))
    spec = PerceptionSpec(depth_estimator="depth_anything", detector="opencv_dnn",
                          segmenter="depth_box")  # rows are rgb only: a model chain
    source = HFImageSource(str(tmp_path / "rows"), perception=spec, inputs=NEAR)
    rebuilt = source_from_spec(json.loads(json.dumps(source.spec())))
    assert isinstance(rebuilt, HFImageSource) and rebuilt.inputs == NEAR


def test_a_source_with_other_input_settings_than_the_config_is_refused(tmp_path, folder):
    root, _ = folder
    with pytest.raises(DataIOError, match="builds its inputs with .* but the settings say"):
        write_dataset([ImageFolderSource(root / "images", perception=CONFIG.perception,
                                         depth_dir=root / "depth",
                                         instances_dir=root / "instances", inputs=NEAR)],
                      tmp_path / "out", CONFIG, progress=False)

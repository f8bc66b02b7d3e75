"""Frame filters: cheap image checks before perception, scene checks after the core;
every filtered frame is skipped with its reason, counted in the summary, progress.json
and the card; filter settings are validated; default settings resume old datasets."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from bag_support import CONFIG, write_image_folder

from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.offline.bag2dataset import Bag2DatasetConfig, images2dataset
from spatial_vqa_ros.offline.bag2dataset.filters import (
    FrameFilters,
    ImageFilter,
    scene_reason,
    sharpness,
)
from spatial_vqa_ros.perception.chain import PerceptionChain


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("imgs"), 9, 3)[0]


def run(folder, out, filters):
    config = replace(CONFIG, filters=filters)
    return images2dataset([folder / "images"], out, config, depth_dir=folder / "depth",
                          instances_dir=folder / "instances",
                          camera_info=folder / "camera.yaml", progress=False)


def test_sharpness_separates_sharp_from_blurred_images():
    rng = np.random.default_rng(0)
    sharp = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    blurred = sharp.astype(np.float64)
    for _ in range(6):  # a box blur, a few passes
        blurred = (blurred + np.roll(blurred, 1, 0) + np.roll(blurred, 1, 1)
                   + np.roll(blurred, -1, 0) + np.roll(blurred, -1, 1)) / 5
    assert sharpness(sharp) > 1000
    assert sharpness(blurred.astype(np.uint8)) < 100
    assert sharpness(np.full((10, 10, 3), 128, np.uint8)) == 0.0
    check = ImageFilter(FrameFilters(min_side_px=61, min_sharpness=100))
    assert check.reason(sharp) == "too_small"
    assert ImageFilter(FrameFilters(min_sharpness=100)).reason(blurred.astype(np.uint8)) \
        == "blurry"
    assert ImageFilter(FrameFilters(min_sharpness=100)).reason(sharp) == ""


def test_scene_reasons():
    assert scene_reason(FrameFilters(require_floor=True), False, 3) == "no_floor"
    assert scene_reason(FrameFilters(min_objects=2), True, 1) == "few_objects"
    assert scene_reason(FrameFilters(min_objects=2), True, 0) == ""  # that is no_objects
    assert scene_reason(FrameFilters(), False, 1) == ""


def test_image_checks_run_before_any_model(tmp_path, folder, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the chain ran on an image the filter drops")

    monkeypatch.setattr(PerceptionChain, "run", never)
    summary = run(folder, tmp_path / "out", FrameFilters(min_side_px=1000))
    assert summary.totals()["filtered_by_reason"] == {"too_small": 3}
    assert summary.dataset.records == 0 and not summary.ok
    progress = json.loads((tmp_path / "out" / "progress.json").read_text())
    assert sorted(progress["skipped"].values()) == ["too_small"] * 3
    assert "too_small: 3" in (tmp_path / "out" / "README.md").read_text()
    assert "filtered out: too_small 3" in summary.format()


def test_scene_checks_after_the_core(tmp_path, folder):
    summary = run(folder, tmp_path / "few", FrameFilters(min_objects=50))
    assert summary.totals()["filtered_by_reason"] == {"few_objects": 3}
    kept = run(folder, tmp_path / "kept", FrameFilters(min_objects=2, require_floor=True))
    assert kept.ok and kept.dataset.records == 3  # rendered rooms: a floor, several objects


def test_filter_settings_are_validated_and_recorded():
    for bad, message in (({"min_sharpness": -1.0}, "min_sharpness"),
                         ({"clip_threshold": 1.5}, "clip_threshold"),
                         ({"include_tags": ("kitchen",)}, "need a CLIP model"),
                         ({"clip_model": "clip"}, "give --include-tags"),
                         ({"exclude_tags": ("",), "clip_model": "c"}, "non-empty"),
                         ({"min_objects": 0}, "min_objects")):
        with pytest.raises(DataIOError, match=message):
            FrameFilters(**bad)
    assert "filters" not in Bag2DatasetConfig().settings()  # old datasets still resume
    config = Bag2DatasetConfig(filters=FrameFilters(min_objects=2, include_tags=("room",),
                                                    clip_model="clip_vit_base_patch32"))
    settings = config.settings()
    assert settings["filters"]["include_tags"] == ["room"]
    assert Bag2DatasetConfig.from_settings(json.loads(json.dumps(settings))) == config


def test_a_vocabulary_file_adds_prompts(tmp_path):
    import argparse

    from spatial_vqa_ros.commands.perception_options import (
        add_perception_options,
        prompts_from,
    )
    from spatial_vqa_ros.perception.errors import PerceptionError

    vocabulary = tmp_path / "vocabulary.txt"
    vocabulary.write_text("mug\n# furniture\nchair  # the wooden one\n\nmug\npotted plant\n")
    parser = argparse.ArgumentParser()
    add_perception_options(parser)
    args = parser.parse_args(["--labels", "laptop,mug", "--labels-file", str(vocabulary)])
    assert prompts_from(args) == ["laptop", "mug", "chair", "potted plant"]
    args = parser.parse_args(["--labels-file", str(tmp_path / "missing.txt")])
    with pytest.raises(PerceptionError, match="cannot be read"):
        prompts_from(args)

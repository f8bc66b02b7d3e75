"""Caption-derived vocabulary in images2dataset: each image's caption phrases (a stand-in
for Florence-2, loaded once) reach the chain as its prompts and the record's provenance;
an image left without a prompt is skipped as no_vocabulary; the option round-trips
through the settings and the source spec; missing weights stop the run before it
writes."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from bag_support import CONFIG, write_image_folder

from spatial_vqa_ros.cli import main as cli_main
from spatial_vqa_ros.core.capture import Observations
from spatial_vqa_ros.io.datasets import load_records
from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.offline.bag2dataset import (
    SKIP_REASONS,
    Bag2DatasetConfig,
    HFImageSource,
    ImageFolderSource,
    images2dataset,
    write_dataset,
)
from spatial_vqa_ros.offline.bag2dataset.vocabulary import NO_VOCABULARY, VocabularySpec
from spatial_vqa_ros.offline.frames import SIMULATION
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.factories import PerceptionSpec
from spatial_vqa_ros.perception.families.florence2.adapter import (
    Florence2Vocabulary,
    ImageVocabulary,
)

#: Per image (the folder's sorted order): what the stand-in's caption grounds. The
#: scenes hold {suitcase, mug, book, box}, {bottle, trash can, ball} and balls, boxes...
PHRASES = (("mug", "book", "unicorn"), (), ("ball", "box"))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("imgs"), 5, len(PHRASES))


@pytest.fixture
def captioner(rendered, tmp_path, monkeypatch):
    """A snapshot directory that passes the weights check, and a stand-in model that
    answers per image; returns (directory, the from_pretrained calls)."""
    _, _, frames = rendered
    answers = {frame.rgb.tobytes(): phrases for frame, phrases in zip(frames, PHRASES)}
    calls = []

    class StandIn:
        name = "florence2:stand-in"

        def describe(self, rgb):
            phrases = answers[rgb.tobytes()]
            return ImageVocabulary(f"a picture of {' and '.join(phrases)}", phrases)

    def from_pretrained(directory, *, device="cpu", max_phrases=8):
        calls.append((directory, max_phrases))
        return StandIn()

    monkeypatch.setattr(Florence2Vocabulary, "from_pretrained", from_pretrained)
    directory = tmp_path / "florence2-stand-in"
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    (directory / "model.safetensors").write_bytes(b"weights")
    return directory, calls


def run(rendered, out, config):
    folder = rendered[0]
    return images2dataset([folder / "images"], out, config, depth_dir=folder / "depth",
                          instances_dir=folder / "instances",
                          camera_info=folder / "camera.yaml", progress=False)


def test_caption_phrases_are_the_prompts_and_the_provenance(rendered, captioner, tmp_path):
    directory, calls = captioner
    config = replace(CONFIG, vocabulary=VocabularySpec(str(directory), 3))
    summary = run(rendered, tmp_path / "out", config)
    assert calls == [(directory, 3)]  # loaded once for the folder
    assert summary.sources[0].filtered_by_reason == {NO_VOCABULARY: 1}
    assert NO_VOCABULARY in SKIP_REASONS
    records = {r["id"]: r for r in load_records(tmp_path / "out")}
    assert sorted(records) == ["images/view_0.png", "images/view_2.png"]
    for k in (0, 2):
        graph = records[f"images/view_{k}.png"]["scene_graph"]
        assert {o["label"] for o in graph["objects"]} == set(PHRASES[k]) - {"unicorn"}
        assert graph["provenance"]["vocabulary_model"] == "florence2:stand-in"
        assert graph["provenance"]["caption_phrases"] == list(PHRASES[k])
        assert graph["provenance"]["prompts"] == list(PHRASES[k])
        assert graph["provenance"]["caption"].startswith("a picture of ")


def test_fixed_prompts_come_first_and_keep_an_image_without_phrases(rendered, captioner,
                                                                    tmp_path):
    directory, _ = captioner
    config = replace(CONFIG, prompts=("bottle", "Mug"), vocabulary=VocabularySpec(str(directory)))
    summary = run(rendered, tmp_path / "out", config)
    assert summary.sources[0].filtered_by_reason == {}
    records = {r["id"]: r["scene_graph"] for r in load_records(tmp_path / "out")}
    assert records["images/view_0.png"]["provenance"]["prompts"] == ["bottle", "Mug", "book",
                                                                     "unicorn"]
    assert {o["label"] for o in records["images/view_1.png"]["objects"]} == {"bottle"}
    assert records["images/view_1.png"]["provenance"]["caption_phrases"] == []


def test_the_option_round_trips_through_settings_and_spec(rendered, captioner):
    directory, _ = captioner
    config = replace(CONFIG, vocabulary=VocabularySpec(str(directory), 5))
    settings = config.settings()
    assert settings["vocabulary"] == {"model": str(directory), "max_phrases": 5}
    assert Bag2DatasetConfig.from_settings(settings, CONFIG.shard_size) == config
    assert "vocabulary" not in CONFIG.settings()  # older datasets resume as they were
    with pytest.raises(DataIOError, match="max_phrases must be >= 1"):
        VocabularySpec("florence2_base", 0)
    folder = rendered[0]
    source = ImageFolderSource(folder / "images", perception=SIMULATION,
                               depth_dir=folder / "depth", instances_dir=folder / "instances",
                               vocabulary=config.vocabulary)
    assert ImageFolderSource.from_spec(source.spec()).vocabulary == config.vocabulary
    with pytest.raises(DataIOError, match="settings say"):
        write_dataset([source], rendered[0] / "never", CONFIG)


def test_a_dataset_source_takes_its_prompts_from_the_vocabulary_too(rendered, captioner,
                                                                    tmp_path):
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    directory, calls = captioner
    rows = datasets.Dataset.from_dict({"image": [Image.fromarray(f.rgb) for f in rendered[2]]})
    rows.save_to_disk(str(tmp_path / "hf"))
    models = PerceptionSpec(depth_estimator="depth_anything", detector="owlv2", segmenter="sam")
    source = HFImageSource.from_spec(HFImageSource(
        str(tmp_path / "hf"), perception=models,
        vocabulary=VocabularySpec(str(directory), 4)).spec())  # as a Ray actor rebuilds it
    asked = []

    def perceive(inputs, prompts, index):  # the chain: records the prompts it was given
        asked.append(tuple(prompts))
        height, width = inputs.rgb.shape[:2]
        return SimpleNamespace(capture=None, observations=Observations.from_masks(
            np.zeros((0, height, width), bool), (), np.zeros(0, np.float32)))

    frames = list(source.frames(SimpleNamespace(run=perceive), range(len(PHRASES))))
    assert calls == [(directory, 4)]
    assert asked == [PHRASES[0], PHRASES[2]]
    assert [f.skip_reason for f in frames] == ["", NO_VOCABULARY, ""]
    assert frames[2].observations.provenance["caption_phrases"] == list(PHRASES[2])


def test_missing_weights_stop_the_run_before_it_writes(rendered, tmp_path, capsys):
    config = replace(CONFIG, vocabulary=VocabularySpec("florence2_base"),
                     perception=replace(SIMULATION, models_dir=str(tmp_path / "models")))
    with pytest.raises(PerceptionError, match="spatial-vqa models pull florence2_base"):
        run(rendered, tmp_path / "out", config)
    assert not (tmp_path / "out").exists()
    folder = rendered[0]
    code = cli_main(["images2dataset", str(folder / "images"), str(tmp_path / "out"),
                     "--depth-dir", str(folder / "depth"), "--instances-dir",
                     str(folder / "instances"), "--camera-info", str(folder / "camera.yaml"),
                     "--detector", "simulation", "--segmenter", "simulation",
                     "--models-dir", str(tmp_path / "models"),
                     "--vocabulary-model", "florence2_base", "--no-progress"])
    assert code == 2 and "models pull florence2_base" in capsys.readouterr().err

"""CLIP image tags: a tiny random CLIP loaded through the real loading code gives the
model's own softmax over the tags; the dataset builders' include/exclude filter keeps
and drops images by those probabilities and counts them."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_models import tiny_clip  # noqa: E402

from spatial_vqa_ros.offline.bag2dataset import Bag2DatasetConfig, images2dataset  # noqa: E402
from spatial_vqa_ros.offline.bag2dataset.filters import FrameFilters  # noqa: E402
from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.clip.adapter import ClipTagger  # noqa: E402

TAGS = ("a room", "a cat", "text")


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return tiny_clip(tmp_path_factory.mktemp("clip") / "clip-tiny")


@pytest.fixture(scope="module")
def tagger(clip_dir):
    return ClipTagger.from_pretrained(clip_dir)


def picture(seed):
    return np.random.default_rng(seed).integers(0, 256, (40, 50, 3), dtype=np.uint8)


def test_probabilities_are_the_models_softmax_over_the_tags(tagger):
    got = tagger.probabilities(picture(0), TAGS)
    batch = tagger.processor(text=list(TAGS), images=picture(0), return_tensors="pt",
                             padding=True)
    with torch.inference_mode():
        logits = tagger.model(**batch).logits_per_image[0]
    np.testing.assert_allclose(got, torch.softmax(logits, -1).numpy(), rtol=1e-6)
    assert got.sum() == pytest.approx(1.0) and got.std() > 0.01
    assert tagger.name == "clip:clip-tiny"


def test_bad_tags_and_snapshots_are_refused(tagger, tmp_path):
    with pytest.raises(PerceptionError, match="non-empty tag"):
        tagger.probabilities(picture(0), ["a room", " "])
    with pytest.raises(PerceptionError, match="models pull clip_vit_base_patch32' .*to .*nowhere"):
        ClipTagger.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "owlv2"}))
    (tmp_path / "model.safetensors").write_bytes(b"x")
    with pytest.raises(PerceptionError, match="holds a 'owlv2' model"):
        ClipTagger.from_pretrained(tmp_path)


@pytest.mark.parametrize("side", ["include", "exclude"])
def test_the_dataset_filter_keeps_and_drops_by_those_probabilities(tmp_path, tagger,
                                                                    clip_dir, side):
    """Six rendered rooms through the simulation chain; the threshold is set at the
    median of the best tag's probability, so the tagger itself says which images go."""
    from PIL import Image

    from spatial_vqa_ros.core.vqa import SynthesisConfig
    from spatial_vqa_ros.io.datasets import load_records
    from spatial_vqa_ros.synthetic.scoring import render_case

    tags = ("a room", "a cat")
    rendered = [render_case(k)[1] for k in range(6)]
    for name in ("images", "depth", "instances"):
        (tmp_path / name).mkdir()
    best = []
    for k, frame in enumerate(rendered):
        Image.fromarray(frame.rgb).save(tmp_path / "images" / f"r{k}.png")
        c = frame.camera  # intrinsics beside the image, as <stem>.camera_info.yaml
        (tmp_path / "images" / f"r{k}.camera_info.yaml").write_text(
            f"image_width: {c.width}\nimage_height: {c.height}\ncamera_matrix: {{data: "
            f"[{c.fx}, 0, {c.cx}, 0, {c.fy}, {c.cy}, 0, 0, 1]}}\n")
        np.save(tmp_path / "depth" / f"r{k}.npy", frame.depth_m)
        Image.fromarray(frame.instance_ids.astype(np.uint16)).save(
            tmp_path / "instances" / f"r{k}.png")
        (tmp_path / "instances" / f"r{k}.json").write_text(
            json.dumps({str(i): v for i, v in frame.id_to_label.items()}))
        best.append(tagger.probabilities(frame.rgb, tags).max())
    threshold = float(np.median(best))
    matched = [b >= threshold for b in best]
    assert 0 < sum(matched) < 6
    filters = FrameFilters(clip_model=str(clip_dir), clip_threshold=threshold,
                           **{f"{side}_tags": tags})
    config = Bag2DatasetConfig(synthesis=SynthesisConfig(qa_per_image=2), filters=filters)
    summary = images2dataset([tmp_path / "images"], tmp_path / "out", config,
                             depth_dir=tmp_path / "depth",
                             instances_dir=tmp_path / "instances",
                             camera_info=None, progress=False)
    kept = {f"images/r{k}.png" for k, m in enumerate(matched) if m == (side == "include")}
    reason = "not_included" if side == "include" else "excluded"
    assert summary.totals()["filtered_by_reason"] == {reason: 6 - len(kept)}
    written = {r["id"] for r in load_records(tmp_path / "out")}
    assert written <= kept and summary.totals()["frames_failed"] == 0

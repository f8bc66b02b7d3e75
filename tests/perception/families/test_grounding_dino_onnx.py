"""Grounding DINO on ONNX Runtime: the exported graph equals the torch model, and the ORT
adapter gives the torch adapter's detections.

The tiny random Grounding DINO of test_grounding_dino.py (weights re-drawn: the default
initialisation gives near-constant outputs that would hide errors; a BERT tokenizer with
the hard-coded special ids in place) is exported ONCE for this module through
:func:`export` (the dynamo exporter: tens of seconds on 2 cores), at the default camera
size 640x480 (the tiny processor makes 85x64 of it). Checked: logits and boxes equal
torch's within 1e-4 relative at two prompt lengths and at batch 2 (the graph's dynamic
dimensions: ``torch.export`` specialises what it traced as 1, so the trace is batch 2 and
the check also batch 1); the detections equal the torch adapter's; the export-only
patches equal transformers' code and are undone; a missing, corrupt, stale or foreign
export says to export again and ``export_missing`` re-exports; a frame the processor
resizes to another input size is refused saying to export with ``--size``.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from test_grounding_dino import WORDS, save_tiny, tiny_config  # noqa: E402

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.grounding_dino import onnx_adapter as grounding_dino_onnx  # noqa: E402
from spatial_vqa_ros.perception.families.grounding_dino.adapter import GroundingDinoDetector  # noqa: E402
from spatial_vqa_ros.perception.families.grounding_dino.onnx_adapter import (  # noqa: E402
    INPUTS,
    GroundingDinoOnnxDetector,
    export,
    exportable,
    query_errors,
    relative_error,
    text_masks,
)
from spatial_vqa_ros.perception.protocols import Detector  # noqa: E402
from spatial_vqa_ros.perception.runtime import PROVIDER_ORDER, export_onnx  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402

PROMPTS = ("a cat", "remote control", "book")
#: What the tiny processor (shortest side 64, longest 96) makes of a 4:3 camera image.
PIXEL_HW = (64, 85)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("gd-onnx") / "grounding-dino-tiny",
                     transformers.GroundingDinoForObjectDetection(
                         tiny_config(transformers.GroundingDinoConfig)))


@pytest.fixture(scope="module")
def exported(model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("gd-onnx-export")
    return out, export(model_dir, out)


@pytest.fixture(scope="module")
def onnx_dir(exported):
    return exported[0]


@pytest.fixture(scope="module")
def torch_detector(model_dir):
    return GroundingDinoDetector.from_pretrained(model_dir)


def image(height: int = 48, width: int = 64, seed: int = 0) -> SensorInputs:
    return SensorInputs(np.random.default_rng(seed).integers(0, 256, (height, width, 3),
                                                             np.uint8))


@pytest.mark.parametrize(("labels", "batch"), [(PROMPTS[:1], 1), (PROMPTS, 1),
                                               (PROMPTS, 2)])
def test_the_graph_gives_the_torch_models_logits_and_boxes(model_dir, onnx_dir,
                                                           torch_detector, labels, batch):
    ort = GroundingDinoOnnxDetector.from_pretrained(model_dir, onnx_dir)
    texts = [p.text for p in torch_detector.plan(labels)] + ["book."] * (batch - 1)
    images = [image(seed=k).rgb for k in range(batch)]
    encoded = torch_detector.processor(images=images, text=texts, padding=True,
                                       return_tensors="pt")
    with torch.inference_mode():
        expected = torch_detector.model(**encoded)
    got = ort.session.run({name: encoded[name].numpy() for name in INPUTS})
    tokens = encoded["input_ids"].shape[1]
    assert got["logits"].shape == tuple(expected.logits.shape) == (batch, 10, 256)
    assert np.isneginf(got["logits"][..., tokens:]).all()  # the -inf padding, as torch's
    # re-drawn weights: outputs vary (default init gives near-constants)
    assert expected.logits[0, :, :tokens].std() > 0.03 and expected.pred_boxes.std() > 0.1
    for name in ("logits", "pred_boxes"):
        error = relative_error({name: got[name]}, {name: getattr(expected, name).numpy()},
                               names=(name,))
        assert error <= 1e-4, (name, error)


#: (labels, torch adapter options): one prompt; three with thresholds that cut and NMS;
#: 132 three-word labels in 3 passes of nearly 256 tokens (the token axis near its end).
DETECT_CASES = [
    (PROMPTS[:1], {"score_threshold": 0.0, "text_threshold": 0.0, "nms_threshold": None}),
    (PROMPTS, {"score_threshold": 0.71, "text_threshold": 0.7, "nms_threshold": 0.3}),
    (tuple(f"{a} {b} {c}" for a in WORDS for b in WORDS[:4] for c in WORDS[4:7]),
     {"score_threshold": 0.0, "text_threshold": 0.0}),
]


@pytest.mark.parametrize(("labels", "options"), DETECT_CASES)
def test_the_detections_equal_the_torch_adapters(model_dir, onnx_dir, torch_detector, labels,
                                                 options):
    inputs = image(seed=1)
    expected = GroundingDinoDetector(torch_detector.model, torch_detector.processor,
                                     **options).detect(inputs, labels)
    detector = GroundingDinoOnnxDetector.from_pretrained(model_dir, onnx_dir, **options)
    found = detector.detect(inputs, labels)
    assert len(expected) > 0 and found.labels == expected.labels
    np.testing.assert_allclose(found.xyxy, expected.xyxy, atol=1e-3)
    np.testing.assert_allclose(found.scores, expected.scores, rtol=1e-4)
    assert found.xyxy.dtype == found.scores.dtype == np.float32
    passes = detector._torch_adapter.plan(labels)
    assert len(passes) == (3 if len(labels) > 3 else 1)
    if len(passes) > 1:  # one label per pass wins with the tiny model's weights
        assert len(set(found.labels)) == len(passes)
    if options["score_threshold"]:
        assert len(found) < 10  # the thresholds cut


def test_it_is_a_detector_named_by_snapshot_runtime_and_provider(model_dir, onnx_dir):
    detector = GroundingDinoOnnxDetector.from_pretrained(model_dir, onnx_dir)
    assert isinstance(detector, Detector) and detector.provider in PROVIDER_ORDER
    assert detector.name == (f"grounding_dino:{model_dir.name}@onnxruntime:"
                             f"{detector.provider}")
    assert (detector.camera_size_hw, detector.pixel_size_hw) == ((480, 640), PIXEL_HW)


def test_the_export_record_says_what_was_exported_from_what(model_dir, exported):
    onnx_dir, paths = exported
    assert paths == [onnx_dir / "model.onnx", onnx_dir / "export.json"]
    assert sorted(p.name for p in onnx_dir.iterdir()) == ["export.json", "model.onnx"]
    record = json.loads((onnx_dir / "export.json").read_text())
    assert record["family"] == "grounding_dino" and record["model_type"] == "grounding-dino"
    assert record["camera_size_hw"] == [480, 640] and record["pixel_size_hw"] == [*PIXEL_HW]
    assert record["inputs"] == list(INPUTS) and record["exporter"] == "dynamo"
    assert record["max_text_tokens"] == 256 and record["opset"] == 18
    # export's own check, at batch 1 and another prompt length: every query agrees here
    assert record["parity"]["queries_agreeing"] == 1.0
    assert record["parity"]["max_relative_error"] <= 1e-4
    assert record["source"] == str(model_dir.resolve())
    assert "config.json" in record["source_files"]


def test_a_frame_of_the_same_aspect_works_and_another_is_refused(model_dir, onnx_dir):
    detector = GroundingDinoOnnxDetector.from_pretrained(model_dir, onnx_dir,
                                                         score_threshold=0.0)
    assert len(detector.detect(image(96, 128), PROMPTS)) > 0  # 4:3 -> the same 85x64
    with pytest.raises(PerceptionError, match="exported for 640x480 camera images .*this "
                       "frame is 48x64.*'spatial-vqa models export --size 48x64'"):
        detector.detect(image(64, 48), PROMPTS)
    with pytest.raises(PerceptionError, match="for 640x480 camera images .*camera gives "
                       "48x64.*'spatial-vqa models export --size 48x64'"):
        GroundingDinoOnnxDetector.from_pretrained(model_dir, onnx_dir, size_hw=(64, 48))
    assert GroundingDinoOnnxDetector.from_pretrained(model_dir, onnx_dir, size_hw=(96, 128))


def test_a_missing_corrupt_or_stale_export_says_to_export_again(model_dir, onnx_dir,
                                                                tmp_path):
    broken = shutil.copytree(onnx_dir, tmp_path / "broken")
    (broken / "export.json").unlink()  # a killed export: the record is written last
    with pytest.raises(PerceptionError, match="export.json missing.*spatial-vqa models "
                       "export"):
        GroundingDinoOnnxDetector.from_pretrained(model_dir, broken)
    corrupt = shutil.copytree(onnx_dir, tmp_path / "corrupt")
    (corrupt / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(PerceptionError, match="cannot be loaded.*spatial-vqa models export"):
        GroundingDinoOnnxDetector.from_pretrained(model_dir, corrupt)
    foreign = shutil.copytree(onnx_dir, tmp_path / "foreign")
    record = json.loads((foreign / "export.json").read_text())
    (foreign / "export.json").write_text(json.dumps({**record, "pixel_size_hw": None}))
    with pytest.raises(PerceptionError, match="not a Grounding DINO export record.*models "
                       "export"):
        GroundingDinoOnnxDetector.from_pretrained(model_dir, foreign)
    other = shutil.copytree(model_dir, tmp_path / "other-snapshot")
    (other / "config.json").write_text((model_dir / "config.json").read_text() + "\n")
    with pytest.raises(PerceptionError, match="another snapshot.*spatial-vqa models export"):
        GroundingDinoOnnxDetector.from_pretrained(other, onnx_dir)


def test_export_missing_exports_at_the_cameras_size_then_loads(model_dir, onnx_dir,
                                                               tmp_path, monkeypatch):
    calls = []

    def fake_export(directory, out, *, size_hw=None):  # the real one is the fixture's
        calls.append((directory, out, size_hw))
        shutil.copytree(onnx_dir, out, dirs_exist_ok=True)

    monkeypatch.setattr(grounding_dino_onnx, "export", fake_export)
    empty = tmp_path / "onnx"
    detector = GroundingDinoOnnxDetector.from_pretrained(model_dir, empty, size_hw=(96, 128),
                                                         export_missing=True)
    assert calls == [(model_dir, empty, (96, 128))] and detector.pixel_size_hw == PIXEL_HW
    (empty / "model.onnx").write_bytes(b"truncated")
    GroundingDinoOnnxDetector.from_pretrained(model_dir, empty, export_missing=True)
    assert len(calls) == 2 and calls[1][2] is None  # None: export's default 640x480


def test_the_export_patches_equal_transformers_and_are_undone(monkeypatch):
    from transformers.models.grounding_dino import modeling_grounding_dino as gd
    from transformers.models.mm_grounding_dino import modeling_mm_grounding_dino as mm

    special = torch.tensor(gd.SPECIAL_TOKENS)
    rng = np.random.default_rng(0)
    ids = torch.from_numpy(rng.choice([0, 101, 102, 1012, 1029, 2000, 2001, 2002],
                                      size=(64, 12))).long()
    ids[:2, 0], ids[:2, -1], ids[0, 4], ids[1, 6:8] = 101, 102, 1012, 1012  # plain texts
    for module in (gd, mm):
        want = module.generate_masks_with_special_tokens_and_transfer_map(ids, special)
        got = text_masks(ids, special)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    originals = (gd.generate_masks_with_special_tokens_and_transfer_map,
                 mm.generate_masks_with_special_tokens_and_transfer_map)
    monkeypatch.delenv("TRANSFORMERS_DISABLE_TORCH_CHECK", raising=False)
    with pytest.raises(RuntimeError, match="inside"), exportable():
        assert gd.generate_masks_with_special_tokens_and_transfer_map is text_masks
        assert mm.generate_masks_with_special_tokens_and_transfer_map is text_masks
        assert os.environ["TRANSFORMERS_DISABLE_TORCH_CHECK"] == "1"
        raise RuntimeError("inside")
    assert (gd.generate_masks_with_special_tokens_and_transfer_map,
            mm.generate_masks_with_special_tokens_and_transfer_map) == originals
    assert "TRANSFORMERS_DISABLE_TORCH_CHECK" not in os.environ


def test_query_errors_single_out_swapped_queries_and_moved_padding():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 10, 256))
    logits[..., 7:] = -np.inf
    expected = {"logits": logits, "pred_boxes": rng.uniform(size=(2, 10, 4))}
    got = {name: value.copy() for name, value in expected.items()}
    got["logits"][..., :7] += 1e-7
    assert query_errors(got, expected).max() < 1e-6
    for name in ("logits", "pred_boxes"):  # two neighbours taken in swapped order
        got[name][1, [3, 4]] = got[name][1, [4, 3]]
    errors = query_errors(got, expected)
    assert np.flatnonzero(errors > 1e-4).tolist() == [13, 14]
    got["logits"][0, 2, 8] = 0.0  # a padding token that is not -inf
    assert np.isinf(query_errors(got, expected)[2])
    assert relative_error(got, expected, names=("pred_boxes",)) < np.inf


def test_a_failed_dynamo_export_leaves_nothing_and_says_so(tmp_path):
    class Unexportable(torch.nn.Module):
        def forward(self, x):  # searchsorted: no ONNX function (what torch.isin becomes)
            return torch.searchsorted(torch.arange(4.0), x)

    with pytest.raises(PerceptionError, match="ONNX export to .* failed"):
        export_onnx(Unexportable().eval(), (torch.rand(2, 3),), tmp_path / "bad.onnx",
                    input_names=["x"], output_names=["y"], dynamo=True)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="dynamic_shapes go with dynamo=True"):
        export_onnx(Unexportable(), (torch.rand(2, 3),), tmp_path / "bad.onnx",
                    input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "b"}},
                    dynamo=True)

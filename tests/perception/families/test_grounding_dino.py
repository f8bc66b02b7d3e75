"""Grounding DINO and MM Grounding DINO behind the Detector seam.

Tiny randomly initialised models of both real classes (PERCEPTION.md's config, weights
re-drawn so outputs vary) are saved with a ``GroundingDinoProcessor`` whose BERT tokenizer
has a hand-written vocabulary (the ids the model hard-codes, [CLS] 101, [SEP] 102, '.'
1012, '?' 1029, in their places) and loaded back through
``GroundingDinoDetector.from_pretrained``: the real loading code, no network. Checked:
the adapter equals processor -> model -> post-processing called directly; each box's
phrase maps back to the prompt it came from; label lists longer than the text encoder
reads are split into passes; what cannot work is refused with the reason.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.grounding_dino.adapter import (  # noqa: E402
    GroundingDinoDetector,
    assign_prompts,
    phrase_of,
)
from spatial_vqa_ros.perception.protocols import Detector  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402
from spatial_vqa_ros.synthetic.scoring import render_case  # noqa: E402

PROMPTS = ("A cat", "a remote control", "book", "red cup")
WORDS = ("a", "cat", "remote", "control", "red", "blue", "cup", "book", "can", "crate",
         "table")


def bert_vocab() -> dict[str, int]:
    """1100 WordPiece tokens: BERT's special ids where the model expects them, whole
    words, and letters (so any lowercase word tokenises)."""
    fixed = {0: "[PAD]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]",
             1012: ".", 1029: "?"}
    pieces = iter([*WORDS, *(c for c in "bdefghijklmnopqrstuvwxyz"),
                   *(f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz")])
    tokens = [fixed.get(i) or (next(pieces, None) if i > 103 else None) or f"[unused{i}]"
              for i in range(1100)]
    return {token: i for i, token in enumerate(tokens)}


def tiny_config(config_class):
    return config_class(
        backbone_config={"model_type": "swin", "embed_dim": 8, "depths": [1, 1, 1, 1],
                         "num_heads": [1, 1, 1, 1], "window_size": 4, "out_indices": [2, 3, 4]},
        text_config={"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "intermediate_size": 37, "vocab_size": 1100},
        d_model=32, num_queries=10, encoder_layers=1, decoder_layers=2, encoder_ffn_dim=32,
        decoder_ffn_dim=32, encoder_attention_heads=2, decoder_attention_heads=2)


def save_tiny(path, model):
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import (
        GroundingDinoImageProcessorPil,
    )

    torch.manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():  # varied, boxes not degenerate
            torch.nn.init.normal_(parameter, std=0.02 if "bbox_embed" in name else 0.3)
    processor = transformers.GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessorPil(
            size={"shortest_edge": 64, "longest_edge": 96}),
        tokenizer=transformers.BertTokenizer(vocab=bert_vocab()))
    model.eval().save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("grounding-dino-tiny"),
                     transformers.GroundingDinoForObjectDetection(
                         tiny_config(transformers.GroundingDinoConfig)))


@pytest.fixture(scope="module")
def mm_model_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("mm-grounding-dino-tiny"),
                     transformers.MMGroundingDinoForObjectDetection(
                         tiny_config(transformers.MMGroundingDinoConfig)))


def image(height: int, width: int, seed: int = 0) -> SensorInputs:
    return SensorInputs(np.random.default_rng(seed).integers(0, 256, (height, width, 3),
                                                             np.uint8))


def reference(model_dir, model_class, inputs, text, **thresholds):
    """The reference path: the saved processor and model, called directly."""
    processor = transformers.GroundingDinoProcessor.from_pretrained(model_dir,
                                                                    local_files_only=True)
    model = model_class.from_pretrained(model_dir, local_files_only=True).eval()
    encoded = processor(images=inputs.rgb, text=text, return_tensors="pt")
    with torch.inference_mode():
        outputs = model(**encoded)
    return processor.post_process_grounded_object_detection(
        outputs, encoded["input_ids"], target_sizes=[inputs.size_hw], **thresholds)[0]


def test_detections_are_pixel_boxes_labelled_with_the_prompts(model_dir):
    detector = GroundingDinoDetector.from_pretrained(model_dir, score_threshold=0.0,
                                                     text_threshold=0.0)
    assert isinstance(detector, Detector)
    assert detector.name == f"grounding_dino:{model_dir.name}"
    found = detector.detect(image(48, 80), PROMPTS)
    assert len(found) > 0 and found.xyxy.dtype == np.float32 and found.scores.dtype == np.float32
    assert set(found.labels) <= {p.strip() for p in PROMPTS} and found.unknown_prompts == ()
    assert (found.xyxy >= 0).all() and (found.xyxy[:, [0, 2]] <= 80).all()
    assert (found.xyxy[:, [1, 3]] <= 48).all() and (np.diff(found.scores) <= 0).all()


def test_prompts_are_joined_lowercase_each_ending_with_a_full_stop(model_dir):
    detector = GroundingDinoDetector.from_pretrained(model_dir)
    (text_pass,) = detector.plan(("A Cat", "a remote control", "dr. pepper? can"))
    assert text_pass.text == "a cat. a remote control. dr pepper can."
    tokens = detector.processor.tokenizer.convert_ids_to_tokens(
        detector.processor.tokenizer(text_pass.text)["input_ids"])
    owners = {}
    for token, prompt in zip(tokens, text_pass.token_prompt):
        owners.setdefault(int(prompt), []).append(token)
    assert owners[-1] == ["[CLS]", ".", ".", ".", "[SEP]"]
    assert owners[0] == ["a", "cat"] and owners[1] == ["a", "remote", "control"]
    assert "".join(owners[2]).replace("##", "") == "drpeppercan"
    assert phrase_of("  The  Mug. ") == "the mug"


@pytest.mark.parametrize("model_class", ["GroundingDinoForObjectDetection",
                                         "MMGroundingDinoForObjectDetection"])
def test_the_adapter_equals_processor_model_and_post_processing_called_directly(
        model_dir, mm_model_dir, model_class):
    directory = model_dir if model_class.startswith("Grounding") else mm_model_dir
    inputs = image(60, 100, seed=2)
    thresholds = {"threshold": 0.3, "text_threshold": 0.3}
    expected = reference(directory, getattr(transformers, model_class), inputs,
                         "a cat. a remote control. book. red cup.", **thresholds)
    detector = GroundingDinoDetector.from_pretrained(
        directory, score_threshold=0.3, text_threshold=0.3, nms_threshold=None)
    assert type(detector.model).__name__ == model_class
    found = detector.detect(inputs, PROMPTS)
    assert 0 < len(found) <= len(expected["scores"])
    boxes = expected["boxes"].numpy()
    for box, score, label in zip(found.xyxy, found.scores, found.labels):
        (row,) = np.flatnonzero((boxes == box).all(axis=1))  # the same box, to the bit
        assert score == expected["scores"][row].item()
        # the reference's phrase holds the words of the prompt the box was given
        assert set(phrase_of(label).split()) <= set(re.findall("[a-z]+",
                                                               expected["text_labels"][row]))


def test_the_mm_model_is_named_for_its_family(mm_model_dir):
    detector = GroundingDinoDetector.from_pretrained(mm_model_dir)
    assert detector.name == f"mm_grounding_dino:{mm_model_dir.name}"


def test_a_box_goes_to_the_prompt_with_the_largest_share_of_its_tokens():
    # [CLS] a cat . red cup . cup . [SEP]  ->  prompts 0 "a cat", 1 "red cup", 2 "cup"
    owner = np.array([-1, 0, 0, -1, 1, 1, -1, 2, -1, -1])
    probs = np.zeros((6, 12))
    probs[0, [2]] = 0.9  # partial: "cat" alone
    probs[1, [1, 2, 5]] = 0.9  # merged: all of "a cat", half of "red cup"
    probs[2, [4, 5, 7]] = [0.6, 0.6, 0.9]  # all of both "red cup" and "cup": mean decides
    probs[3, [4, 5, 7]] = [0.9, 0.9, 0.5]
    probs[4, [3, 6, 9]] = 0.9  # only the full stops and [SEP]: no prompt
    probs[5, [5, 7]] = 0.9  # "cup" of "red cup" is half; the prompt "cup" is whole
    np.testing.assert_array_equal(assign_prompts(probs, owner, 3, 0.25), [0, 0, 2, 1, -1, 2])
    assert assign_prompts(np.zeros((0, 12)), owner, 3, 0.25).shape == (0,)


def test_boxes_that_match_no_prompt_are_dropped(model_dir):
    inputs = image(48, 64, seed=5)
    everything = reference(model_dir, transformers.GroundingDinoForObjectDetection, inputs,
                           "a cat. book.", threshold=0.0, text_threshold=0.0)
    probs = everything["scores"].numpy()
    detector = GroundingDinoDetector.from_pretrained(
        model_dir, score_threshold=0.0, text_threshold=float(np.median(probs)),
        nms_threshold=None)
    found = detector.detect(inputs, ["a cat", "book"])
    assert 0 < len(found) < len(probs)


def test_a_long_label_list_is_split_into_passes_that_each_fit(model_dir):
    detector = GroundingDinoDetector.from_pretrained(model_dir, score_threshold=0.0,
                                                     text_threshold=0.0)
    labels = tuple(f"{a} {b} {c}" for a in WORDS for b in WORDS[:4] for c in WORDS[4:7])
    passes = detector.plan(labels)
    assert len(passes) == 3
    assert [k for p in passes for k in p.prompts] == list(range(len(labels)))
    tokenizer = detector.processor.tokenizer
    assert all(len(tokenizer(p.text)["input_ids"]) <= 256 for p in passes)
    calls = []
    detector.model.register_forward_hook(lambda *args: calls.append(1))
    found = detector.detect(image(48, 64), labels)
    assert len(calls) == 3 and set(found.labels) <= set(labels)


def test_labels_from_several_passes_come_back_together(model_dir):
    detector = GroundingDinoDetector.from_pretrained(model_dir, score_threshold=0.0,
                                                     text_threshold=0.0, nms_threshold=None)
    inputs = image(48, 64, seed=6)
    detector.max_text_tokens = 6  # "[CLS] a remote control . [SEP]": one prompt a pass
    assert len(detector.plan(PROMPTS)) == len(PROMPTS)
    found = detector.detect(inputs, PROMPTS)
    assert set(found.labels) == set(PROMPTS)  # random weights light every token
    book = GroundingDinoDetector.from_pretrained(model_dir, score_threshold=0.0,
                                                 text_threshold=0.0, nms_threshold=None)
    alone = book.detect(inputs, ["book"])
    np.testing.assert_array_equal(found.xyxy[np.array(found.labels) == "book"], alone.xyxy)


def test_a_prompt_longer_than_the_text_encoder_reads_is_refused(model_dir):
    detector = GroundingDinoDetector.from_pretrained(model_dir)
    with pytest.raises(PerceptionError, match="longer than the 256 tokens.*shorten it"):
        detector.detect(image(32, 32), ["book", " ".join(["red cup"] * 200)])


def _overlapping_pairs(xyxy: np.ndarray, labels) -> int:
    """How many pairs of boxes of one label overlap (share some area)."""
    labels = np.array(labels)
    count = 0
    for label in set(labels):
        boxes = xyxy[labels == label]
        for a in range(len(boxes)):
            for b in range(a + 1, len(boxes)):
                gap = np.minimum(boxes[a, 2:], boxes[b, 2:]) - np.maximum(boxes[a, :2],
                                                                          boxes[b, :2])
                count += bool((gap > 0).all())
    return count


def test_nms_leaves_no_two_overlapping_boxes_of_one_label(model_dir):
    # not square (the tiny model's last map would be 1x1); an image whose unfiltered
    # boxes overlap (11 pairs of one label), so the check below has boxes to compare
    inputs = image(96, 64, seed=0)
    loose = GroundingDinoDetector.from_pretrained(model_dir, score_threshold=0.0,
                                                  text_threshold=0.0, nms_threshold=None)
    strict = GroundingDinoDetector.from_pretrained(model_dir, score_threshold=0.0,
                                                   text_threshold=0.0, nms_threshold=0.0)
    everything, kept = loose.detect(inputs, PROMPTS), strict.detect(inputs, PROMPTS)
    assert _overlapping_pairs(everything.xyxy, everything.labels) > 0  # NMS has work to do
    assert 0 < len(kept) < len(everything)
    assert _overlapping_pairs(kept.xyxy, kept.labels) == 0
    # what NMS keeps is a subset of the boxes it was given, labels unchanged
    given = {(label, *np.round(box, 4)) for label, box in zip(everything.labels,
                                                               everything.xyxy)}
    assert {(label, *np.round(box, 4)) for label, box in zip(kept.labels, kept.xyxy)} <= given


def test_no_prompts_is_refused_saying_to_set_labels(model_dir):
    detector = GroundingDinoDetector.from_pretrained(model_dir)
    for prompts in ([], [" "]):
        with pytest.raises(PerceptionError, match=r"set them \(~/set_labels or --labels\)"):
            detector.detect(image(32, 32), prompts)
    with pytest.raises(PerceptionError, match="'...' has no words"):
        detector.detect(image(32, 32), ["book", "..."])


@pytest.mark.parametrize("options", [{"score_threshold": -1.0}, {"text_threshold": 2.0},
                                     {"nms_threshold": 1.5}])
def test_thresholds_outside_zero_one_are_refused(model_dir, options):
    with pytest.raises(PerceptionError, match="must be within"):
        GroundingDinoDetector.from_pretrained(model_dir, **options)


def test_a_missing_directory_names_the_pull_command(tmp_path):
    with pytest.raises(PerceptionError, match="not found at .*spatial-vqa models pull "
                       "grounding_dino_tiny.*IDEA-Research/grounding-dino-tiny"):
        GroundingDinoDetector.from_pretrained(tmp_path / "grounding_dino_tiny")


def test_a_snapshot_without_weights_or_tokenizer_names_the_pull_command(model_dir, tmp_path):
    no_weights = shutil.copytree(model_dir, tmp_path / "no-weights")
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(PerceptionError, match="incomplete .*spatial-vqa models pull"):
        GroundingDinoDetector.from_pretrained(no_weights)
    for missing in (("processor_config.json",), ("tokenizer.json", "tokenizer_config.json")):
        partial = shutil.copytree(model_dir, tmp_path / f"no-{missing[0]}")
        for name in missing:
            (partial / name).unlink()
        with pytest.raises(PerceptionError, match=f"no-{missing[0]} is corrupt .*spatial-vqa "
                           f"models pull grounding_dino_tiny' again"):
            GroundingDinoDetector.from_pretrained(partial)


def test_a_snapshot_of_another_model_is_refused(model_dir, tmp_path):
    other = shutil.copytree(model_dir, tmp_path / "other")
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "model_type": "owlv2"}))
    with pytest.raises(PerceptionError, match="'owlv2' model, not Grounding DINO"):
        GroundingDinoDetector.from_pretrained(other)


def test_it_loads_with_the_hub_offline(model_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    detector = GroundingDinoDetector.from_pretrained(model_dir, score_threshold=0.0,
                                                     text_threshold=0.0)
    assert len(detector.detect(image(40, 56), PROMPTS)) > 0


def test_build_chain_builds_a_chain_with_grounding_dino_from_a_local_snapshot(model_dir):
    from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain
    from spatial_vqa_ros.perception.families.grounding_dino.adapter import GroundingDinoDetector

    chain = build_chain(PerceptionSpec(detector="grounding_dino",
                                       detector_model=str(model_dir), segmenter="depth_box"))
    assert isinstance(chain.detector, GroundingDinoDetector)
    _, rendered, _ = render_case(0)
    result = chain.run(SensorInputs(rendered.rgb, rendered.camera, rendered.depth_m),
                       ["mug"])
    assert result.provenance.detector == chain.detector.name
    assert result.observations.masks.shape[0] == len(result.detections)

"""Florence-2 vocabulary: phrases are normalised exactly; a tiny random Florence-2 saved
like a hub snapshot loads through the real loading code and answers deterministically;
the caption is grounded with the processor's own prompts and parsing; missing or
foreign snapshots say what to do."""

from __future__ import annotations

import json
import shutil
import string

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.families.florence2.adapter import (  # noqa: E402
    Florence2Vocabulary,
    ImageVocabulary,
    normalise_phrases,
)

#: The tiny model's square input: DaViT strides 4·2·2·2 = 32, so (64/32)² + 1 tokens.
IMAGE_SIZE, IMAGE_TOKENS = 64, 5
#: What the post-processor parses (the conversion script's config, shortened).
PARSERS = {"pure_text": {}, "phrase_grounding": {"banned_grounding_tokens": ["it", "image"]},
           "ocr": {}, "description_with_bboxes": {}, "description_with_polygons": {},
           "polygons": {}, "bboxes": {}, "description_with_bboxes_or_polygons": {}}


def tiny_tokenizer():
    """A byte-level BART tokenizer over single characters (no merges), with Florence-2's
    image token and its 1000 location tokens."""
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "Ġ": 4}
    for piece in string.ascii_letters + ".,'-?:":
        vocab[piece] = len(vocab)
    vocab["<mask>"] = len(vocab)
    tokenizer = transformers.BartTokenizer(vocab=vocab, merges=[],
                                           extra_special_tokens={"image_token": "<image>"})
    tokenizer.add_tokens([f"<loc_{i}>" for i in range(1000)])
    return tokenizer


@pytest.fixture(scope="module")
def florence_dir(tmp_path_factory):
    """A tiny Florence2ForConditionalGeneration (DaViT dims 8-32, BART d 32, one layer
    each side), weights re-drawn, with its processor, saved like a hub snapshot. The
    location tokens' (tied) embeddings are zeroed: random weights otherwise write
    nothing but locations, and the caption, stripped of them, would be empty."""
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tokenizer = tiny_tokenizer()
    processor = transformers.Florence2Processor(
        image_processor=CLIPImageProcessorPil(
            size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, do_center_crop=False,
            image_seq_length=IMAGE_TOKENS),
        tokenizer=tokenizer, num_additional_image_tokens=1, post_processor_config=PARSERS)
    vision = {"depths": [1, 1, 1, 1], "embed_dim": [8, 16, 32, 32], "num_heads": [1, 1, 2, 2],
              "num_groups": [1, 1, 2, 2], "window_size": 2, "projection_dim": 32,
              "max_position_embeddings": 8, "max_temporal_embeddings": 4,
              "drop_path_rate": 0.0}
    text = {"model_type": "bart", "vocab_size": len(tokenizer), "d_model": 32,
            "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
            "decoder_attention_heads": 2, "encoder_ffn_dim": 32, "decoder_ffn_dim": 32,
            "max_position_embeddings": 256, "pad_token_id": 1, "bos_token_id": 0,
            "eos_token_id": 2, "decoder_start_token_id": 2, "forced_bos_token_id": 0}
    model = transformers.Florence2ForConditionalGeneration(transformers.Florence2Config(
        vision_config=vision, text_config=text, image_token_id=tokenizer.image_token_id))
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            torch.nn.init.normal_(parameter, std=0.5)
        model.get_output_embeddings().weight[len(tokenizer) - 1000:] = 0.0
    path = tmp_path_factory.mktemp("florence2") / "florence2-tiny"
    model.eval().save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def vocabulary(florence_dir):
    return Florence2Vocabulary.from_pretrained(florence_dir, device="auto", max_phrases=3,
                                               max_new_tokens=12)


def picture(seed):
    return np.random.default_rng(seed).integers(0, 256, (40, 50, 3), dtype=np.uint8)


def test_phrases_are_lower_cased_stripped_deduplicated_and_lose_their_articles():
    got = normalise_phrases(["A Green  car", " the yellow building.", "a green car",
                             "An apple's core", "the", "", "loc_833>", "2 cups",
                             "The Wooden-Table"], 8)
    assert got == ["green car", "yellow building", "apple's core", "wooden-table"]


def test_at_most_max_phrases_are_kept_in_order():
    assert normalise_phrases(["cup", "a cup", "chair", "table", "lamp"], 2) == ["cup", "chair"]
    assert normalise_phrases([], 3) == []
    with pytest.raises(PerceptionError, match="max_phrases must be >= 1"):
        normalise_phrases(["cup"], 0)


def test_a_tiny_model_loads_and_answers_deterministically(vocabulary):
    assert vocabulary.name == "florence2:florence2-tiny" and vocabulary.device.type == "cpu"
    described = vocabulary.describe(picture(0))
    assert isinstance(described, ImageVocabulary) and isinstance(described.caption, str)
    assert described.caption  # so the grounding step ran on it
    assert isinstance(described.phrases, tuple) and len(described.phrases) <= 3
    assert all(isinstance(p, str) and p == p.strip().lower() for p in described.phrases)
    assert vocabulary.describe(picture(0)) == described
    assert vocabulary.phrases(picture(0)) == list(described.phrases)
    with pytest.raises(PerceptionError, match="rgb must be"):
        vocabulary.describe(picture(0)[..., 0])


def test_the_caption_is_grounded_and_its_phrases_become_the_prompts(vocabulary, monkeypatch):
    """The model's answers are replaced by fixed token sequences: the processor decodes
    and parses them, so this checks the prompts, the parsing and the normalisation."""
    tokenizer = vocabulary.processor.tokenizer
    answers = {"What does the image describe?": "</s><s>a cat on the mat, near it.</s>",
               "Locate the phrases in the caption: a cat on the mat, near it.":
                   "</s><s>a cat<loc_1><loc_2><loc_300><loc_400>the mat<loc_0><loc_500>"
                   "<loc_999><loc_999>it<loc_1><loc_1><loc_2><loc_2>a cat<loc_5><loc_5>"
                   "<loc_9><loc_9></s>"}
    asked = []

    def generate(input_ids, **options):
        assert options["num_beams"] == 3 and options["do_sample"] is False
        prompt = tokenizer.decode(input_ids[0], skip_special_tokens=True).strip()
        asked.append(prompt)
        return torch.tensor([tokenizer(answers[prompt], add_special_tokens=False)["input_ids"]])

    monkeypatch.setattr(vocabulary.model, "generate", generate)
    described = vocabulary.describe(picture(1))
    assert described == ImageVocabulary("a cat on the mat, near it.", ("cat", "mat"))
    assert asked == list(answers)


def test_an_empty_caption_gives_no_phrase(vocabulary, monkeypatch):
    tokenizer = vocabulary.processor.tokenizer
    monkeypatch.setattr(vocabulary.model, "generate", lambda input_ids, **_: torch.tensor(
        [tokenizer("</s><s><loc_3><loc_4></s>", add_special_tokens=False)["input_ids"]]))
    assert vocabulary.describe(picture(2)) == ImageVocabulary("", ())


def test_missing_and_foreign_snapshots_are_refused(florence_dir, tmp_path):
    with pytest.raises(PerceptionError, match="spatial-vqa models pull florence2_base'"):
        Florence2Vocabulary.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PerceptionError, match="incomplete .*models pull florence2_base'"):
        Florence2Vocabulary.from_pretrained(tmp_path / "empty")
    foreign = tmp_path / "owl"
    foreign.mkdir()
    (foreign / "config.json").write_text(json.dumps({"model_type": "owlv2"}))
    (foreign / "model.safetensors").write_bytes(b"x")
    with pytest.raises(PerceptionError, match="not Florence-2"):
        Florence2Vocabulary.from_pretrained(foreign)
    bare = shutil.copytree(florence_dir, tmp_path / "bare")
    config = json.loads((bare / "processor_config.json").read_text())
    config.pop("post_processor_config")
    (bare / "processor_config.json").write_text(json.dumps(config))
    with pytest.raises(PerceptionError, match="bare is corrupt .*post_processor_config.*"
                       "models pull florence2_base' again"):
        Florence2Vocabulary.from_pretrained(bare)
    with pytest.raises(PerceptionError, match="caption_task must be one of"):
        Florence2Vocabulary.from_pretrained(florence_dir, caption_task="<OD>")

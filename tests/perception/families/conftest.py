"""Tiny models shared by the family tests: built once per session, saved like hub
snapshots, and loaded back through the real loading code by each test."""

from __future__ import annotations

import json

import pytest
from tiny_models import (
    DA_PROCESSOR,
    OWLV2_TEXT_LEN,
    clip_vocab,
    depth_pro_preprocessor_config,
    sam2_preprocessor_config,
    save_redrawn,
    tiny_depth_anything_config,
    tiny_depth_pro,
    tiny_owlvit,
    tiny_sam2,
    tiny_slimsam,
)

#: The tiny SAM's input size (its processor resizes and pads to this).
SAM_IMAGE_SIZE = 128


@pytest.fixture(scope="session")
def sam_dir(tmp_path_factory):
    """A tiny random SamModel + its PIL SamProcessor, saved like a hub snapshot."""
    torch = pytest.importorskip("torch")
    from transformers import SamConfig, SamModel, SamProcessor
    from transformers.models.sam.image_processing_pil_sam import SamImageProcessorPil

    torch.manual_seed(0)
    config = SamConfig(
        vision_config={"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "window_size": 4, "global_attn_indexes": [1], "num_pos_feats": 16,
                       "image_size": SAM_IMAGE_SIZE, "output_channels": 32, "mlp_dim": 64},
        prompt_encoder_config={"hidden_size": 32, "image_size": SAM_IMAGE_SIZE,
                               "image_embedding_size": SAM_IMAGE_SIZE // 16},
        mask_decoder_config={"hidden_size": 32, "num_hidden_layers": 2,
                             "num_attention_heads": 2, "mlp_dim": 64,
                             "iou_head_hidden_dim": 32})
    model = SamModel(config).eval()
    with torch.no_grad():  # default init gives near-constant masks: parity would be vacuous
        for parameter in model.parameters():
            torch.nn.init.normal_(parameter, std=0.5)
    processor = SamProcessor(image_processor=SamImageProcessorPil(
        size={"longest_edge": SAM_IMAGE_SIZE}, pad_size={"height": SAM_IMAGE_SIZE,
                                                     "width": SAM_IMAGE_SIZE}))
    path = tmp_path_factory.mktemp("sam") / "sam-tiny"
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def sam2_dir(tmp_path_factory):
    """A tiny random Sam2Model snapshot with its preprocessor_config.json."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    path = tmp_path_factory.mktemp("sam2") / "sam2-tiny"
    tiny_sam2().save_pretrained(path)
    (path / "preprocessor_config.json").write_text(json.dumps(sam2_preprocessor_config()))
    return path


@pytest.fixture(scope="session")
def depth_pro_dir(tmp_path_factory):
    """A tiny random Depth Pro snapshot (with the field-of-view head)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    path = tmp_path_factory.mktemp("depth-pro") / "depth-pro-tiny"
    tiny_depth_pro().save_pretrained(path)
    (path / "preprocessor_config.json").write_text(
        json.dumps(depth_pro_preprocessor_config()))
    return path


@pytest.fixture(scope="session")
def da_metric_dir(tmp_path_factory):
    """A tiny Depth Anything V2 metric snapshot (max_depth an int: transformers 5.23 types
    it int | None, strictly)."""
    transformers = pytest.importorskip("transformers")
    config = tiny_depth_anything_config(transformers.DepthAnythingConfig,
                                        depth_estimation_type="metric", max_depth=20)
    return save_redrawn(tmp_path_factory.mktemp("da") / "da-v2-metric-tiny",
                        transformers.DepthAnythingForDepthEstimation(config),
                        transformers.DPTImageProcessorPil(**DA_PROCESSOR), std=0.15)


@pytest.fixture(scope="session")
def da_prompt_dir(tmp_path_factory):
    """A tiny Prompt Depth Anything snapshot."""
    transformers = pytest.importorskip("transformers")
    config = tiny_depth_anything_config(transformers.PromptDepthAnythingConfig,
                                        depth_estimation_type="metric", max_depth=1)
    return save_redrawn(tmp_path_factory.mktemp("pda") / "prompt-da-tiny",
                        transformers.PromptDepthAnythingForDepthEstimation(config),
                        transformers.PromptDepthAnythingImageProcessorPil(**DA_PROCESSOR),
                        std=0.15)


@pytest.fixture(scope="session")
def owlv2_dir(tmp_path_factory):
    """A tiny OWLv2 snapshot (image 64, one layer per tower) with its CLIP tokenizer."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from transformers.models.owlv2.image_processing_pil_owlv2 import Owlv2ImageProcessorPil

    vocab = clip_vocab()
    text = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1,
            "num_attention_heads": 4, "vocab_size": len(vocab),
            "max_position_embeddings": OWLV2_TEXT_LEN, "pad_token_id": 0,
            "bos_token_id": vocab["<|startoftext|>"], "eos_token_id": vocab["<|endoftext|>"]}
    vision = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1,
              "num_attention_heads": 4, "image_size": 64, "patch_size": 16}
    model = transformers.Owlv2ForObjectDetection(transformers.Owlv2Config(
        text_config=text, vision_config=vision, projection_dim=32))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():  # varied, not saturated
            torch.nn.init.normal_(parameter, std=0.1 if "box_head" in name else 0.2)
    tokenizer = transformers.CLIPTokenizer(vocab=vocab, merges=[], pad_token="!",
                                           model_max_length=OWLV2_TEXT_LEN)
    processor = transformers.Owlv2Processor(
        image_processor=Owlv2ImageProcessorPil(size={"height": 64, "width": 64}),
        tokenizer=tokenizer)
    path = tmp_path_factory.mktemp("owlv2-tiny")
    model.eval().save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def owlvit_dir(tmp_path_factory):
    """A tiny OWL-ViT snapshot (image 64, patch 16, one layer per tower)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return tiny_owlvit(tmp_path_factory.mktemp("owlvit") / "owlvit-tiny")


@pytest.fixture(scope="session")
def slimsam_dir(tmp_path_factory):
    """A tiny SamModel of SlimSAM-50's shape ratios, named as its registry entry."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return tiny_slimsam(tmp_path_factory.mktemp("models") / "slimsam_50_uniform")

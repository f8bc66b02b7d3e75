"""Tiny random video-memory models (SAM 2's video model), saved like hub snapshots."""

from __future__ import annotations

import json
from pathlib import Path

#: The tiny models' square input (the real checkpoints use 1024 / 1008).
VIDEO_SIZE = 64


def tiny_sam2_video(size: int = VIDEO_SIZE):
    """A Sam2VideoModel with a 4-stage Hiera of dims 8-64 and 128-wide heads: it builds
    only with ``memory_encoder_output_channels=64`` and a hidden size above 64. Weights
    re-drawn (the default init gives near-constant masks)."""
    import torch
    import transformers

    backbone = transformers.Sam2HieraDetConfig(
        hidden_size=8, embed_dim_per_stage=[8, 16, 32, 64], blocks_per_stage=[1, 1, 2, 1],
        num_attention_heads_per_stage=[1, 1, 2, 2], global_attention_blocks=[3],
        image_size=[size, size], window_positional_embedding_background_size=[4, 4],
        window_size_per_stage=[4, 2, 2, 2])
    vision = {"backbone_config": backbone, "backbone_channel_list": [64, 32, 16, 8],
              "backbone_feature_sizes": [[size // 4] * 2, [size // 8] * 2, [size // 16] * 2],
              "fpn_hidden_size": 128}
    config = transformers.Sam2VideoConfig(
        vision_config=vision,
        prompt_encoder_config={"hidden_size": 128, "image_size": size, "patch_size": 16},
        mask_decoder_config={"hidden_size": 128, "num_attention_heads": 2, "mlp_dim": 64,
                             "iou_head_hidden_dim": 32},
        image_size=size, memory_attention_hidden_size=128, memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64, memory_encoder_hidden_size=128,
        memory_encoder_output_channels=64, mask_downsampler_embed_dim=128,
        memory_fuser_embed_dim=128, memory_fuser_intermediate_dim=128,
        memory_fuser_num_layers=1, memory_attention_rope_feat_sizes=[size // 16] * 2)
    model = transformers.Sam2VideoModel(config).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            torch.nn.init.normal_(parameter, std=0.2)
    return model


def preprocessor_config(size: int = VIDEO_SIZE) -> dict:
    """A SAM2 snapshot's preprocessor_config.json at the tiny size (written by hand:
    saving the processor needs torchvision)."""
    return {"image_processor_type": "Sam2ImageProcessor", "processor_class": "Sam2VideoProcessor",
            "size": {"height": size, "width": size}, "resample": 2, "do_resize": True,
            "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
            "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}


def save_snapshot(model, path: Path, size: int = VIDEO_SIZE) -> Path:
    model.save_pretrained(path)
    (path / "preprocessor_config.json").write_text(json.dumps(preprocessor_config(size)))
    return path


#: The tiny SAM 3 tracker's input: four 14 px patches a side.
SAM3_SIZE = 56


def tiny_sam3_tracker(size: int = SAM3_SIZE):
    """A Sam3TrackerVideoModel with a 2-layer ViT of width 32 and 128-wide heads (the
    same memory constraints as SAM 2's), weights re-drawn."""
    import torch
    import transformers

    patches = size // 14
    vit = transformers.Sam3ViTConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        image_size=size, patch_size=14, window_size=2, global_attn_indexes=[1],
        pretrain_image_size=28)
    vision = {"backbone_config": vit, "fpn_hidden_size": 128,
              "backbone_feature_sizes": [[patches * 4] * 2, [patches * 2] * 2, [patches] * 2]}
    config = transformers.Sam3TrackerVideoConfig(
        vision_config=vision,
        prompt_encoder_config={"hidden_size": 128, "image_size": size, "patch_size": 14},
        mask_decoder_config={"hidden_size": 128, "num_attention_heads": 2, "mlp_dim": 64,
                             "iou_head_hidden_dim": 32},
        image_size=size, memory_attention_hidden_size=128, memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64, memory_encoder_hidden_size=128,
        memory_encoder_output_channels=64, mask_downsampler_embed_dim=128,
        memory_fuser_embed_dim=128, memory_fuser_intermediate_dim=128,
        memory_fuser_num_layers=1, memory_attention_rope_feat_sizes=[patches] * 2)
    model = transformers.Sam3TrackerVideoModel(config).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            torch.nn.init.normal_(parameter, std=0.2)
    return model


def save_sam3_snapshot(model, path: Path, size: int = SAM3_SIZE) -> Path:
    model.save_pretrained(path)
    config = {**preprocessor_config(size), "image_processor_type": "Sam3ImageProcessor",
              "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    (path / "preprocessor_config.json").write_text(json.dumps(config))
    return path

"""A tiny random SAM 3 (``Sam3Model``, every sub-config shrunk) saved like a hub
snapshot: the model, a letter CLIP tokenizer and the preprocessor_config.json written
by hand (saving ``Sam3Processor`` needs torchvision)."""

from __future__ import annotations

import json

from tiny_models import clip_vocab

#: The tiny model's square input: 8 x 8 patches of 14 px (1008 for the real weights).
SAM3_IMAGE_SIZE = 112
#: Object queries of the tiny DETR decoder (200 for the real weights).
SAM3_QUERIES = 12


def tiny_sam3_config(model_type: str = "sam3", size: int = SAM3_IMAGE_SIZE):
    """Sam3Config (or Sam3LiteTextConfig): ViT hidden 32, 2 layers (one global), FPN
    32, CLIP text hidden 32 on the letter vocabulary, one-layer geometry encoder, DETR
    encoder and decoder of 12 queries, mask decoder 32; ``size``: the square input, a
    multiple of 56 (14 px patches, windows of 4)."""
    import transformers

    grid = size // 14
    vit = transformers.Sam3ViTConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        image_size=size, patch_size=14, window_size=4, global_attn_indexes=[1],
        pretrain_image_size=56)
    vocab = clip_vocab()
    small = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
             "num_layers": 1}
    common = {
        "vision_config": {"backbone_config": vit, "fpn_hidden_size": 32,
                          "backbone_feature_sizes": [[grid * 4] * 2, [grid * 2] * 2,
                                                     [grid] * 2]},
        "geometry_encoder_config": dict(small),
        "detr_encoder_config": dict(small),
        "detr_decoder_config": dict(small, num_queries=SAM3_QUERIES),
        "mask_decoder_config": {"hidden_size": 32, "num_attention_heads": 2},
    }
    if model_type == "sam3":
        text = {"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 64,
                "projection_dim": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                "max_position_embeddings": 32, "bos_token_id": vocab["<|startoftext|>"],
                "eos_token_id": vocab["<|endoftext|>"], "pad_token_id": 0}
        return transformers.Sam3Config(text_config=text, **common)
    raise ValueError(model_type)


def tiny_sam3(std: float = 0.1, size: int = SAM3_IMAGE_SIZE):
    """The model, matrices re-drawn from N(0, std), biases from N(0, 0.05), norm scales
    from N(1, 0.1): the default init (and a plain N(0, s) of every parameter) gives
    near-constant scores and all-empty masks, which would make every threshold test
    vacuous; this gives scores spread over about 0.2-0.3 and masks of 3-60 % of the
    image."""
    import torch
    import transformers

    model = transformers.Sam3Model(tiny_sam3_config(size=size)).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.ndim >= 2:
                torch.nn.init.normal_(parameter, std=std)
            elif name.endswith("bias"):
                torch.nn.init.normal_(parameter, std=0.05)
            else:
                torch.nn.init.normal_(parameter, mean=1.0, std=0.1)
    return model


def tiny_sam3_lite_text():
    """A Sam3LiteTextModel: the tiny SAM 3's vision and decoders, its small text encoder
    (two layers, hidden 32, kernel 3) on the letter vocabulary; default init."""
    import transformers

    base = tiny_sam3_config().to_dict()
    text = {"vocab_size": len(clip_vocab()), "hidden_size": 32, "intermediate_size": 64,
            "projection_dim": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
            "max_position_embeddings": 32, "repmixer_kernel_size": 3}
    config = transformers.Sam3LiteTextConfig(text_config=text, **{
        key: base[key] for key in ("vision_config", "geometry_encoder_config",
                                   "detr_encoder_config", "detr_decoder_config",
                                   "mask_decoder_config")})
    return transformers.Sam3LiteTextModel(config).eval()


def sam3_preprocessor_config(size: int = SAM3_IMAGE_SIZE) -> dict:
    """What the facebook/sam3 snapshot's preprocessor_config.json holds
    (Sam3ImageProcessor's defaults), at the tiny size."""
    return {"image_processor_type": "Sam3ImageProcessor", "processor_class": "Sam3Processor",
            "size": {"height": size, "width": size}, "mask_size": {"height": 288, "width": 288},
            "resample": 2, "do_resize": True, "do_rescale": True, "rescale_factor": 1 / 255,
            "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
            "do_convert_rgb": True}


def save_tiny_sam3(path, model=None, size: int = SAM3_IMAGE_SIZE):
    """``model`` (default :func:`tiny_sam3` of input ``size``) with its tokenizer and
    pre-processing at ``path``, like a hub snapshot."""
    import transformers

    model = model or tiny_sam3(size=size)
    size = model.config.vision_config.backbone_config.image_size
    model.save_pretrained(path)
    transformers.CLIPTokenizer(vocab=clip_vocab(), merges=[], pad_token="!",
                               model_max_length=32).save_pretrained(path)
    (path / "preprocessor_config.json").write_text(json.dumps(sam3_preprocessor_config(size)))
    return path

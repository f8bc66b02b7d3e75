"""Tiny randomly initialised models of the real classes, for the family tests.

Plain builders (the session fixtures in ``conftest.py`` save them once); weights are
re-drawn, because the default initialisation gives near-constant outputs that make
any parity or equivalence check vacuous.
"""

from __future__ import annotations

#: The tiny Depth Anything's processor: short side 70, multiples of the 14 px patch.
DA_PROCESSOR = {"size": {"height": 70, "width": 70}, "keep_aspect_ratio": True,
                "ensure_multiple_of": 14, "resample": 3, "do_pad": False}
#: OWLv2's text encoder reads 16 tokens per query.
OWLV2_TEXT_LEN = 16


def tiny_depth_anything_config(config_class, **extra):
    """A Depth Anything (or Prompt Depth Anything) config: dinov2 hidden 32, 4 layers."""
    import transformers

    backbone = transformers.Dinov2Config(
        hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
        patch_size=14, image_size=70, out_indices=[1, 2, 3, 4], reshape_hidden_states=False)
    return config_class(backbone_config=backbone, reassemble_hidden_size=32,
                        neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16,
                        head_hidden_size=8, **extra)


def save_redrawn(path, model, processor, std: float):
    """Re-draw every weight from N(0, std), save model and processor like a snapshot."""
    import torch

    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            torch.nn.init.normal_(parameter, std=std)
    model.eval().save_pretrained(path)
    processor.save_pretrained(path)
    return path


def clip_vocab() -> dict[str, int]:
    """Letters as byte-pair pieces, start and end last as in CLIP (OWLv2 treats a query
    whose first id is 0 as padding, so '!' = 0 is the pad token, as in OWLv2's own)."""
    vocab = {"!": 0, "!</w>": 1}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        vocab[letter] = len(vocab)
        vocab[letter + "</w>"] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab


#: The tiny SAM2's square input (the real checkpoints use 1024).
SAM2_IMAGE_SIZE = 128


def tiny_sam2(size: int = SAM2_IMAGE_SIZE):
    """A Sam2Model with a 4-stage Hiera of dims 8-64 (a global block may not start a
    pooling stage: ZeroDivisionError) and FPN 32, weights re-drawn."""
    import torch
    import transformers

    backbone = transformers.Sam2HieraDetConfig(
        hidden_size=8, embed_dim_per_stage=[8, 16, 32, 64], blocks_per_stage=[1, 1, 2, 1],
        num_attention_heads_per_stage=[1, 1, 2, 2], global_attention_blocks=[3],
        image_size=[size, size], window_positional_embedding_background_size=[4, 4],
        window_size_per_stage=[4, 2, 2, 2])
    vision = {"backbone_config": backbone, "backbone_channel_list": [64, 32, 16, 8],
              "backbone_feature_sizes": [[size // 4] * 2, [size // 8] * 2, [size // 16] * 2],
              "fpn_hidden_size": 32}
    config = transformers.Sam2Config(
        vision_config=vision,
        prompt_encoder_config={"hidden_size": 32, "image_size": size, "patch_size": 16},
        mask_decoder_config={"hidden_size": 32, "num_attention_heads": 2, "mlp_dim": 64,
                             "iou_head_hidden_dim": 32})
    model = transformers.Sam2Model(config).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            torch.nn.init.normal_(parameter, std=0.3)
    return model


def sam2_preprocessor_config(size: int = SAM2_IMAGE_SIZE) -> dict:
    """What a SAM2 hub snapshot's preprocessor_config.json holds (Sam2ImageProcessor's
    defaults), at the tiny size: written by hand, as saving the processor needs
    torchvision."""
    return {"image_processor_type": "Sam2ImageProcessor", "processor_class": "Sam2Processor",
            "size": {"height": size, "width": size}, "mask_size": {"height": 256, "width": 256},
            "resample": 2, "do_resize": True, "do_rescale": True, "rescale_factor": 1 / 255,
            "do_normalize": True, "image_mean": [0.485, 0.456, 0.406],
            "image_std": [0.229, 0.224, 0.225], "do_convert_rgb": True}


#: The tiny Depth Pro's fixed square input (1536 for the released weights).
DEPTH_PRO_IMAGE_SIZE = 256


def tiny_depth_pro(fov_head: bool = True):
    """A DepthProForDepthEstimation with three dinov2 encoders (hidden 32, 2 layers,
    patch 16) on 64-pixel patches; weights re-drawn, then the field-of-view head's last
    layer set to give about 60 degrees (random weights give any angle, even negative)."""
    import torch
    import transformers

    def dinov2():
        return transformers.Dinov2Config(hidden_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, intermediate_size=64,
                                         patch_size=16, image_size=64)

    config = transformers.DepthProConfig(
        patch_size=64, fusion_hidden_size=16, intermediate_hook_ids=[1, 0],
        intermediate_feature_dims=[16, 16], scaled_images_feature_dims=[32, 32, 16],
        use_fov_model=fov_head, image_model_config=dinov2(), patch_model_config=dinov2(),
        fov_model_config=dinov2())
    model = transformers.DepthProForDepthEstimation(config).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            torch.nn.init.normal_(parameter, std=0.2)
        if fov_head:
            last = model.fov_model.head.layers[-1]
            torch.nn.init.normal_(last.weight, std=0.01)
            last.bias.fill_(60.0)
    return model


def depth_pro_preprocessor_config(size: int = DEPTH_PRO_IMAGE_SIZE) -> dict:
    """A Depth Pro hub snapshot's preprocessor_config.json (DepthProImageProcessor's
    defaults) at the tiny size."""
    return {"image_processor_type": "DepthProImageProcessor",
            "size": {"height": size, "width": size}, "resample": 2, "do_resize": True,
            "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
            "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}


def tiny_clip(path):
    """A tiny random CLIPModel (image 32, patch 8) with its PIL processor and a letter
    tokenizer, saved like a hub snapshot at ``path``."""
    import torch
    import transformers

    vocab = clip_vocab()
    text = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1,
            "num_attention_heads": 4, "vocab_size": len(vocab), "max_position_embeddings": 16,
            "pad_token_id": 0, "bos_token_id": vocab["<|startoftext|>"],
            "eos_token_id": vocab["<|endoftext|>"]}
    vision = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1,
              "num_attention_heads": 4, "image_size": 32, "patch_size": 8}
    model = transformers.CLIPModel(transformers.CLIPConfig(
        text_config=text, vision_config=vision, projection_dim=16)).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            torch.nn.init.normal_(parameter, std=0.3)
    tokenizer = transformers.CLIPTokenizer(vocab=vocab, merges=[], pad_token="!",
                                           model_max_length=16)
    processor = transformers.CLIPProcessor(
        image_processor=transformers.CLIPImageProcessorPil(
            size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tokenizer)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


#: The tiny OWL-ViT's square input (768 for the released weights).
OWLVIT_IMAGE_SIZE = 64


def tiny_owlvit(path, *, image_size: int = OWLVIT_IMAGE_SIZE, patch_size: int = 16):
    """A tiny random OwlViTForObjectDetection (one layer per tower) with its PIL
    processor (resize to the square, centre crop of the same size, as the hub's) and a
    letter tokenizer, saved like a hub snapshot at ``path``."""
    import torch
    import transformers
    from transformers.models.owlvit.image_processing_pil_owlvit import OwlViTImageProcessorPil

    vocab = clip_vocab()
    text = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1,
            "num_attention_heads": 4, "vocab_size": len(vocab),
            "max_position_embeddings": OWLV2_TEXT_LEN, "pad_token_id": 0,
            "bos_token_id": vocab["<|startoftext|>"], "eos_token_id": vocab["<|endoftext|>"]}
    vision = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1,
              "num_attention_heads": 4, "image_size": image_size, "patch_size": patch_size}
    model = transformers.OwlViTForObjectDetection(transformers.OwlViTConfig(
        text_config=text, vision_config=vision, projection_dim=32))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():  # varied, not saturated
            torch.nn.init.normal_(parameter, std=0.1 if "box_head" in name else 0.2)
    tokenizer = transformers.CLIPTokenizer(vocab=vocab, merges=[], pad_token="!",
                                           model_max_length=OWLV2_TEXT_LEN)
    square = {"height": image_size, "width": image_size}
    processor = transformers.OwlViTProcessor(
        image_processor=OwlViTImageProcessorPil(size=square, crop_size=square,
                                                do_center_crop=True),
        tokenizer=tokenizer)
    model.eval().save_pretrained(path)
    processor.save_pretrained(path)
    return path


def tiny_slimsam(path, *, image_size: int = 128):
    """A tiny random SamModel with SlimSAM-50's shape ratios (its config: ViT-B's 12
    heads and depth, hidden 384 = 1.5 x the 256 neck channels, MLP 4 x hidden; here
    hidden 48, neck 32, MLP 192, 12 heads, 4 layers) and its PIL SamProcessor, saved
    like a hub snapshot at ``path``."""
    import torch
    import transformers
    from transformers.models.sam.image_processing_pil_sam import SamImageProcessorPil

    config = transformers.SamConfig(
        vision_config={"hidden_size": 48, "mlp_dim": 192, "num_attention_heads": 12,
                       "num_hidden_layers": 4, "global_attn_indexes": [1, 3],
                       "window_size": 4, "num_pos_feats": 16, "image_size": image_size,
                       "output_channels": 32},
        prompt_encoder_config={"hidden_size": 32, "image_size": image_size,
                               "image_embedding_size": image_size // 16},
        mask_decoder_config={"hidden_size": 32, "num_hidden_layers": 2,
                             "num_attention_heads": 2, "mlp_dim": 64,
                             "iou_head_hidden_dim": 32})
    model = transformers.SamModel(config).eval()
    torch.manual_seed(3)  # a draw whose masks are neither empty nor full (many are)
    with torch.no_grad():
        for parameter in model.parameters():
            torch.nn.init.normal_(parameter, std=0.2)
    processor = transformers.SamProcessor(image_processor=SamImageProcessorPil(
        size={"longest_edge": image_size},
        pad_size={"height": image_size, "width": image_size}))
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path

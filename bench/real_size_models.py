"""Real checkpoints' architectures with random weights, for the speed benchmarks.

Speed does not depend on the weights, and the hub is not reachable here, so each
builder writes out the released checkpoint's configuration (from its config.json or
transformers' conversion script) with random weights: ``bench_families`` times the
families, ``bench_presets`` the presets' chains. Tokenizers are stand-ins with the
real vocabulary sizes that spell :data:`PROMPTS`.
"""

from __future__ import annotations

from pathlib import Path

PROMPTS = ["mug", "laptop", "chair", "remote control", "potted plant"]
WORDS = ["mug", "laptop", "chair", "remote", "control", "potted", "plant"]
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def depth_anything(device: str, directory: Path):
    import transformers

    from spatial_vqa_ros.perception.families.depth_anything.adapter import DepthAnythingDepth

    backbone = transformers.Dinov2Config(
        hidden_size=384, num_hidden_layers=12, num_attention_heads=6, mlp_ratio=4,
        patch_size=14, image_size=518, out_indices=[3, 6, 9, 12], reshape_hidden_states=False)
    config = transformers.DepthAnythingConfig(
        backbone_config=backbone, patch_size=14, reassemble_hidden_size=384,
        reassemble_factors=[4, 2, 1, 0.5], neck_hidden_sizes=[48, 96, 192, 384],
        fusion_hidden_size=64, head_hidden_size=32, depth_estimation_type="metric",
        max_depth=20)
    transformers.DepthAnythingForDepthEstimation(config).save_pretrained(directory)
    transformers.DPTImageProcessorPil(
        size={"height": 518, "width": 518}, keep_aspect_ratio=True, ensure_multiple_of=14,
        resample=3, do_pad=False, image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225]).save_pretrained(directory)
    return DepthAnythingDepth.from_pretrained(directory, device=device)


def owlv2(device: str):
    import transformers
    from transformers.models.owlv2.image_processing_pil_owlv2 import Owlv2ImageProcessorPil

    from spatial_vqa_ros.perception.families.owlv2.adapter import Owlv2Detector

    vocab = {"!": 0, "!</w>": 1}
    for c in LETTERS:
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    for word in WORDS:
        vocab[word + "</w>"] = len(vocab)
    while len(vocab) < 49406:
        vocab[f"<filler{len(vocab)}>"] = len(vocab)
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = 49406, 49407
    tokenizer = transformers.CLIPTokenizer(vocab=vocab, merges=[], pad_token="!",
                                           model_max_length=16)
    config = transformers.Owlv2Config(
        text_config={"hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12,
                     "num_attention_heads": 8, "max_position_embeddings": 16,
                     "vocab_size": 49408},
        vision_config={"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                       "num_attention_heads": 12, "image_size": 960, "patch_size": 16},
        projection_dim=512)
    model = transformers.Owlv2ForObjectDetection(config).eval().to(device)
    processor = transformers.Owlv2Processor(image_processor=Owlv2ImageProcessorPil(),
                                            tokenizer=tokenizer)
    return Owlv2Detector(model, processor, device=device, score_threshold=0.1)


def grounding_dino(device: str):
    import transformers
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import (
        GroundingDinoImageProcessorPil,
    )

    from spatial_vqa_ros.perception.families.grounding_dino.adapter import GroundingDinoDetector

    config = transformers.GroundingDinoConfig(backbone_config=SWIN_TINY,
                                              text_config={"model_type": "bert"})
    model = transformers.GroundingDinoForObjectDetection(config).eval().to(device)
    processor = transformers.GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessorPil(), tokenizer=bert_tokenizer())
    return GroundingDinoDetector(model, processor, device=device)


#: Grounding DINO tiny's (and MM Grounding DINO tiny's) Swin-T backbone.
SWIN_TINY = {"model_type": "swin", "embed_dim": 96, "depths": [2, 2, 6, 2],
             "num_heads": [3, 6, 12, 24], "window_size": 7, "out_indices": [2, 3, 4]}


def bert_tokenizer():
    """A BERT-sized WordPiece vocabulary (30,522) that spells the prompts' words."""
    import transformers

    fixed = {0: "[PAD]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]",
             1012: ".", 1029: "?"}
    pieces = iter([*WORDS, *LETTERS, *(f"##{c}" for c in LETTERS)])
    tokens = [fixed.get(i) or (next(pieces, None) if i > 103 else None) or f"[unused{i}]"
              for i in range(30522)]
    return transformers.BertTokenizer(vocab={t: i for i, t in enumerate(tokens)})


def mm_grounding_dino(directory: Path) -> None:
    """MM Grounding DINO tiny (transformers' default MMGroundingDinoConfig is that
    checkpoint's architecture; Swin-T backbone, BERT text encoder) saved at ``directory``."""
    import transformers
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import (
        GroundingDinoImageProcessorPil,
    )

    config = transformers.MMGroundingDinoConfig(backbone_config=SWIN_TINY,
                                                text_config={"model_type": "bert"})
    transformers.MMGroundingDinoForObjectDetection(config).save_pretrained(directory)
    transformers.GroundingDinoProcessor(image_processor=GroundingDinoImageProcessorPil(),
                                        tokenizer=bert_tokenizer()).save_pretrained(directory)


def torch_default_init(model):
    """``model`` with its linear and convolution weights re-drawn by torch's default
    initialisation. transformers' own (normal, std 0.02) shrinks SAM's activations to
    about 1e-20 through the encoder: subnormal floats the CPU computes tens of times
    slower, so the figure would time underflow, not the model (bench_presets.redraw)."""
    import torch

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                module.reset_parameters()
    return model


def sam(device: str):
    from transformers import SamConfig, SamModel, SamProcessor
    from transformers.models.sam.image_processing_pil_sam import SamImageProcessorPil

    from spatial_vqa_ros.perception.families.sam.adapter import SamSegmenter

    config = SamConfig(vision_config={
        "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
        "global_attn_indexes": [2, 5, 8, 11], "image_size": 1024, "window_size": 14,
        "mlp_dim": 3072, "output_channels": 256, "num_pos_feats": 128})
    model = torch_default_init(SamModel(config)).eval().to(device)
    return SamSegmenter(model, SamProcessor(image_processor=SamImageProcessorPil()),
                        device=device, cache_embedding=True)


#: SAM2.1 hiera large's image encoder (transformers' convert_sam2_to_hf.py, "hiera_large").
HIERA_LARGE = {"hidden_size": 144, "embed_dim_per_stage": [144, 288, 576, 1152],
               "num_attention_heads_per_stage": [2, 4, 8, 16],
               "blocks_per_stage": [2, 6, 36, 4], "global_attention_blocks": [23, 33, 43],
               "window_positional_embedding_background_size": [7, 7],
               "window_size_per_stage": [8, 4, 16, 8]}


def sam2(device: str, directory: Path, *, large: bool = False):
    """SAM2.1 hiera tiny (transformers' default Sam2Config is that architecture), or
    hiera large (``large``)."""
    import json

    import transformers

    from spatial_vqa_ros.perception.families.sam2.adapter import Sam2Segmenter

    config = transformers.Sam2Config(vision_config=transformers.Sam2VisionConfig(
        backbone_config=transformers.Sam2HieraDetConfig(**HIERA_LARGE),
        backbone_channel_list=[1152, 576, 288, 144])) if large else transformers.Sam2Config()
    torch_default_init(transformers.Sam2Model(config)).save_pretrained(directory)
    (directory / "preprocessor_config.json").write_text(json.dumps({
        "size": {"height": 1024, "width": 1024}, "resample": 2,
        "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}))
    return Sam2Segmenter.from_pretrained(directory, device=device)


def depth_pro(device: str, directory: Path):
    """Depth Pro as released: three DINOv2-L/16 encoders (image, patches, field of view)
    on a 1536 x 1536 input cut into 384-pixel patches."""
    import json

    import transformers

    from spatial_vqa_ros.perception.families.depth_pro.adapter import DepthProDepth

    def vit_large():
        return transformers.Dinov2Config(hidden_size=1024, num_hidden_layers=24,
                                         num_attention_heads=16, patch_size=16,
                                         image_size=384, layerscale_value=1.0)

    config = transformers.DepthProConfig(
        use_fov_model=True, intermediate_hook_ids=[11, 5], intermediate_feature_dims=[256, 256],
        scaled_images_feature_dims=[1024, 1024, 512], image_model_config=vit_large(),
        patch_model_config=vit_large(), fov_model_config=vit_large())
    transformers.DepthProForDepthEstimation(config).save_pretrained(directory)
    (directory / "preprocessor_config.json").write_text(json.dumps({
        "size": {"height": 1536, "width": 1536}, "resample": 2,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}))
    return DepthProDepth.from_pretrained(directory, device=device)

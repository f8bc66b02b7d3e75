"""Tiny models shared by the family tests: built once per session, saved like hub
snapshots, and loaded back through the real loading code by each test."""

from __future__ import annotations

import pytest

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

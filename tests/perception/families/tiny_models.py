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

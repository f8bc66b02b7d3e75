"""SAM at a smaller input than its checkpoint's 1024 px: the model and processor resized.

Why: SAM's ViT encoder attends globally over (1024 / 16)^2 = 4,096 tokens in four of its
layers; on a 2-core CPU that attention, not the width of the layers, is most of a
frame (SlimSAM-50's encoder: 2.6 s at 1024 px, 0.46 s at 512 px on ONNX Runtime; the
pruned width barely matters: 1.7 s at hidden 168). The ``cpu_light`` preset runs it
at 512 px, as it runs Depth Anything at 252 px.

What changes, and how:

- the processor resizes the long side to ``input_size`` and pads to a square of it;
- the encoder's absolute position embedding (a grid of one vector per patch) is
  resampled to the new grid (bicubic, as ViT position embeddings are resized for
  other resolutions), and the global layers' relative position tables to their new
  length (linearly: the resampling SAM's own ``get_rel_pos`` applies when a table's
  length does not match);
- the prompt encoder normalises boxes by the new input size and lays its dense
  positional grid over the new embedding size.

The windowed layers (14 x 14 tokens) and the decoder are unchanged. A smaller input
costs detail: masks are predicted at a quarter of the input (128 px at 512), and the
weights were trained at 1024 px. Real-checkpoint quality at 512 px cannot be measured
here (no weights); the README says so beside the preset.
"""

from __future__ import annotations

import copy
from typing import Any

from ...errors import PerceptionError

__all__ = ["at_input_size", "resize_processor"]


def _check(input_size: Any, patch_size: int) -> int:
    if not (isinstance(input_size, int) and not isinstance(input_size, bool)
            and input_size >= patch_size and input_size % patch_size == 0):
        raise PerceptionError(f"SAM input_size must be a positive multiple of the patch size "
                              f"({patch_size} px), or 0 for the checkpoint's own; got "
                              f"{input_size!r}")
    return input_size


def resize_processor(processor: Any, input_size: int) -> Any:
    """``processor`` (a ``SamProcessor``) made to resize the long side to ``input_size``
    and pad to ``input_size`` square, changed in place and returned."""
    image_processor = processor.image_processor
    image_processor.size = {"longest_edge": input_size}
    image_processor.pad_size = {"height": input_size, "width": input_size}
    if hasattr(processor, "target_size"):  # read once at init: what its box prompts scale to
        processor.target_size = input_size
    return processor


def at_input_size(model: Any, input_size: int) -> Any:
    """A ``SamModel`` like ``model`` that takes ``input_size`` square inputs: the same
    weights, its position embeddings resampled (see the module docstring). ``model``
    itself when it already takes that size."""
    import torch
    from torch.nn import functional
    from transformers import SamModel

    vision = model.config.vision_config
    input_size = _check(input_size, vision.patch_size)
    if input_size == vision.image_size:
        return model
    grid = input_size // vision.patch_size
    config = copy.deepcopy(model.config)
    config.vision_config.image_size = input_size
    config.prompt_encoder_config.image_size = input_size
    config.prompt_encoder_config.image_embedding_size = grid
    state = model.state_dict()
    with torch.no_grad():
        for name, tensor in list(state.items()):
            if name == "vision_encoder.pos_embed":  # (1, g, g, C)
                resized = functional.interpolate(
                    tensor.permute(0, 3, 1, 2).float(), size=(grid, grid), mode="bicubic",
                    align_corners=False, antialias=True)
                state[name] = resized.permute(0, 2, 3, 1).to(tensor.dtype).contiguous()
            elif name.endswith((".rel_pos_h", ".rel_pos_w")) and \
                    tensor.shape[0] == 2 * (vision.image_size // vision.patch_size) - 1:
                resized = functional.interpolate(tensor.T[None].float(), size=2 * grid - 1,
                                                 mode="linear")  # a global layer's table
                state[name] = resized[0].T.to(tensor.dtype).contiguous()
    resized_model = SamModel(config)
    resized_model.load_state_dict(state)
    return resized_model.to(model.device, model.dtype).eval()

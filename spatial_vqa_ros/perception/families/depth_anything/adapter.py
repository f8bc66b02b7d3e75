"""Metric monocular depth from Depth Anything V2 (metric) and Prompt Depth Anything.

Why: a robot without a depth sensor (or with a sparse, low-resolution or hole-ridden
one) still needs metric depth for the geometry core. Depth Anything V2's metric
checkpoints (``depth_estimation_type="metric"``: a sigmoid head times ``max_depth``,
20 m indoor, 80 m outdoor) predict metres from rgb alone; Prompt Depth Anything takes
the sensor's depth as a prompt and returns dense depth at rgb resolution in the
sensor's scale. One adapter, :class:`DepthAnythingDepth`, runs both behind the
:class:`~spatial_vqa_ros.perception.protocols.DepthEstimator` seam.

Pre- and post-processing are the checkpoint's own transformers image processor
(``DPTImageProcessor`` / ``PromptDepthAnythingImageProcessor``; the PIL backend, which
needs no torchvision), and ``post_process_depth_estimation(outputs, target_sizes)``
brings the prediction back to the rgb size (bicubic). Depth that is not finite or not
positive (bicubic overshoot at edges) becomes NaN, the package's "invalid". Scale
alignment to the sensor or the camera height is the chain's job, not this module's.

Prompting (Prompt Depth Anything only, when the frame has a depth image):

- invalid pixels (NaN, inf, <= 0) are filled with their nearest valid pixel before the
  prompt is built: the model min-max normalises its prompt over the whole image, so a
  single NaN would make every output pixel NaN;
- an empty prompt (no valid pixel) or a constant one (valid depths spanning less than
  ``min_prompt_span_m``) is **refused** with a :class:`PerceptionError`, never run
  without the prompt: min-max normalisation of a constant is 0/0 (the processor adds
  1e-6 to one pixel, which float32 loses beyond 32 m), and a prompt model run without
  its prompt returns depth in its normalised units, not metres;
- the prompt goes to the processor in metres (``prompt_scale_to_meter=1.0``; the
  processor's default 0.001 expects millimetres). The result's source is
  ``"model+sensor"``. A frame without a depth image runs unprompted (source
  ``"model"``): documented, not metric for released Prompt Depth Anything weights.

Relative-depth checkpoints (Depth Anything V1 / V2 relative: ReLU disparity, not
metres) are refused when the adapter is built.

Export note: the head resizes to ``int(patch_height * patch_size)`` (Depth Anything) or
``torch_int`` (Prompt Depth Anything). Eager torch, as here, recomputes it every call;
an ONNX/TensorRT export traced at one size silently returns that size's H x W for any
other input, so export at the camera resolution or patch the head.

torch and transformers are imported when a model is loaded or run, not on import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PerceptionError
from ...models.snapshots import corrupt_snapshot, pull_hint
from ...types import DepthResult, SensorInputs, check_rgb
from ..common import load_errors

__all__ = ["DepthAnythingDepth"]

#: Model types this adapter runs, and the hub snapshot a user copies for each.
MODEL_TYPES = {"depth_anything": "depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf",
               "prompt_depth_anything": "depth-anything/prompt-depth-anything-vits-hf"}
#: The family's name in the model registry.
FAMILY = "depth_anything"


def _missing(model_dir: Path, what: str) -> PerceptionError:
    return PerceptionError(f"Depth Anything {what} not found at {model_dir}: "
                           + pull_hint(model_dir, checkpoints=tuple(MODEL_TYPES.values())))


def _corrupt(model_dir: Path, error: BaseException | str) -> PerceptionError:
    return corrupt_snapshot(model_dir, error, checkpoints=tuple(MODEL_TYPES.values()))


def fill_invalid_nearest(depth_m: np.ndarray) -> np.ndarray:
    """``depth_m`` with every invalid pixel (NaN, inf, <= 0) set to its nearest valid
    pixel's depth (Euclidean distance in pixels). At least one pixel must be valid."""
    from scipy import ndimage

    invalid = ~(np.isfinite(depth_m) & (depth_m > 0))
    if not invalid.any():
        return depth_m
    nearest = ndimage.distance_transform_edt(invalid, return_distances=False,
                                             return_indices=True)
    return depth_m[tuple(nearest)]


class DepthAnythingDepth:
    """Depth Anything V2 metric / Prompt Depth Anything behind the DepthEstimator seam.

    ``model``: a loaded ``DepthAnythingForDepthEstimation`` (metric) or
    ``PromptDepthAnythingForDepthEstimation`` in eval mode, on the device it will run
    on (inputs follow the model); ``processor``: its image processor.
    ``min_prompt_span_m``: prompts whose valid depths span less than this are refused
    as constant (see the module docstring). ``input_size``: the model input's short side
    in pixels, rounded by the processor to its patch multiple (0: the checkpoint's own,
    518); a smaller one trades detail for time (the ``cpu_light`` preset's 252 px is
    about 4x fewer pixels). Build from a local directory with :meth:`from_pretrained`.
    """

    def __init__(self, model: Any, processor: Any, *, model_id: str = "",
                 min_prompt_span_m: float = 1e-3, input_size: int = 0) -> None:
        config = model.config
        model_type = getattr(config, "model_type", "")
        if model_type not in MODEL_TYPES:
            raise PerceptionError(f"the depth_anything adapter runs {sorted(MODEL_TYPES)} "
                                  f"models, got {model_type!r}")
        if model_type == "depth_anything" and config.depth_estimation_type != "metric":
            raise PerceptionError(
                "this Depth Anything checkpoint predicts relative inverse depth, not metres "
                "(depth_estimation_type "
                f"{config.depth_estimation_type!r}): use a metric one, e.g. "
                f"{MODEL_TYPES['depth_anything']}")
        if getattr(processor, "do_pad", False) and getattr(processor, "size_divisor", None):
            raise PerceptionError("the image processor pads (do_pad with size_divisor), and "
                                  "post-processing does not crop the padding back: set "
                                  "do_pad to false in preprocessor_config.json")
        if not min_prompt_span_m > 0:
            raise PerceptionError(f"min_prompt_span_m must be > 0, got {min_prompt_span_m}")
        if input_size:
            if not (isinstance(input_size, int) and input_size >= 14):
                raise PerceptionError(f"input_size must be an int >= 14 px (one patch), or 0 "
                                      f"for the checkpoint's own, got {input_size!r}")
            processor.size = {"height": input_size, "width": input_size}
        self.model = model
        self.processor = processor
        self.prompted = model_type == "prompt_depth_anything"
        self.min_prompt_span_m = float(min_prompt_span_m)
        self.model_id = model_id or Path(str(getattr(model, "name_or_path", "") or "")).name \
            or model_type
        self.name = f"{model_type}:{self.model_id}"

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu",
                        **options: Any) -> DepthAnythingDepth:
        """Load model and processor from a local snapshot (never the network, never
        remote code), fp32, eval mode, on ``device``. ``options`` go to the constructor.
        PerceptionError, saying how to get the weights, when the snapshot is missing or
        incomplete."""
        import transformers
        from transformers import (
            AutoConfig,
            AutoImageProcessor,
            DepthAnythingForDepthEstimation,
            PromptDepthAnythingForDepthEstimation,
        )

        model_dir = Path(model_dir)
        if not (model_dir / "config.json").is_file():
            raise _missing(model_dir, "model (config.json)")
        try:
            config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
        except Exception as error:  # a config that is not a JSON object, a field of the wrong type
            raise _corrupt(model_dir, f"config.json cannot be read by transformers "
                           f"{transformers.__version__}: {type(error).__name__}: {error}"
                           ) from None
        classes = {"depth_anything": DepthAnythingForDepthEstimation,
                   "prompt_depth_anything": PromptDepthAnythingForDepthEstimation}
        if config.model_type not in classes:
            raise PerceptionError(f"{model_dir} holds a {config.model_type!r} model; the "
                                  f"depth_anything adapter runs {sorted(classes)}")
        try:
            model = classes[config.model_type].from_pretrained(
                model_dir, local_files_only=True, dtype="float32")
            processor = AutoImageProcessor.from_pretrained(model_dir, local_files_only=True)
        except load_errors() as error:  # a missing processor file, a garbage weights file
            raise _corrupt(model_dir, error) from None
        model = model.to(device).eval()
        return cls(model, processor, model_id=model_dir.name, **options)

    def estimate(self, inputs: SensorInputs) -> DepthResult:
        """Metric depth (H, W) float32 at the rgb size, NaN where invalid."""
        import torch

        check_rgb(inputs.rgb)
        height, width = inputs.size_hw
        prompt = None
        if self.prompted and inputs.depth_m is not None:
            prompt = self.prompt_of(inputs.depth_m)
            batch = self.processor(images=inputs.rgb, prompt_depth=prompt,
                                   prompt_scale_to_meter=1.0, return_tensors="pt")
        else:
            batch = self.processor(images=inputs.rgb, return_tensors="pt")
        batch = batch.to(self.model.device)
        with torch.inference_mode():
            outputs = self.model(**batch)
            depth = self.processor.post_process_depth_estimation(
                outputs, target_sizes=[(height, width)])[0]["predicted_depth"]
        depth_m = depth.float().cpu().numpy().reshape(height, width).astype(np.float32)
        depth_m[~(np.isfinite(depth_m) & (depth_m > 0))] = np.nan
        return DepthResult(depth_m, "model" if prompt is None else "model+sensor",
                           model_id=self.model_id)

    def prompt_of(self, depth_m: np.ndarray) -> np.ndarray:
        """The sensor depth as a prompt: float32 metres, holes filled with the nearest
        valid depth. PerceptionError for an empty or constant prompt."""
        valid = depth_m[np.isfinite(depth_m) & (depth_m > 0)]
        if not valid.size:
            raise PerceptionError("the sensor depth has no valid pixel to prompt Prompt Depth "
                                  "Anything with: check the depth topic, or choose a depth "
                                  "model that needs no prompt")
        low, high = float(valid.min()), float(valid.max())
        if high - low < self.min_prompt_span_m:
            raise PerceptionError(
                f"the sensor depth prompt is constant ({low:.3f} to {high:.3f} m over "
                f"{valid.size} valid pixels): Prompt Depth Anything min-max normalises its "
                "prompt, and a constant one normalises to 0/0; use the sensor depth for "
                "this view, or a depth model that needs no prompt")
        return fill_invalid_nearest(np.asarray(depth_m, np.float32))

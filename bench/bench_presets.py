"""A perception preset's whole chain at real size: frames/s, torch vs ONNX Runtime.

Usage: python bench/bench_families.py --preset cpu_light [--runs 3] [--device cpu]
       (or python bench/bench_presets.py NAME ...)

Each checkpoint the preset names is written into a models directory under its registry
name as the real architecture with random weights (the hub is not reachable; speed does
not depend on the weights), then the chain is built from the preset's spec exactly as
the node builds it (``build_chain``, the preset's per-family options included) and run
on new 640x480 random frames with a camera, prompts as bench_families'. The detector's
output is cut or padded to a fixed 10 boxes per frame (random weights give any number)
so the segmenter's cost is that of 10 boxes. For the ONNX Runtime run the families are
first exported with the exporters ``spatial-vqa models export`` uses (minutes at real
size). Weights are re-drawn with torch's default initialisation (:func:`redraw`: with
transformers' own, SAM's activations underflow to subnormal floats and the CPU times the
underflow). Reported per frame: wall time (perf_counter, the rate a camera would see) and
process CPU time (all threads, ONNX Runtime's included), and the chain's stage times.
Accuracy of the real models cannot be measured here and is not claimed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from real_size_models import (
    LETTERS,
    PROMPTS,
    WORDS,
    depth_anything,
    depth_pro,
    mm_grounding_dino,
    sam2,
)

BOXES = 10


def owlvit(directory: Path, patch_size: int) -> None:
    """OWL-ViT base/32 or base/16 as released: CLIP ViT-B at 768, text 12 x 512."""
    import transformers
    from transformers.models.owlvit.image_processing_pil_owlvit import OwlViTImageProcessorPil

    vocab = {"!": 0, "!</w>": 1}
    for c in LETTERS:
        vocab[c], vocab[c + "</w>"] = len(vocab), len(vocab) + 1
    for word in WORDS:
        vocab[word + "</w>"] = len(vocab)
    while len(vocab) < 49406:
        vocab[f"<filler{len(vocab)}>"] = len(vocab)
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = 49406, 49407
    config = transformers.OwlViTConfig(
        text_config={"hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12,
                     "num_attention_heads": 8, "max_position_embeddings": 16,
                     "vocab_size": 49408},
        vision_config={"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                       "num_attention_heads": 12, "image_size": 768,
                       "patch_size": patch_size},
        projection_dim=512)
    transformers.OwlViTForObjectDetection(config).save_pretrained(directory)
    square = {"height": 768, "width": 768}
    transformers.OwlViTProcessor(
        image_processor=OwlViTImageProcessorPil(size=square, crop_size=square),
        tokenizer=transformers.CLIPTokenizer(vocab=vocab, merges=[], pad_token="!",
                                             model_max_length=16)).save_pretrained(directory)


def slimsam(directory: Path) -> None:
    """SlimSAM-50 as its hub config says: SAM ViT-B (12 layers, 12 heads, 1024) pruned to
    hidden 384 and MLP 1536."""
    import transformers
    from transformers.models.sam.image_processing_pil_sam import SamImageProcessorPil

    config = transformers.SamConfig(vision_config={
        "hidden_size": 384, "mlp_dim": 1536, "num_hidden_layers": 12,
        "num_attention_heads": 12, "global_attn_indexes": [2, 5, 8, 11],
        "image_size": 1024, "window_size": 14, "output_channels": 256})
    transformers.SamModel(config).save_pretrained(directory)
    transformers.SamProcessor(image_processor=SamImageProcessorPil()).save_pretrained(directory)


#: registry name -> writes that checkpoint's real architecture, random weights
BUILDERS = {
    "depth_anything_v2_metric_indoor_small": lambda d: depth_anything("cpu", d),
    "owlvit_base_patch32": lambda d: owlvit(d, 32),
    "owlvit_base_patch16": lambda d: owlvit(d, 16),
    "slimsam_50_uniform": slimsam,
    "sam2_hiera_tiny": lambda d: sam2("cpu", d),
    # gpu_quality's: Depth Pro (3x DINOv2-L at 1536: minutes a frame on a CPU)
    "depth_pro": lambda d: depth_pro("cpu", d),
    "mm_grounding_dino_tiny": mm_grounding_dino,
    "sam2_hiera_large": lambda d: sam2("cpu", d, large=True),
}


#: model_type -> the class its snapshot loads with (for :func:`redraw`)
CLASSES = {"depth_anything": "DepthAnythingForDepthEstimation",
           "owlvit": "OwlViTForObjectDetection", "sam": "SamModel", "sam2": "Sam2Model",
           "depth_pro": "DepthProForDepthEstimation",
           "mm-grounding-dino": "MMGroundingDinoForObjectDetection"}


def redraw(directory: Path) -> None:
    """Re-draw the snapshot's linear and convolution weights with torch's default
    initialisation and save it again. Why: transformers' initialisation (normal, std
    0.02) shrinks SAM's activations through the encoder to about 1e-20, subnormal floats
    the CPU computes tens of times slower (SlimSAM's encoder: 48 s on a zero-padded frame
    vs 8 s after the re-draw, whose embeddings are of order 1 as real weights give): the
    benchmark would time float underflow, not the model."""
    import json

    import torch
    import transformers

    model_type = json.loads((directory / "config.json").read_text())["model_type"]
    model = getattr(transformers, CLASSES[model_type]).from_pretrained(directory)
    for module in model.modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            module.reset_parameters()
    model.save_pretrained(directory)


class FixedBoxes:
    """The detector, its output cut or padded to ``BOXES`` boxes (best first)."""

    def __init__(self, detector, rng: np.random.Generator) -> None:
        self.detector, self.name = detector, detector.name
        x0, y0 = rng.uniform(0, 560, BOXES), rng.uniform(0, 400, BOXES)
        self.pad = np.stack([x0, y0, x0 + rng.uniform(20, 80, BOXES),
                             y0 + rng.uniform(20, 80, BOXES)], 1).astype(np.float32)

    def detect(self, inputs, prompts):
        from spatial_vqa_ros.perception.types import Detections

        found = self.detector.detect(inputs, prompts)
        n = min(len(found), BOXES)
        xyxy = np.concatenate([found.xyxy[:n], self.pad[n:]]).astype(np.float32)
        labels = (*found.labels[:n], *([prompts[0]] * (BOXES - n)))
        scores = np.concatenate([found.scores[:n], np.full(BOXES - n, 0.5, np.float32)])
        return Detections(xyxy, labels, scores.astype(np.float32))


def _export(spec, directory: Path, size_hw: tuple[int, int]) -> None:
    """Each family of the spec exported into its snapshot's onnx/, as `models export`."""
    from spatial_vqa_ros.perception.families import descriptors
    from spatial_vqa_ros.perception.families.presets import export_options

    for family_field, model_field in (("depth_estimator", "depth_model"),
                                      ("detector", "detector_model"),
                                      ("segmenter", "segmenter_model")):
        descriptor = descriptors()[getattr(spec, family_field)]
        model = directory / getattr(spec, model_field)
        options = export_options(spec.perception_preset, descriptor.name, vars(spec)) or {}
        start = time.perf_counter()
        descriptor.resolve(descriptor.export.exporter)(model, model / "onnx",
                                                       size_hw=size_hw, **options)
        print(f"    exported {model.name} in {time.perf_counter() - start:.0f} s")


def time_chain(spec, runs: int) -> dict:
    """Frames/s of the spec's chain on new random frames (the first is warm-up)."""
    from spatial_vqa_ros.core.camera import CameraIntrinsics
    from spatial_vqa_ros.perception.factories import build_chain
    from spatial_vqa_ros.perception.types import SensorInputs

    rng = np.random.default_rng(0)
    chain = build_chain(spec)
    chain.detector = FixedBoxes(chain.detector, rng)
    camera = CameraIntrinsics(640, 480, 525.0, 525.0, 319.5, 239.5)
    walls, cpus, stages = [], [], []
    for _ in range(runs + 1):
        inputs = SensorInputs(rng.integers(0, 256, (480, 640, 3), np.uint8), camera)
        wall, cpu = time.perf_counter(), time.process_time()
        result = chain.run(inputs, PROMPTS)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        stages.append(result.timings_s)
        assert len(result.detections) == BOXES
    walls, cpus, stages = walls[1:], cpus[1:], stages[1:]
    names = {a.name for a in (chain.depth, chain.detector, chain.segmenter)}
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus),
            "walls": walls, "names": sorted(names),
            "stages": {k: statistics.median(s[k] for s in stages) for k in stages[0]}}


def main(argv: list[str] | None = None) -> None:
    from dataclasses import replace

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (torch runs)")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--skip-onnx", action="store_true",
                        help="torch only (no export; a GPU machine without ONNX "
                        "Runtime's CUDA build)")
    args = parser.parse_args(argv)
    import torch
    import transformers

    from spatial_vqa_ros.perception.factories import PerceptionSpec
    from spatial_vqa_ros.perception.families.presets import get_preset

    transformers.utils.logging.disable_progress_bar()
    preset = get_preset(args.preset)
    missing = sorted({preset.fields[f] for f in ("depth_model", "detector_model",
                                                 "segmenter_model")} - set(BUILDERS))
    if missing:
        raise SystemExit(f"{args.preset}: no real-size builder here yet for {missing}")
    print(f"## preset {args.preset}: {preset.summary}; real-size architectures, random "
          f"weights, 640x480, {BOXES} boxes/frame, {len(PROMPTS)} prompts, torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads), median of {args.runs}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        torch.manual_seed(0)
        for field in ("depth_model", "detector_model", "segmenter_model"):
            BUILDERS[preset.fields[field]](root / preset.fields[field])
            redraw(root / preset.fields[field])
        spec = PerceptionSpec(**preset.fields, models_dir=tmp, perception_preset=args.preset)
        runs = [] if args.skip_torch else [
            ("torch", replace(spec, perception_runtime="torch",
                              perception_device=args.device))]
        if not args.skip_onnx:
            _export(spec, root, (480, 640))
            runs.append(("onnxruntime", replace(spec, perception_runtime="onnxruntime",
                                                perception_device="cpu")))
        for runtime, run_spec in runs:
            got = time_chain(run_spec, args.runs)
            stages = ", ".join(f"{k} {v * 1e3:.0f}" for k, v in got["stages"].items())
            print(f"  {runtime:12s} {1 / got['wall_s']:6.3f} frames/s  wall "
                  f"{got['wall_s'] * 1e3:6.0f} ms/frame (runs "
                  f"{[round(w * 1e3) for w in got['walls']]}), process CPU "
                  f"{got['cpu_s'] * 1e3:6.0f} ms/frame; stages ms: {stages}")
            print(f"    {', '.join(got['names'])}")


if __name__ == "__main__":
    main()

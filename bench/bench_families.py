"""Transformer families at real size: per-stage latency with random weights (torch).

Usage: python bench/bench_families.py [--runs 2] [--device cpu] [--only depth,sam2,...]
                                     [--onnx]
       python bench/bench_families.py --preset cpu_light  (a preset's chain: bench_presets)

Speed does not depend on the weights, so each family is built from the real
checkpoint's architecture (configs written out in real_size_models.py: the hub is not
reachable) with random weights and timed through its adapter, 640x480 input, 5 prompts, 10 boxes:
Depth Anything V2 Small metric (518), Depth Pro (1536, opt-in), OWLv2 base/16 (960),
Grounding DINO tiny (Swin-T, BERT-base, 800 short side), SAM ViT-B and SAM2.1 hiera tiny
(1024; encoder and decoder apart). The tokenizers
are stand-ins with the real vocabulary sizes (OWLv2 pads queries to 16 tokens, so cost
does not depend on them). With ``--onnx`` each exportable family is also exported
(``spatial-vqa models export``'s code) and timed on ONNX Runtime, with the ratio to torch
(exports take minutes and about 1 GB of disk at real size). Accuracy of the real models
cannot be measured here and is not claimed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from real_size_models import (
    PROMPTS,
    depth_anything,
    depth_pro,
    grounding_dino,
    owlv2,
    sam,
    sam2,
)


def _median_ms(call, runs: int) -> tuple[float, list[float]]:
    call()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), times


def _onnx_depth(directory: Path, device: str):
    from spatial_vqa_ros.perception.families.depth_anything import (
        onnx_adapter as depth_anything_onnx,
    )

    depth_anything_onnx.export(directory, directory / "onnx", size_hw=(480, 640))
    return depth_anything_onnx.DepthAnythingOnnxDepth.from_pretrained(
        directory, directory / "onnx", providers=_providers(device))


def _onnx_owlv2(detector, directory: Path, device: str):
    from spatial_vqa_ros.perception.families.owlv2 import onnx_adapter as owlv2_onnx

    detector.model.save_pretrained(directory)
    detector.processor.save_pretrained(directory)
    owlv2_onnx.export(directory, directory / "onnx")
    return owlv2_onnx.Owlv2OnnxDetector.from_pretrained(directory, directory / "onnx",
                                                        providers=_providers(device),
                                                        score_threshold=0.1)


def _onnx_depth_pro(directory: Path, device: str):
    from spatial_vqa_ros.perception.families.depth_pro import onnx_adapter as depth_pro_onnx

    depth_pro_onnx.export(directory, directory / "onnx")
    return depth_pro_onnx.DepthProOnnxDepth.from_pretrained(directory, directory / "onnx",
                                                            providers=_providers(device))


def _onnx_grounding_dino(detector, directory: Path, device: str):
    """The dynamo export (about 6 minutes and 4.4 GB at this size on 2 cores)."""
    from spatial_vqa_ros.perception.families.grounding_dino import (
        onnx_adapter as grounding_dino_onnx,
    )

    detector.model.save_pretrained(directory)
    detector.processor.save_pretrained(directory)
    grounding_dino_onnx.export(directory, directory / "onnx", size_hw=(480, 640))
    return grounding_dino_onnx.GroundingDinoOnnxDetector.from_pretrained(
        directory, directory / "onnx", providers=_providers(device))


#: Set by --tensorrt: the exported graphs run as native TensorRT engines.
NATIVE = {"on": False}


def _profile(call, rows: int = 14) -> None:
    """Where one call's time goes, by Python function (own time): a GPU stage that takes
    far longer than its kernels shows the CPU work or the waits that hold it."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(rows)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    print("\n".join("      " + line for line in lines[-rows - 2:]))


def _providers(device: str) -> list[str] | None:
    if NATIVE["on"]:
        from spatial_vqa_ros.perception.runtime.engine_session import NATIVE_TENSORRT

        return [NATIVE_TENSORRT, "CUDAExecutionProvider", "CPUExecutionProvider"]
    return None if device == "cuda" else ["CPUExecutionProvider"]


def _engines_built(call, timeout_s: float = 480.0) -> None:
    """With --tensorrt: one call starts the engine builds (on its shapes), then wait for
    them, so what is timed is the engine and not the fallback serving meanwhile."""
    if not NATIVE["on"]:
        return
    from spatial_vqa_ros.perception.runtime.engine_session import engine_states

    start = time.perf_counter()
    call()
    while "building engine" in engine_states().values():
        if time.perf_counter() - start > timeout_s:
            raise SystemExit(f"engines still building after {timeout_s:.0f} s")
        time.sleep(1.0)
    print(f"    engines {engine_states()} after {time.perf_counter() - start:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--only", default="depth,owlv2,owlvit,grounding_dino,sam,slimsam,sam2",
                        help="comma list of depth, depth_pro (ViT-L x3 at 1536: minutes "
                        "per frame on a CPU, so not in the default), owlv2, owlvit (B/32, "
                        "float and, with --onnx, int8), grounding_dino, sam, slimsam "
                        "(SlimSAM-50 at 1024 and 512 px; with --onnx, 512 px float and "
                        "int8), sam2")
    parser.add_argument("--onnx", action="store_true",
                        help="also export each family and time it on ONNX Runtime")
    parser.add_argument("--profile", action="store_true",
                        help="after timing, profile one call of each family (cProfile)")
    parser.add_argument("--tensorrt", action="store_true",
                        help="with --onnx: run the exported graphs as native TensorRT "
                        "engines (built first, into $SPATIAL_VQA_ENGINES)")
    parser.add_argument("--preset", default="", metavar="NAME",
                        help="time a preset's whole chain instead (bench_presets.py: "
                        "torch vs ONNX Runtime, 640x480, 10 boxes per frame)")
    args = parser.parse_args()
    if args.preset:
        from bench_presets import main as bench_preset

        bench_preset([args.preset, "--runs", str(args.runs), "--device", args.device])
        return
    NATIVE["on"] = args.tensorrt
    import torch
    import transformers

    from spatial_vqa_ros.core.camera import CameraIntrinsics
    from spatial_vqa_ros.perception.types import SensorInputs

    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    inputs = SensorInputs(rng.integers(0, 256, (480, 640, 3), np.uint8))
    with_camera = SensorInputs(inputs.rgb, CameraIntrinsics(640, 480, 525.0, 525.0, 319.5, 239.5))
    x0, y0 = rng.uniform(0, 560, 10), rng.uniform(0, 400, 10)
    boxes = np.stack([x0, y0, x0 + rng.uniform(20, 80, 10), y0 + rng.uniform(20, 80, 10)],
                     1).astype(np.float32)
    wanted = set(args.only.split(","))
    print(f"## transformer families, real-size architectures, random weights, 640x480, "
          f"torch {torch.__version__} on {args.device} ({torch.get_num_threads()} threads), "
          f"median of {args.runs}")
    with tempfile.TemporaryDirectory() as tmp:
        stages = [
            ("depth", "depth     Depth Anything V2 Small metric (518)",
             lambda: depth_anything(args.device, Path(tmp) / "da"),
             lambda adapter: adapter.estimate(inputs)),
            # with CameraInfo: the random field-of-view head's angle may be no camera's
            # (the adapter refuses it); the head runs either way, so the time is the same
            ("depth_pro", "depth     Depth Pro (1536, 3x DINOv2-L, FoV head)",
             lambda: depth_pro(args.device, Path(tmp) / "depth_pro"),
             lambda adapter: adapter.estimate(with_camera)),
            ("owlv2", "detector  OWLv2 base/16 (960), 5 prompts",
             lambda: owlv2(args.device), lambda adapter: adapter.detect(inputs, PROMPTS)),
            ("grounding_dino", "detector  Grounding DINO tiny (800), 5 prompts",
             lambda: grounding_dino(args.device),
             lambda adapter: adapter.detect(inputs, PROMPTS)),
        ]
        onnx_builders = {
            "depth": lambda adapter: _onnx_depth(Path(tmp) / "da", args.device),
            "owlv2": lambda adapter: _onnx_owlv2(adapter, Path(tmp) / "owlv2", args.device),
            "grounding_dino": lambda adapter: _onnx_grounding_dino(
                adapter, Path(tmp) / "gdino", args.device),
            "depth_pro": lambda adapter: _onnx_depth_pro(Path(tmp) / "depth_pro", args.device),
        }
        for key, label, build, call in stages:
            if key not in wanted:
                continue
            adapter = build()
            median, times = _median_ms(lambda a=adapter, c=call: c(a), args.runs)
            print(f"  {label:48s} {median:9.0f} ms   runs {[round(t) for t in times]}")
            if args.profile:
                _profile(lambda a=adapter, c=call: c(a))
            if args.onnx and key in onnx_builders:
                onnx_adapter = onnx_builders[key](adapter)
                _engines_built(lambda a=onnx_adapter, c=call: c(a))
                onnx_ms, times = _median_ms(lambda a=onnx_adapter, c=call: c(a), args.runs)
                print(f"  {'  on onnxruntime (' + _provider(onnx_adapter) + ')':48s} "
                      f"{onnx_ms:9.0f} ms   runs {[round(t) for t in times]}   "
                      f"torch / ORT {median / onnx_ms:.2f}x")
                del onnx_adapter
            del adapter
        _time_more_families(Path(tmp), wanted, inputs, boxes, args)
    if not args.onnx:
        print("  onnxruntime: not timed (add --onnx: exports each family first)")


def _time_more_families(tmp: Path, wanted: set[str], inputs, boxes: np.ndarray,
                        args: argparse.Namespace) -> None:
    """The families asked for that are timed their own way: OWL-ViT (float and int8
    graphs) and the segmenters (encoder and decoder apart)."""
    if "sam" in wanted:
        segmenter = sam(args.device)
        _time_sam(segmenter, inputs, boxes, args.runs, "SAM ViT-B (1024)")
        if args.onnx:
            _time_sam(_onnx_sam(segmenter, tmp / "sam", args.device), inputs,
                      boxes, args.runs, "SAM ViT-B (1024)", runtime="onnxruntime")
        del segmenter
    if "owlvit" in wanted:
        _time_owlvit(tmp / "owlvit", inputs, args)
    if "slimsam" in wanted:
        _time_slimsam(tmp / "slimsam", inputs, boxes, args)
    if "sam2" in wanted:
        directory = tmp / "sam2"
        _time_sam(sam2(args.device, directory), inputs, boxes, args.runs,
                  "SAM2.1 hiera tiny (1024)")
        if args.onnx:
            from spatial_vqa_ros.perception.families.sam2 import onnx_adapter as sam2_onnx

            sam2_onnx.export(directory, directory / "onnx")
            onnx_sam2 = sam2_onnx.Sam2OnnxSegmenter.from_pretrained(
                directory, directory / "onnx", providers=_providers(args.device))
            _time_sam(onnx_sam2, inputs, boxes, args.runs, "SAM2.1 hiera tiny (1024)",
                      runtime="onnxruntime")


def _time_owlvit(directory: Path, inputs, args: argparse.Namespace) -> None:
    """OWL-ViT B/32 (cpu_light's detector) on torch; with --onnx, its graph in float and
    as the int8 graph cpu_light runs."""
    from bench_presets import owlvit, redraw

    from spatial_vqa_ros.perception.families.owlvit.adapter import OwlViTDetector
    from spatial_vqa_ros.perception.families.owlvit.onnx_adapter import OwlViTOnnxDetector

    owlvit(directory, 32)
    redraw(directory)
    label = "detector  OWL-ViT B/32 (768), 5 prompts"
    adapter = OwlViTDetector.from_pretrained(directory, device=args.device)
    median, times = _median_ms(lambda: adapter.detect(inputs, PROMPTS), args.runs)
    print(f"  {label:48s} {median:9.0f} ms   runs {[round(t) for t in times]}")
    if not args.onnx:
        return
    for precision in ("fp32", "int8"):
        ort = OwlViTOnnxDetector.from_pretrained(directory, providers=_providers(args.device),
                                                 export_missing=True, precision=precision)
        onnx_ms, times = _median_ms(lambda a=ort: a.detect(inputs, PROMPTS), args.runs)
        print(f"  {'  on onnxruntime (' + ort.provider + '), ' + precision:48s} "
              f"{onnx_ms:9.0f} ms   runs {[round(t) for t in times]}   "
              f"torch / ORT {median / onnx_ms:.2f}x")


def _time_slimsam(directory: Path, inputs, boxes: np.ndarray,
                  args: argparse.Namespace) -> None:
    """SlimSAM-50 (cpu_light's segmenter) at its own 1024 px and at cpu_light's 512 px on
    torch; with --onnx, at 512 px in float and with the int8 encoder."""
    from bench_presets import redraw, slimsam

    from spatial_vqa_ros.perception.families.presets import CPU_LIGHT_SAM_INPUT
    from spatial_vqa_ros.perception.families.sam.adapter import SamSegmenter
    from spatial_vqa_ros.perception.families.sam.onnx_adapter import SamOnnxSegmenter

    slimsam(directory)
    redraw(directory)
    for size in (0, CPU_LIGHT_SAM_INPUT):
        label = f"SlimSAM-50 ({size or 1024})"
        _time_sam(SamSegmenter.from_pretrained(directory, device=args.device,
                                               input_size=size),
                  inputs, boxes, args.runs, label)
    if not args.onnx:
        return
    for precision in ("fp32", "int8"):
        ort = SamOnnxSegmenter.from_pretrained(
            directory, directory / "onnx", providers=_providers(args.device),
            export_missing=True, input_size=CPU_LIGHT_SAM_INPUT, precision=precision)
        _time_sam(ort, inputs, boxes, args.runs, f"SlimSAM-50 ({CPU_LIGHT_SAM_INPUT})",
                  runtime=f"onnxruntime, {precision}")


def _provider(adapter) -> str:
    return str(getattr(adapter, "provider", "") or adapter.name.rsplit(":", 1)[-1])


def _onnx_sam(segmenter, directory: Path, device: str):
    from spatial_vqa_ros.perception.families.sam import onnx_adapter as sam_onnx

    segmenter.model.save_pretrained(directory)
    segmenter.processor.save_pretrained(directory)
    sam_onnx.export(directory, directory / "onnx")
    return sam_onnx.SamOnnxSegmenter.from_pretrained(directory, directory / "onnx",
                                                     providers=_providers(device))


def _time_sam(segmenter, inputs, boxes: np.ndarray, runs: int, label: str, *,
              runtime: str = "torch") -> None:
    """Encoder (once per frame) and decoder (all boxes, one call) apart."""
    from spatial_vqa_ros.perception.types import SensorInputs

    rng = np.random.default_rng(1)
    _engines_built(lambda: segmenter.segment(inputs, boxes, None))
    new_frame = []
    cached = []
    for _ in range(runs + 1):
        frame = SensorInputs(rng.integers(0, 256, inputs.rgb.shape, np.uint8))
        start = time.perf_counter()
        segmenter.segment(frame, boxes, None)  # a new frame: encoder + decoder
        middle = time.perf_counter()
        segmenter.segment(frame, boxes, None)  # the same frame: decoder only
        end = time.perf_counter()
        new_frame.append((middle - start) * 1e3)
        cached.append((end - middle) * 1e3)
    new_frame, cached = new_frame[1:], cached[1:]  # the first is warm-up
    print(f"  {'segmenter ' + label + ', 10 boxes, new frame':48s} "
          f"{statistics.median(new_frame):9.0f} ms   ({runtime})")
    print(f"  {'  decoder only (embedding cached)':48s} "
          f"{statistics.median(cached):9.0f} ms   ({runtime})")


if __name__ == "__main__":
    main()

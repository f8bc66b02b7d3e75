"""`spatial-vqa bench` on rendered rooms written in the public benchmarks' formats:
what the command reports when the truth is known exactly, and its time per question.

Usage: python bench/bench_public.py [--rooms 8] [--pairs 3]

Rendered tidy rooms (640x480) become SpatialRGPT-Bench records (regions as COCO RLE
masks and pixel boxes; distances, sizes, clock directions, predicates) and Q-Spatial
rows (minimum distances and heights of objects named in the question), with exact
truth. Reported per setting, the command's own table rows (success over every question,
a refusal counted as a failure; answered share; success over the answered; absolute
relative error):

- SpatialRGPT, exact depth, the released masks;
- SpatialRGPT, Kinect-like depth noise, the released masks;
- SpatialRGPT, noisy depth, boxes only (no ``rle``: the ``depth_box`` segmenter);
- Q-Spatial, noisy depth, true boxes for the named objects (a perfect detector double),
  ``depth_box`` masks.

The real benchmarks' images, a learned depth model and a real detector are not
measured here (no data, no weights): these figures are the geometry's and the
plumbing's on rendered rooms, not a benchmark result.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path


def _spatialrgpt(bench, label: str) -> None:
    from spatial_vqa_ros.cli import main

    out = Path(tempfile.mkdtemp())
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["bench", "spatialrgpt", str(bench.spatialrgpt), "--depth-dir",
                     str(bench.depth_dir), "--camera-info", str(bench.camera_info), "--out",
                     str(out), "--no-progress"])
    elapsed = time.perf_counter() - start
    summary = json.loads((out / "summary.json").read_text())
    _print(label, summary, elapsed, code)


def _qspatial(bench, seeds, label: str) -> None:
    from spatial_vqa_ros.io.image_files import load_camera_info_yaml
    from spatial_vqa_ros.offline.public_bench.qspatial import read_qspatial
    from spatial_vqa_ros.offline.public_bench.report import summarise
    from spatial_vqa_ros.offline.public_bench.run import BenchRun, run_chain
    from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain
    from spatial_vqa_ros.perception.types import InputSettings
    from spatial_vqa_ros.synthetic.doubles import RenderedFrameDetector
    from spatial_vqa_ros.synthetic.render import DepthNoise
    from spatial_vqa_ros.synthetic.scoring import render_case

    detector = RenderedFrameDetector()
    for seed in seeds:
        _, frame, _ = render_case(seed, DepthNoise())
        detector.register(frame.rgb, frame.instance_ids, frame.id_to_label)
    chain = build_chain(PerceptionSpec(depth_estimator="sensor", detector="simulation",
                                       segmenter="depth_box")).replaced(detector=detector)
    questions = read_qspatial(bench.qspatial).questions
    start = time.perf_counter()
    results, failed = run_chain(questions, chain, BenchRun(
        bench.qspatial, bench.depth_dir, load_camera_info_yaml(bench.camera_info),
        InputSettings()))
    _print(label, summarise(results), time.perf_counter() - start, 1 if failed else 0)


def _print(label: str, summary: dict, elapsed_s: float, code: int) -> None:
    rows = summary["rows"]
    n = rows["overall"]["questions"]
    print(f"\n## {label}: {n} questions, {1000 * elapsed_s / n:.0f} ms a question "
          f"(images, depth, objects and core included), exit {code}")
    for name, row in rows.items():
        error = "-" if row["abs_rel_error"] is None else f"{row['abs_rel_error']:.3f}"
        answered = "-" if row["success_answered"] is None else f"{row['success_answered']:.1f}"
        print(f"  {name:26s} n {row['questions']:4d}  success {row['success']:5.1f}%  "
              f"answered {row['answered']:5.1f}%  success/answered {answered:>5s}%  "
              f"abs rel {error}")
    if summary["refusals"]:
        print("  refusals: " + "; ".join(f"{k}... x{v}" for k, v in
                                         list(summary["refusals"].items())[:4]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=3, help="object pairs asked per room")
    args = parser.parse_args(argv)
    if args.rooms < 1 or args.pairs < 1:
        print("bench_public: --rooms and --pairs must be >= 1", file=sys.stderr)
        return 2
    from spatial_vqa_ros.synthetic.public_bench import write_rendered_benchmarks
    from spatial_vqa_ros.synthetic.render import DepthNoise

    seeds = tuple(range(100, 100 + args.rooms))  # not the tests' rooms
    with tempfile.TemporaryDirectory() as tmp:
        exact = write_rendered_benchmarks(Path(tmp) / "exact", seeds, pairs_per_room=args.pairs)
        _spatialrgpt(exact, "SpatialRGPT format, exact depth, released masks")
        noisy = write_rendered_benchmarks(Path(tmp) / "noisy", seeds, pairs_per_room=args.pairs,
                                          noise=DepthNoise())
        _spatialrgpt(noisy, "SpatialRGPT format, Kinect-like depth noise, released masks")
        boxes = write_rendered_benchmarks(Path(tmp) / "boxes", seeds, pairs_per_room=args.pairs,
                                          noise=DepthNoise(), masks=False)
        _spatialrgpt(boxes, "SpatialRGPT format, noisy depth, boxes only (depth_box masks)")
        _qspatial(noisy, seeds, "Q-Spatial format, noisy depth, true boxes, depth_box masks")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Geometry accuracy against rendered ground truth, and speed of a frame update.

Usage: python bench/bench_geometry.py [--scenes 200] [--seed 0] [--rooms tidy,cluttered]
Prints SpatialRGPT-Bench style figures (success within +-25%, median relative
error) with exact depth and with the sensor noise model, plus coverage, floor
errors, predicate accuracy and the per-frame time of geometry + scene-graph update;
for tidy rooms (3-10 objects) and cluttered ones (15-30, tall furniture, a third cut
by the border). Pairs of whole objects are scored on every distance; pairs with a
partial object on what the package states of them (with the share it states).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spatial_vqa_ros.core.capture import Capture, Observations
from spatial_vqa_ros.core.pipeline import ScenePipeline
from spatial_vqa_ros.synthetic.render import DepthNoise
from spatial_vqa_ros.synthetic.scenes import CLUTTERED, TIDY, RoomStyle
from spatial_vqa_ros.synthetic.scoring import GeometryScores, render_case, run_pipeline, score_frame


def accuracy(n_scenes: int, seed: int, noise: DepthNoise | None, style: RoomStyle = TIDY
             ) -> dict[str, float]:
    scores = GeometryScores()
    for k in range(n_scenes):
        _, rendered, truth = render_case(seed + k, noise, style)
        score_frame(scores, run_pipeline(rendered), truth)
    return scores.summary()


def speed(seed: int, n_frames: int = 200) -> tuple[float, float, float, float]:
    """Median and p95 ms of pipeline.process on 640x480 frames with 10 objects:
    streaming (same camera, floor tracked) and cold (new pipeline every frame)."""
    _, rendered, _ = render_case(seed)
    for k in range(1, 200):  # find a scene with 10 objects
        if len(rendered.id_to_label) >= 10:
            break
        _, rendered, _ = render_case(seed + k)
    capture = Capture(rendered.rgb, rendered.depth_m, rendered.camera)
    obs = Observations.from_instance_image(rendered.instance_ids, rendered.id_to_label)
    pipeline = ScenePipeline()
    streaming, cold = [], []
    for k in range(n_frames):
        capture_k = Capture(capture.rgb, capture.depth_m, capture.camera, round(k * 1e9 / 30))
        t0 = time.perf_counter()
        pipeline.process(capture_k, obs)
        streaming.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ScenePipeline().process(capture_k, obs)
        cold.append(time.perf_counter() - t0)
    s, c = np.array(streaming) * 1e3, np.array(cold) * 1e3
    return (float(np.median(s)), float(np.percentile(s, 95)), float(np.median(c)),
            float(np.percentile(c, 95)))


def _print(title: str, summary: dict[str, float]) -> None:
    print(f"\n## {title}")
    for key in ("distance", "horizontal_distance", "vertical_distance",
                "vertical_distance_over_5cm", "width", "height"):
        print(f"  {key:27s} success {summary[f'{key}.success']:.1%}  median rel err "
              f"{summary[f'{key}.median_rel_error']:.1%}  (n={summary[f'{key}.n']:.0f})")
    for key in ("distance", "horizontal_distance", "vertical_distance"):
        name = f"stated.{key}"
        print(f"  {name:27s} success {summary[f'{name}.success']:.1%}  median rel err "
              f"{summary[f'{name}.median_rel_error']:.1%}  (n={summary[f'{name}.n']:.0f}: "
              "every pair the package states, whole or partial)")
    for key in ("distance", "horizontal_distance", "vertical_distance"):
        name = f"partial.{key}"
        if f"{name}.n" in summary:
            print(f"  {name:27s} success {summary[f'{name}.success']:.1%}  median rel err "
                  f"{summary[f'{name}.median_rel_error']:.1%}  (n={summary[f'{name}.n']:.0f}, "
                  f"{summary[f'{name}.stated_fraction']:.0%} of pairs with a partial object "
                  "stated)")
            every = f"partial_unbounded.{key}"
            print(f"    (all those pairs, visible-based centres, no bound: success "
                  f"{summary[f'{every}.success']:.1%}, n={summary[f'{every}.n']:.0f})")
    print(f"  predicates with a partial object: accuracy "
          f"{summary['partial.predicates.accuracy']:.2%} over "
          f"{summary['partial.predicates.emitted']:.0f} stated")
    print(f"  predicates accuracy {summary['predicates.accuracy']:.2%} over "
          f"{summary['predicates.emitted']:.0f} emitted "
          f"({summary['predicates.unclear_fraction']:.1%} unclear)")
    worst = sorted((v, k) for k, v in summary.items()
                   if k.startswith("pred.") and np.isfinite(v))[:3]
    print("  worst predicates: " + ", ".join(f"{k[5:-9]} {v:.2%}" for v, k in worst))
    print(f"  direction within 1 h {summary['direction.within_1h']:.2%}")
    print(f"  floor normal error median {summary['floor.normal_error_deg.median']:.3f} deg, p95 "
          f"{summary['floor.normal_error_deg.p95']:.3f} deg; camera height error median "
          f"{summary['floor.height_error_m.median'] * 100:.2f} cm, p95 "
          f"{summary['floor.height_error_m.p95'] * 100:.2f} cm; missed "
          f"{summary['floor.missed']:.0f}/{summary['frames']:.0f}")
    print(f"  coverage {summary['coverage']:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rooms", default="tidy,cluttered",
                        help="comma list of tidy (3-10 objects) and cluttered (15-30)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    for rooms in args.rooms.split(","):
        style = {"tidy": TIDY, "cluttered": CLUTTERED}[rooms]
        _print(f"{rooms} rooms, exact depth and masks, {args.scenes} scenes",
               accuracy(args.scenes, args.seed, None, style))
        _print(f"{rooms} rooms, noise model (sigma = 0.0015 z^2, edge dropouts, 1 mm), "
               f"{args.scenes} scenes", accuracy(args.scenes, args.seed, DepthNoise(), style))
    med, p95, cold_med, cold_p95 = speed(args.seed)
    print("\n## speed: geometry + scene-graph update, 640x480, 10 objects, one core")
    print(f"  streaming (floor tracked): median {med:.2f} ms, p95 {p95:.2f} ms")
    print(f"  cold (floor re-detected):  median {cold_med:.2f} ms, p95 {cold_p95:.2f} ms")
    print(f"\n(total bench time {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

"""Geometry accuracy against rendered ground truth, and speed of a frame update.

Usage: python bench/bench_geometry.py [--scenes 200] [--split calibrate] [--seed 0]
                                      [--rooms tidy,cluttered] [--noise both] [--no-speed]
Prints SpatialRGPT-Bench style figures (success within +-25%, median relative
error) with exact depth and with the sensor noise model, plus coverage, floor
errors, predicate accuracy and the per-frame time of geometry + scene-graph update;
for tidy rooms (3-10 objects) and cluttered ones (15-30, tall furniture, a third cut
by the border), and their ``_hidden`` variants (walls, deep furniture, objects partly
behind nearer ones, tiny objects: ``synthetic.scenes.ROOMS``). Pairs of whole objects
are scored on every distance; pairs with a partial object on what the package states
of them (with the share it states).

Per quantity and category of the truth (``synthetic.categories``: whole, border_cut,
occluded, far_side, tiny), the rows give what the one gate states, the share within
+-25% (predicates: correct) and what it refuses, and the share of objects with >= 200
visible pixels given a stated width / height.

Seeds: ``--split calibrate`` (seeds 0-9999) is where priors are tuned, ``--split
report`` (10000-19999) where figures are reported; ``--seed`` is the offset in the split.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spatial_vqa_ros.core.capture import Capture, Observations
from spatial_vqa_ros.core.pipeline import ScenePipeline
from spatial_vqa_ros.synthetic.render import DepthNoise
from spatial_vqa_ros.synthetic.scenes import ROOMS, TIDY, RoomStyle
from spatial_vqa_ros.synthetic.scoring import (
    SPLITS,
    GeometryScores,
    render_case,
    run_pipeline,
    score_frame,
    split_seeds,
)


def accuracy(seeds: range, noise: DepthNoise | None, style: RoomStyle = TIDY
             ) -> tuple[dict[str, float], list[str]]:
    """The summary and the per-category table over the scenes of ``seeds``."""
    scores = GeometryScores()
    for seed in seeds:
        _, rendered, truth = render_case(seed, noise, style)
        score_frame(scores, run_pipeline(rendered), truth)
    return scores.summary(), scores.rows.lines()


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


def _print(title: str, result: tuple[dict[str, float], list[str]]) -> None:
    summary, rows = result
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
    print("  per category of the truth (what the one gate states | refuses):")
    print("\n".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=200)
    parser.add_argument("--split", choices=sorted(SPLITS), default="calibrate",
                        help="seed split: calibrate (0-9999) or report (10000-19999)")
    parser.add_argument("--seed", type=int, default=0, help="first seed's offset in the split")
    parser.add_argument("--rooms", default="tidy,cluttered",
                        help=f"comma list of {', '.join(ROOMS)}")
    parser.add_argument("--noise", choices=("both", "exact", "model"), default="both",
                        help="exact depth, the noise model, or both (default)")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed section")
    args = parser.parse_args()
    unknown = set(args.rooms.split(",")) - set(ROOMS)
    if unknown:
        parser.error(f"unknown rooms {sorted(unknown)}; expected {', '.join(ROOMS)}")
    seeds = split_seeds(args.split, args.scenes, args.seed)
    where = f"{args.scenes} scenes, {args.split} seeds {seeds.start}-{seeds.stop - 1}"
    t0 = time.perf_counter()
    for rooms in args.rooms.split(","):
        style = ROOMS[rooms]
        if args.noise in ("both", "exact"):
            _print(f"{rooms} rooms, exact depth and masks, {where}",
                   accuracy(seeds, None, style))
        if args.noise in ("both", "model"):
            _print(f"{rooms} rooms, noise model (sigma = 0.0015 z^2, edge dropouts, 1 mm), "
                   f"{where}", accuracy(seeds, DepthNoise(), style))
    if args.no_speed:
        print(f"\n(total bench time {time.perf_counter() - t0:.0f} s)")
        return
    med, p95, cold_med, cold_p95 = speed(seeds.start)
    print("\n## speed: geometry + scene-graph update, 640x480, 10 objects, one core")
    print(f"  streaming (floor tracked): median {med:.2f} ms, p95 {p95:.2f} ms")
    print(f"  cold (floor re-detected):  median {cold_med:.2f} ms, p95 {cold_p95:.2f} ms")
    print(f"\n(total bench time {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

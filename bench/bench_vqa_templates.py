"""Throughput of VQA rendering on one core (target: >= 50k QA/s for render_qa).

Usage: python bench/bench_vqa_templates.py [--seconds 2] [--objects 8]
Prints QA/s of ``render_qa`` cycling over every category and object pair of a
prepared scene graph (metric, imperial, mixed; plain and reasoning answers), and of
``synthesize`` (sampling + pair coverage included) per image of 8 QAs. Single-threaded
by construction (scalar numpy only); pin with ``taskset -c 0`` for a stable figure.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spatial_vqa_ros.core.objects import ObjectEstimate
from spatial_vqa_ros.core.scene_frame import scene_frame_from_floor
from spatial_vqa_ros.core.scene_graph import SceneGraph, SceneGraphTracker
from spatial_vqa_ros.core.vqa import CATEGORIES, SynthesisConfig, render_qa, synthesize

_LABELS = ("mug", "chair", "box", "lamp", "plant", "bottle", "book", "chair", "table", "cup")


def prepared_graph(count: int, seed: int = 0) -> SceneGraph:
    """A floor-referenced scene of ``count`` well separated objects (repeated labels too)."""
    rng = np.random.default_rng(seed)
    scene = scene_frame_from_floor(np.array([0.0, -0.9, -0.436]) / np.linalg.norm(
        [0.0, -0.9, -0.436]), 1.0)
    estimates = []
    for k in range(count):
        extent = rng.uniform(0.1, 1.5, 3)
        center = np.array([rng.uniform(1.0, 5.0), rng.uniform(-2.0, 2.0), extent[2] / 2])
        extra = ({"occluded_bottom": 0.0}
                 if "occluded_bottom" in ObjectEstimate.__dataclass_fields__ else {})
        estimates.append(ObjectEstimate(
            index=k, label=_LABELS[k % len(_LABELS)], score=0.9, source_id=k,
            center_scene=center, extent_scene=extent,
            points_scene=center[None].astype(np.float32), roi_xyxy=(0, 0, 1, 1),
            pixel_count=500, point_count=400, localised=True, partial=False,
            cut_by_border=False, occluded_outline=0.0, position_sigma_m=0.01, **extra))
    return SceneGraphTracker().update(estimates, scene, 0, "camera_floor")


def bench_render(graph: SceneGraph, seconds: float, units: str, qualitative: bool) -> float:
    objects = graph.objects
    jobs = [(name, a, b) for name in CATEGORIES for a in objects for b in objects
            if a.id != b.id]
    rng = np.random.default_rng(0)
    emitted = attempts = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for name, a, b in jobs:
            if render_qa(name, graph, a, b, rng, units=units, qualitative=qualitative):
                emitted += 1
        attempts += len(jobs)
    elapsed = time.perf_counter() - start
    print(f"  render_qa units={units:8s} qualitative={qualitative!s:5s}: "
          f"{emitted / elapsed:9.0f} QA/s  ({attempts / elapsed:9.0f} attempts/s, "
          f"{emitted / attempts:.0%} emitted)")
    return emitted / elapsed


def bench_synthesize(graph: SceneGraph, seconds: float) -> float:
    config = SynthesisConfig(units="mixed", qualitative_fraction=0.2)
    produced = images = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        produced += len(synthesize(graph, config, f"image{images}"))
        images += 1
    elapsed = time.perf_counter() - start
    print(f"  synthesize (8 QA/image, mixed, 20% reasoning): {produced / elapsed:9.0f} QA/s "
          f"({images / elapsed:.0f} images/s)")
    return produced / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--objects", type=int, default=8)
    args = parser.parse_args()
    graph = prepared_graph(args.objects)
    print(f"{len(CATEGORIES)} categories, {len(graph.objects)} objects, one core")
    rates = [bench_render(graph, args.seconds, units, qualitative)
             for units in ("metric", "imperial", "mixed") for qualitative in (False, True)]
    bench_synthesize(graph, args.seconds)
    print(f"render_qa: {min(rates):.0f} QA/s worst case (target >= 50000): "
          f"{'OK' if min(rates) >= 50_000 else 'BELOW TARGET'}")


if __name__ == "__main__":
    main()

"""Time to render a synthetic frame (ray-cast RGB, z-depth, instance ids).

Usage: python bench/bench_render.py [--scenes 20] [--repeats 3] [--seed 0]
Renders --scenes random scenes (640x480, 3-10 objects, ``synthetic.random_scene``)
--repeats times each, after one warm-up render, and prints the median, p95 and best
time per frame, exact and with the depth noise model (``DepthNoise``). The tests
check what a render shows; how long it takes is a figure of this benchmark.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spatial_vqa_ros.synthetic import DepthNoise, random_scene, render


def render_times(n_scenes: int, repeats: int, seed: int, noise: bool) -> np.ndarray:
    """Seconds per render() call, ``repeats`` calls per scene."""
    times = []
    for k in range(n_scenes):
        scene = random_scene(np.random.default_rng(seed + k))
        kwargs = {"noise": DepthNoise(), "rng": np.random.default_rng(k)} if noise else {}
        render(scene, **kwargs)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            render(scene, **kwargs)
            times.append(time.perf_counter() - start)
    return np.array(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="timed renders per scene")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"## render() of {args.scenes} random 640x480 scenes, {args.repeats} timed runs "
          "each")
    for title, noise in (("exact depth", False), ("depth noise model", True)):
        ms = render_times(args.scenes, args.repeats, args.seed, noise) * 1e3
        print(f"  {title:18s} median {np.median(ms):6.1f} ms  p95 "
              f"{np.percentile(ms, 95):6.1f} ms  best {ms.min():6.1f} ms  (n={ms.size})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

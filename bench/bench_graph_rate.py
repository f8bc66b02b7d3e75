"""Graph rate against the detector's delay: serial chain vs the two-rate chain.

A camera thread emits a rendered moving sequence at 15 Hz into the node's input queue
(one slot in the serial mode: latest frame wins; ``input_queue_frames`` in tracked
mode, the oldest dropped when full); a worker takes the next frame and runs either
the serial chain (depth -> detect -> segment) or ``LiveChain.step`` (depth -> track,
detection on keyframes on its own thread), then the core (``ScenePipeline.process``),
and "publishes". The detector is the slow simulation double with a delay of 0.1, 0.5
and 2 s. Reported: the share of the camera's frames that got a graph, the share of those
with objects, and the latency from the frame's camera time to its graph's publish
(p50/p99; what a reward computed on that graph lags the camera by).

In-process, through the same chain and core the node runs, without DDS. ``--dds``
plays the sequence over DDS into ``spatial-vqa node`` instead (``graph_rate_dds.py``:
the node's own input path, executor and queue; a 1 s detector by default,
``--dds-modes serial tracked``; ``--fastdds-profile config/fastdds_large_images.xml``
for frames of VGA and up). Run it alone: ``python bench/bench_graph_rate.py
[--frames 60] [--size 640x480] [--dds --size 320x240]`` or as the ``graph_rate``
section of ``bench_live.py`` (in-process). Keep DDS on loopback:
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST and a ROS_DOMAIN_ID.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from spatial_vqa_ros.core.live import KeyframePolicy
from spatial_vqa_ros.core.pipeline import ScenePipeline
from spatial_vqa_ros.nodes.config import SpatialNodeConfig
from spatial_vqa_ros.nodes.input_queue import InputQueue
from spatial_vqa_ros.perception.chain import PerceptionChain
from spatial_vqa_ros.perception.depth import SensorDepth
from spatial_vqa_ros.perception.live_chain import LiveChain, LiveConfig
from spatial_vqa_ros.perception.simulation import SimulationSegmenter
from spatial_vqa_ros.perception.trackers.depth_flow import DepthFlowTracker
from spatial_vqa_ros.perception.types import SensorInputs
from spatial_vqa_ros.synthetic.bags import synthetic_scenes
from spatial_vqa_ros.synthetic.doubles import SlowSimulationDetector
from spatial_vqa_ros.synthetic.render import DepthNoise, render

RATE_HZ = 15.0
DELAYS_S = (0.1, 0.5, 2.0)


def _pose(scene) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, :3] = scene.pose.rotation_world_from_cam
    pose[:3, 3] = scene.pose.position_world
    return pose


def rendered_frames(n: int, size_wh: tuple[int, int], seed: int
                    ) -> list[tuple[SensorInputs, np.ndarray]]:
    scenes = synthetic_scenes("sequence", n, seed=seed, width=size_wh[0], height=size_wh[1])
    rng = np.random.default_rng(seed)
    frames = []
    for scene in scenes:
        r = render(scene, DepthNoise(), rng)
        frames.append((SensorInputs(r.rgb, r.camera, r.depth_m, r.instance_ids,
                                    r.id_to_label), _pose(scene)))
    return frames


def play(frames, perceive, capacity: int) -> tuple[list[float], list[int]]:
    """Emit ``frames`` at RATE_HZ into an input queue of ``capacity`` frames; a worker
    runs ``perceive(k)`` + the core on each frame it takes. Latencies (s, camera time to
    publish) and object counts, one per graph."""
    queue: InputQueue[tuple[int, float]] = InputQueue(capacity)
    done = threading.Event()
    latencies, objects = [], []
    pipeline = ScenePipeline()

    def worker() -> None:
        while True:
            item = queue.take(timeout_s=0.05)
            if item is None:
                if done.is_set():
                    return
                continue
            k, emitted = item
            perceived = perceive(k)
            result = pipeline.process(perceived.capture, perceived.observations)
            latencies.append(time.monotonic() - emitted)
            objects.append(len(result.graph.objects))

    thread = threading.Thread(target=worker)
    thread.start()
    start = time.monotonic()
    for k in range(len(frames)):
        time.sleep(max(0.0, start + k / RATE_HZ - time.monotonic()))
        queue.put((k, time.monotonic()))
    while queue.counts().waiting:  # the worker finishes what is queued
        time.sleep(1 / RATE_HZ)
    time.sleep(1 / RATE_HZ)
    done.set()
    thread.join()
    return latencies, objects


def run_mode(frames, mode: str, delay_s: float) -> str:
    chain = PerceptionChain(SensorDepth(), SlowSimulationDetector(delay_s),
                            SimulationSegmenter())
    def stamp(k: int) -> int:
        return 1_700_000_000_000_000_000 + round(k * 1e9 / RATE_HZ)

    live = None
    if mode == "serial":
        def perceive(k):
            return chain.run(frames[k][0], (), stamp(k))
    else:
        live = LiveChain(chain, DepthFlowTracker(), LiveConfig(
            policy=KeyframePolicy(every_n_frames=30, every_s=2.0), asynchronous=True))

        def perceive(k):
            return live.step(frames[k][0], (), stamp(k), frames[k][1])
    try:
        capacity = SpatialNodeConfig(live_mode=mode).input_queue_capacity
        latencies, objects = play(frames, perceive, capacity)
    finally:
        if live is not None:
            live.close()
    n = len(frames)
    with_objects = sum(1 for c in objects if c)
    p50, p99 = (np.percentile(latencies, (50, 99)) * 1e3 if latencies else (np.nan, np.nan))
    return (f"  {delay_s:4.1f} s  {mode:7s}  graphs {len(latencies) / n:6.1%} of {n} frames "
            f"({with_objects / n:6.1%} with objects)   camera -> publish p50 {p50:6.0f} ms  "
            f"p99 {p99:6.0f} ms")


def section_graph_rate(args: argparse.Namespace) -> None:
    size = tuple(int(v) for v in getattr(args, "size", "640x480").split("x"))
    n = max(int(args.frames), 30)
    t0 = time.perf_counter()
    frames = rendered_frames(n, size, args.seed)
    print(f"\n## graph_rate: {n} frames of a {size[0]}x{size[1]} moving sequence at "
          f"{RATE_HZ:.0f} Hz, slow simulation detector, simulation masks, depth_flow "
          f"tracker with the pose, core included, in-process (rendered in "
          f"{time.perf_counter() - t0:.0f} s)")
    for delay_s in DELAYS_S:
        for mode in ("serial", "tracked"):
            print(run_mode(frames, mode, delay_s), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--size", default="640x480", help="WxH of the rendered frames")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dds", action="store_true",
                        help="play over DDS into the node (its own process) instead")
    parser.add_argument("--dds-modes", nargs="+", default=["tracked"],
                        choices=["serial", "tracked"])
    parser.add_argument("--detector-s", type=float, default=1.0,
                        help="the slow detector's seconds per frame (--dds)")
    parser.add_argument("--fastdds-profile", default="",
                        help="a Fast DDS XML profile for both processes (--dds), e.g. "
                             "config/fastdds_large_images.xml")
    args = parser.parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.split("x"))
    except ValueError:
        print(f"bench_graph_rate: --size is WxH, e.g. 640x480, got {args.size!r}",
              file=sys.stderr)
        return 2
    if args.frames < 1 or width < 16 or height < 16:
        print("bench_graph_rate: --frames must be >= 1 and --size at least 16x16",
              file=sys.stderr)
        return 2
    if args.dds:
        from graph_rate_dds import section_graph_rate_dds

        if args.fastdds_profile:
            profile = Path(args.fastdds_profile).resolve()
            if not profile.is_file():
                print(f"bench_graph_rate: no Fast DDS profile at {profile}", file=sys.stderr)
                return 2
            os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"] = str(profile)  # node inherits it

        section_graph_rate_dds(args.frames + 1, (width, height), seed=args.seed,
                               rate_hz=RATE_HZ, detector_s=args.detector_s,
                               modes=args.dds_modes)
        return 0
    section_graph_rate(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Throughput of `bag2lerobot` (bag -> LeRobot v3.0 with rewards, simulation chain) and
the share of it spent encoding video.

Usage: python bench/bench_bag2lerobot.py [--frames 60] [--width 640 --height 480]
Writes a synthetic approach bag with /tf (30 Hz, gripper moving onto a cube, depth noise
off), then converts it at --fps 30 (every image used) with two reward pairs
(tf:tool0:cube from /tf, gripper:cube from the instance masks), progress shaping, VQA
every 10th frame. Reports wall-clock frames/s, the process's CPU time (all threads:
SVT-AV1 encodes on threads of its own) and the time inside the video encoder's calls
(VideoEncoder.add and finish: the frame conversion, the encoder, the muxing), as wall
and as a share of the run; also the first pass alone (scan_bag).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from spatial_vqa_ros.io.datasets.lerobot import video
from spatial_vqa_ros.offline.bag2lerobot import Bag2LeRobotConfig, bag2lerobot, scan_bag
from spatial_vqa_ros.synthetic.bags import write_synthetic_bag

SPENT = {"encode_wall": 0.0, "encode_calls": 0}


def _timed(method):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            SPENT["encode_wall"] += time.perf_counter() - start
            SPENT["encode_calls"] += 1
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args()
    video.VideoEncoder.add = _timed(video.VideoEncoder.add)
    video.VideoEncoder.finish = _timed(video.VideoEncoder.finish)
    root = Path(tempfile.mkdtemp(prefix="bench_b2l_"))
    try:
        start = time.perf_counter()
        bag = write_synthetic_bag(root / "bag", "approach", frames=args.frames, seed=0,
                                  width=args.width, height=args.height, tf=True,
                                  rate_hz=30.0)
        print(f"bag: {args.frames} frames {args.width}x{args.height}, written in "
              f"{time.perf_counter() - start:.1f} s")
        config = Bag2LeRobotConfig(fps=30, reward_pairs=("tf:tool0:cube", "gripper:cube"),
                                   shaping="progress", vqa_every=10)
        start = time.perf_counter()
        scan_bag(bag.path, config.topics)
        scan_s = time.perf_counter() - start
        wall0, cpu0 = time.perf_counter(), time.process_time()
        summary = bag2lerobot([bag.path], root / "ds", config, progress=False)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        frames = summary.dataset.added_frames
        print(summary.format())
        print(f"bag2lerobot: {frames} frames in {wall:.2f} s wall = {frames / wall:.1f} "
              f"frames/s; process CPU {cpu:.2f} s ({cpu / frames * 1e3:.1f} ms/frame, all "
              "threads)")
        print(f"first pass (scan_bag) alone: {scan_s:.2f} s wall")
        print(f"video encoding (VideoEncoder.add + finish, {SPENT['encode_calls']} calls): "
              f"{SPENT['encode_wall']:.2f} s wall = {SPENT['encode_wall'] / wall:.0%} of the "
              "run")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

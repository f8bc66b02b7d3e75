"""The depth_flow tracker's time per frame at camera resolution, on one CPU core.

Usage: python bench/bench_trackers.py [--paths 3] [--frames 20] [--seed 0]

Rendered 640x480 recordings (Kinect-like depth noise, 15 Hz) of a static room with 10
objects under a gliding, panning camera; the tracker starts from the simulator's masks
on the first frame and follows every object through the rest. Reported per mode (with
the camera's pose, flow only): ``track()`` wall and thread-CPU time per frame p50/p95,
and the median IoU with the true masks of the objects still in view (>= 100 pixels).
OpenCV and the BLAS are held to one thread, so the figure is one core's.

``bench_live.py --sections trackers`` runs the same measurement as its trackers section.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from spatial_vqa_ros.core.camera import CameraIntrinsics  # noqa: E402
from spatial_vqa_ros.perception.trackers import DepthFlowTracker  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs, TrackingFrame  # noqa: E402
from spatial_vqa_ros.synthetic.render import DepthNoise, render  # noqa: E402
from spatial_vqa_ros.synthetic.scenes import random_sequence  # noqa: E402

N_OBJECTS = 10
PERIOD_NS = 66_666_667  # 15 Hz
CAMERA = CameraIntrinsics(640, 480, 525.0, 525.0, 319.5, 239.5)


def _pose(scene) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, :3] = scene.pose.rotation_world_from_cam
    pose[:3, 3] = scene.pose.position_world
    return pose


def time_depth_flow(paths: int, frames: int, seed: int) -> list[str]:
    """One line per mode: time per frame and IoU, over ``paths`` recordings."""
    cv2.setNumThreads(1)
    recordings = []
    for p in range(paths):
        rng = np.random.default_rng(seed + p)
        scenes = random_sequence(rng, frames, CAMERA, n_objects=(N_OBJECTS, N_OBJECTS))
        recordings.append([(render(s, DepthNoise(), rng), _pose(s)) for s in scenes])
    lines = []
    for mode, with_pose in (("with pose", True), ("flow only", False)):
        wall, cpu, ious, tracked = [], [], [], []
        for recording in recordings:
            def frame(k, recording=recording, with_pose=with_pose):
                r, pose = recording[k]
                return TrackingFrame(SensorInputs(r.rgb, r.camera, r.depth_m), r.depth_m,
                                     k * PERIOD_NS, pose if with_pose else None)
            first = recording[0][0].instance_ids
            ids = np.array(sorted(set(np.unique(first).tolist()) - {0}), np.int64)
            tracker = DepthFlowTracker()
            tracker.init(frame(0), first[None] == ids[:, None, None], ids)
            tracked.append(len(ids))
            for k in range(1, frames):
                f = frame(k)
                t0, c0 = time.perf_counter(), time.thread_time()
                out = tracker.track(f)
                cpu.append(time.thread_time() - c0)
                wall.append(time.perf_counter() - t0)
                truth = recording[k][0].instance_ids[None] == ids[:, None, None]
                seen = truth.reshape(len(ids), -1).sum(axis=1) >= 100
                inter = (out.masks & truth).reshape(len(ids), -1).sum(axis=1)
                union = (out.masks | truth).reshape(len(ids), -1).sum(axis=1)
                ious.extend((inter / np.maximum(union, 1))[seen])
        ms = 1000 * np.array(wall)
        cpu_ms = 1000 * np.array(cpu)
        lines.append(f"depth_flow {mode:9s}: {np.percentile(ms, 50):5.1f} ms p50, "
                     f"{np.percentile(ms, 95):5.1f} ms p95 per frame (CPU "
                     f"{np.percentile(cpu_ms, 50):.1f} / {np.percentile(cpu_ms, 95):.1f} ms); "
                     f"{np.mean(tracked):.1f} objects at frame 0, median IoU "
                     f"{np.median(ious):.3f} over {len(ious)} object-frames")
    return lines


def section_trackers(args: argparse.Namespace) -> None:
    """bench_live's trackers section: depth_flow (the learned trackers: still to come)."""
    paths = getattr(args, "paths", None) or min(getattr(args, "rooms", 3), 3)
    frames = min(getattr(args, "frames", 20), 20)
    print(f"\n## trackers: time per 640x480 frame on one core, {N_OBJECTS} objects, "
          f"{paths} camera paths x {frames} frames at 15 Hz")
    for line in time_depth_flow(paths, frames, args.seed):
        print("  " + line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=3, help="camera paths (recordings)")
    parser.add_argument("--frames", type=int, default=20, help="frames per path")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.paths < 1 or args.frames < 2:
        print("bench_trackers: --paths must be >= 1 and --frames >= 2", file=sys.stderr)
        return 2
    section_trackers(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

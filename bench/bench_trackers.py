"""The trackers' time per frame at camera resolution, on one CPU core.

Usage: python bench/bench_trackers.py [--paths 3] [--frames 20] [--seed 0]
                                      [--learned] [--learned-frames 5]

Rendered 640x480 recordings (Kinect-like depth noise, 15 Hz) of a static room with 10
objects under a gliding, panning camera; the tracker starts from the simulator's masks
on the first frame and follows every object through the rest. Reported per mode (with
the camera's pose, flow only): ``track()`` wall and thread-CPU time per frame p50/p95,
and the median IoU with the true masks of the objects still in view (>= 100 pixels).
OpenCV and the BLAS are held to one thread, so the figure is one core's.

``--learned`` adds the learned tracker ``sam2_video`` at real size with random weights
(no download): SAM 2.1 hiera-tiny's published configuration (sam2.1_hiera_t.yaml:
Hiera 96-768, stages 1-2-7-2, windows 8-4-14-7, global blocks 5-7-9, FPN 256, 1024 px,
memory 7 frames, 4 memory-attention layers; transformers' Sam2VideoConfig defaults for
the rest), 10 objects prompted on the first frame, then ``track()`` per frame: torch on
the CPU, held to one thread like the rest. ONNX Runtime: no figure, the per-frame step
does not export (torch 2.x, transformers 5.23): the dynamo exporter fails in
torch.export (the step reads and writes the session, Python dicts of tensors), and the
TorchScript tracer "succeeds" only by freezing the session's memory and frame index into
constants, a graph valid for one frame; the image encoder alone exports.

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
    try:
        from spatial_vqa_ros.synthetic.render import DepthNoise, render
        from spatial_vqa_ros.synthetic.scenes import random_sequence
    except ImportError as error:  # a bare GPU image has no open3d to render the rooms
        return [f"depth_flow: not measured ({error})"]

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


def hiera_tiny_video_model():
    """A Sam2VideoModel with SAM 2.1 hiera-tiny's configuration and random weights."""
    import torch
    import transformers

    backbone = transformers.Sam2HieraDetConfig(
        hidden_size=96, num_attention_heads=1, blocks_per_stage=[1, 2, 7, 2],
        embed_dim_per_stage=[96, 192, 384, 768], num_attention_heads_per_stage=[1, 2, 4, 8],
        window_size_per_stage=[8, 4, 14, 7], global_attention_blocks=[5, 7, 9],
        window_positional_embedding_background_size=[7, 7], image_size=[1024, 1024])
    vision = {"backbone_config": backbone, "backbone_channel_list": [768, 384, 192, 96],
              "backbone_feature_sizes": [[256, 256], [128, 128], [64, 64]],
              "fpn_hidden_size": 256, "fpn_top_down_levels": [2, 3]}
    torch.manual_seed(0)
    return transformers.Sam2VideoModel(transformers.Sam2VideoConfig(vision_config=vision)).eval()


def _learned_frames(frames: int, seed: int):
    """The learned tracker's recording: a rendered room, or where open3d (the renderer's
    ray caster) is missing, as on a bare GPU image, random pixels with 10 box-shaped
    objects (its time per frame does not depend on what the pixels show)."""
    rng = np.random.default_rng(seed)
    try:
        from spatial_vqa_ros.synthetic.render import DepthNoise, render
        from spatial_vqa_ros.synthetic.scenes import random_sequence
    except ImportError:
        rgb = rng.integers(0, 256, (frames + 1, CAMERA.height, CAMERA.width, 3), np.uint8)
        first = np.zeros((CAMERA.height, CAMERA.width), np.int32)
        for k in range(1, N_OBJECTS + 1):
            x, y = rng.integers(0, CAMERA.width - 80), rng.integers(0, CAMERA.height - 80)
            first[y:y + 80, x:x + 80] = k
        return (lambda k: TrackingFrame(SensorInputs(rgb[k], CAMERA), None, k * PERIOD_NS),
                first, "random pixels (no open3d to render a room)")
    scenes = random_sequence(rng, frames + 1, CAMERA, n_objects=(N_OBJECTS, N_OBJECTS))
    rendered = [render(s, DepthNoise(), rng) for s in scenes]

    def frame(k: int) -> TrackingFrame:
        r = rendered[k]
        return TrackingFrame(SensorInputs(r.rgb, r.camera, r.depth_m), r.depth_m,
                             k * PERIOD_NS)

    return frame, rendered[0].instance_ids, "a rendered room"


def _print_profile(profiler) -> None:
    """A cProfile of one ``track()`` call, by own time: where a frame's time goes."""
    import io
    import pstats

    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
    print("\n".join("      " + line for line in out.getvalue().splitlines()[-22:]))


def time_sam2_video(frames: int, seed: int, device: str = "cpu",
                    profile: bool = False) -> list[str]:
    """sam2_video at real size, random weights, 10 objects on a rendered recording, on
    ``device`` (cpu, or cuda on a GPU machine: bench/gpu_check.sh)."""
    try:
        import torch

        from spatial_vqa_ros.perception.families.processing import ImageProcessing
        from spatial_vqa_ros.perception.trackers.sam2_video import Sam2VideoTracker
    except ImportError as error:
        return [f"sam2_video: not measured ({error})"]
    frame, first, content = _learned_frames(frames, seed)
    processing = ImageProcessing((1024, 1024), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    tracker = Sam2VideoTracker(hiera_tiny_video_model(), processing, device=device)
    ids = np.array(sorted(set(np.unique(first).tolist()) - {0}), np.int64)

    t0 = time.perf_counter()
    tracker.init(frame(0), first[None] == ids[:, None, None], ids)
    init_s = time.perf_counter() - t0
    import cProfile

    profiler = cProfile.Profile()
    wall = []
    for k in range(1, frames + 1):
        last = profile and k == frames
        profiler.enable() if last else None
        t0 = time.perf_counter()
        tracker.track(frame(k))
        wall.append(time.perf_counter() - t0)
        profiler.disable() if last else None
    ms = 1000 * np.array(wall)
    if profile:  # the last frame's profile (its time counts in the figures too)
        _print_profile(profiler)
    where = (torch.cuda.get_device_name(0) if device.startswith("cuda")
             else f"{torch.get_num_threads()} threads")
    return [f"sam2_video torch on {device} (hiera-tiny, 1024 px, random weights, {where}): "
            f"{np.percentile(ms, 50):.0f} ms p50, {ms.max():.0f} ms max per frame "
            f"over {frames} frames of {content}, {len(ids)} objects (prompting them: "
            f"{init_s:.1f} s); "
            f"session {tracker.session_bytes() / 2**20:.0f} MiB",
            "sam2_video onnxruntime: not measured (the per-frame step does not export: "
            "see the module docstring)"]


def section_trackers(args: argparse.Namespace) -> None:
    """bench_live's trackers section: depth_flow, and with ``learned`` sam2_video."""
    paths = getattr(args, "paths", None) or min(getattr(args, "rooms", 3), 3)
    frames = min(getattr(args, "frames", 20), 20)
    print(f"\n## trackers: time per 640x480 frame on one core, {N_OBJECTS} objects, "
          f"{paths} camera paths x {frames} frames at 15 Hz")
    for line in time_depth_flow(paths, frames, args.seed):
        print("  " + line)
    if getattr(args, "learned", False):
        for line in time_sam2_video(getattr(args, "learned_frames", 5), args.seed,
                                    getattr(args, "device", "cpu"),
                                    getattr(args, "profile", False)):
            print("  " + line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=3, help="camera paths (recordings)")
    parser.add_argument("--frames", type=int, default=20, help="frames per path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learned", action="store_true",
                        help="also time sam2_video at real size with random weights (slow)")
    parser.add_argument("--learned-frames", type=int, default=5,
                        help="frames tracked by sam2_video")
    parser.add_argument("--device", default="cpu",
                        help="where sam2_video runs: cpu, or cuda on a GPU machine")
    parser.add_argument("--profile", action="store_true",
                        help="profile one more sam2_video frame (cProfile, by own time)")
    args = parser.parse_args(argv)
    if args.paths < 1 or args.frames < 2 or args.learned_frames < 1:
        print("bench_trackers: --paths must be >= 1, --frames >= 2 and --learned-frames "
              ">= 1", file=sys.stderr)
        return 2
    section_trackers(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

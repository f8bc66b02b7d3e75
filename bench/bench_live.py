"""Live at camera rate: what keeps the scene graph and the reward at the camera's rate.

Usage: python bench/bench_live.py [--sections core] [--rooms 6] [--frames 30] [--seed 0]

Sections (``--sections``, comma list; all by default):

- ``core``: the core's time per VGA frame (``ScenePipeline.process``: floor, objects,
  completion, scene-graph update) in rooms with walls and 10 objects, p50/p95, for a
  still and a gliding camera, each with and without its pose, and a cold start (a new
  pipeline every frame, so the floor is found from nothing); with the floor fit's share and
  the floor's error against the rendered truth (walls are background, as a simulator
  or a real room gives them: they must not be taken for the floor).

- ``trackers``: the trackers' time per frame (``bench_trackers.py``).

- ``graph_rate``: the share of a 15 Hz camera's frames that get a graph, and the
  latency from camera to publish, for detector delays of 0.1, 0.5 and 2 s, serial chain
  vs the two-rate chain with ``depth_flow`` (``bench_graph_rate.py``; in-process).

- ``moving_camera`` and ``approach``: accuracy at camera rate with a 1 s detector
  simulated in stamp time (``bench_live_accuracy.py``): pair distances under a gliding,
  panning camera, and the reward's gap along approach and push sequences, tracked vs
  detecting on every frame (320x240).

The issue's other figures (the learned trackers in graph_rate, GPU figures) are still
to come: ``SECTIONS`` lists the GPU one with no function, the script prints it as "not
built yet" rather than made-up numbers, and exits 1 when it is asked for. A new section
is one entry in ``SECTIONS``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from spatial_vqa_ros.core.capture import Capture, Observations
from spatial_vqa_ros.core.pipeline import ScenePipeline
from spatial_vqa_ros.synthetic.render import DepthNoise, RenderedFrame, render
from spatial_vqa_ros.synthetic.scenes import Primitive, SyntheticScene, random_sequence

#: Room walls: thickness and height (m), and the clearance kept around the objects and
#: the camera's path.
WALL_THICKNESS_M = 0.1
WALL_HEIGHT_M = 2.6
WALL_CLEARANCE_M = (0.4, 1.2)
N_OBJECTS = 10
FRAME_RATE_HZ = 15.0
#: The sensor noise model of every rendered frame (bench_geometry's).
NOISE = DepthNoise()


@dataclass(frozen=True)
class WallRoom:
    """A rendered camera path through one room: frames (walls as background, id 0),
    the scenes without walls (for the truth) and each frame's 4x4 camera pose."""

    frames: tuple[RenderedFrame, ...]
    scenes: tuple[SyntheticScene, ...]
    world_from_camera: tuple[np.ndarray, ...]


def room_walls(scenes: list[SyntheticScene], rng: np.random.Generator) -> tuple[Primitive, ...]:
    """Four walls, axis-aligned, around every object and every camera position."""
    points = [s.pose.position_world[:2] for s in scenes]
    for o in scenes[0].objects:
        r = o.footprint_radius_m
        points += [o.center_world[:2] - r, o.center_world[:2] + r]
    low = np.min(points, axis=0) - rng.uniform(*WALL_CLEARANCE_M, 2)
    high = np.max(points, axis=0) + rng.uniform(*WALL_CLEARANCE_M, 2)
    centre, size = (low + high) / 2, high - low
    first_id = max(o.id for o in scenes[0].objects) + 1
    walls = []
    for k, (axis, side) in enumerate(((0, low), (0, high), (1, low), (1, high))):
        position = np.append(centre, WALL_HEIGHT_M / 2)
        position[axis] = side[axis]
        dims = [WALL_THICKNESS_M, WALL_THICKNESS_M, WALL_HEIGHT_M]
        dims[1 - axis] = size[1 - axis] + WALL_THICKNESS_M
        walls.append(Primitive(first_id + k, "wall", "box", position, tuple(dims)))
    return tuple(walls)


def render_wall_room(seed: int, n_frames: int, noise: DepthNoise | None = NOISE,
                     max_shift_m: float = 0.3, max_turn_rad: float = 0.15) -> WallRoom:
    """A gliding, panning camera in a room of 10 objects and four walls."""
    rng = np.random.default_rng(seed)
    scenes = random_sequence(rng, n_frames, n_objects=(N_OBJECTS, N_OBJECTS),
                             max_shift_m=max_shift_m, max_turn_rad=max_turn_rad)
    walls = room_walls(scenes, rng)
    wall_ids = [w.id for w in walls]
    frames, poses = [], []
    for k, scene in enumerate(scenes):
        with_walls = SyntheticScene(scene.objects + walls, scene.camera, scene.pose)
        rendered = render(with_walls, noise, np.random.default_rng(seed * 1000 + k)
                          if noise else None)
        ids = np.where(np.isin(rendered.instance_ids, wall_ids), 0, rendered.instance_ids)
        frames.append(replace(rendered, instance_ids=ids.astype(np.int32),
                              id_to_label=scene.id_to_label))
        pose = np.eye(4)
        pose[:3, :3] = scene.pose.rotation_world_from_cam
        pose[:3, 3] = scene.pose.position_world
        poses.append(pose)
    return WallRoom(tuple(frames), tuple(scenes), tuple(poses))


def _inputs(rendered: RenderedFrame, k: int) -> tuple[Capture, Observations]:
    capture = Capture(rendered.rgb, rendered.depth_m, rendered.camera,
                      round(k * 1e9 / FRAME_RATE_HZ))
    return capture, Observations.from_instance_image(rendered.instance_ids, rendered.id_to_label)


@dataclass
class Timings:
    """Per-frame core and floor-fit times (s): wall clock, and the CPU time of this
    thread (the core runs on one thread; on a shared machine the CPU time is what the
    core costs, the wall time adds the waits for a core); and the floor's errors
    against truth."""

    core_s: list[float] = field(default_factory=list)
    core_cpu_s: list[float] = field(default_factory=list)
    floor_s: list[float] = field(default_factory=list)
    floor_cpu_s: list[float] = field(default_factory=list)
    normal_error_deg: list[float] = field(default_factory=list)
    height_error_m: list[float] = field(default_factory=list)
    missed: int = 0

    def lines(self) -> list[str]:
        def ms(values: list[float]) -> str:
            v = np.array(values) * 1e3
            return f"p50 {np.median(v):5.2f} p95 {np.percentile(v, 95):5.2f} ms"

        normal, height = np.array(self.normal_error_deg), np.array(self.height_error_m) * 100
        share = sum(self.floor_cpu_s) / sum(self.core_cpu_s)
        return [f"core wall {ms(self.core_s)}, cpu {ms(self.core_cpu_s)}; floor fit wall "
                f"{ms(self.floor_s)}, cpu {ms(self.floor_cpu_s)} ({share:.0%} of the core's cpu)",
                f"floor normal error median {np.median(normal):.3f} deg, p95 "
                f"{np.percentile(normal, 95):.3f} deg; camera height error median "
                f"{np.median(height):.2f} cm, p95 {np.percentile(height, 95):.2f} cm; missed "
                f"{self.missed}/{len(self.core_s)}"]


def _timed_floor(pipeline: ScenePipeline, timings: Timings) -> None:
    """Wrap the pipeline's floor update to record its time (the bench's own probe)."""
    update = pipeline.floor.update

    def timed(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return update(*args, **kwargs)
        finally:
            timings.floor_cpu_s.append(time.thread_time() - c0)
            timings.floor_s.append(time.perf_counter() - t0)

    pipeline.floor.update = timed  # type: ignore[method-assign]


def _score_floor(timings: Timings, result, scene: SyntheticScene) -> None:
    if not result.scene.floor_found:
        timings.missed += 1
        return
    normal_true, height_true = scene.pose.floor_plane_cam()
    cos = float(np.clip(result.scene.floor_normal_cam @ normal_true, -1.0, 1.0))
    timings.normal_error_deg.append(math.degrees(math.acos(cos)))
    timings.height_error_m.append(abs(result.scene.camera_height_m - height_true))


#: mode -> (camera path, whether the pose is given, a new pipeline every frame).
CORE_MODES = {
    "still": ("still", False, False),
    "still+pose": ("still", True, False),
    "moving": ("moving", False, False),
    "moving+pose": ("moving", True, False),
    "cold": ("moving", False, True),
}


def time_core(rooms: list[WallRoom], with_pose: bool, cold: bool) -> Timings:
    """Run every room's frames through the core: one pipeline per room (the floor
    carried across frames, with each frame's camera pose when ``with_pose``), or a new
    pipeline for every frame when ``cold`` (the floor found from nothing)."""
    timings = Timings()
    for room in rooms:
        pipeline = ScenePipeline()
        _timed_floor(pipeline, timings)
        for k, (rendered, scene, pose) in enumerate(zip(room.frames, room.scenes,
                                                        room.world_from_camera)):
            if cold:
                pipeline = ScenePipeline()
                _timed_floor(pipeline, timings)
            frame, obs = _inputs(rendered, k)
            t0, c0 = time.perf_counter(), time.thread_time()
            result = pipeline.process(frame, obs, pose if with_pose else None)
            timings.core_cpu_s.append(time.thread_time() - c0)
            timings.core_s.append(time.perf_counter() - t0)
            _score_floor(timings, result, scene)
    return timings


def section_core(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    paths = {"still": [render_wall_room(args.seed + r, args.frames, max_shift_m=0.0,
                                        max_turn_rad=0.0) for r in range(args.rooms)],
             "moving": [render_wall_room(args.seed + r, args.frames)
                        for r in range(args.rooms)]}
    background = np.mean([[np.isfinite(f.depth_m).mean() - (f.instance_ids > 0).mean()
                           for f in room.frames] for room in paths["moving"]])
    print(f"\n## core: time per 640x480 frame, rooms with walls, {N_OBJECTS} objects, "
          f"noise model (fresh each frame), {args.rooms} rooms x {args.frames} frames at "
          f"{FRAME_RATE_HZ:.0f} Hz, still and gliding/panning camera (rendered in "
          f"{time.perf_counter() - t0:.0f} s; background {background:.0%} of the pixels)")
    for mode, (path, with_pose, cold) in CORE_MODES.items():
        first, second = time_core(paths[path], with_pose, cold).lines()
        print(f"  {mode:12s} {first}\n  {'':12s} {second}")


#: name -> (what it measures, the function; None: not built yet).
SECTIONS: dict[str, tuple[str, Callable[[argparse.Namespace], None] | None]] = {
    "core": ("the core's time per frame in rooms with walls (p50/p95)", section_core),
    "graph_rate": ("share of frames with a graph and camera -> publish latency against the "
                   "detector's delay, serial vs tracked (depth_flow), in-process "
                   "(bench_graph_rate.py)",
                   lambda args: __import__("bench_graph_rate").section_graph_rate(args)),
    "trackers": ("the trackers' time per frame: depth_flow on one core (bench_trackers.py; "
                 "the learned trackers, torch and ONNX Runtime, still to come)",
                 lambda args: __import__("bench_trackers").section_trackers(args)),
    "moving_camera": ("distances within +-25% with a 1 s detector (stamp time) and depth_box "
                      "masks, tracked vs detecting on every frame, camera gliding and "
                      "panning (bench_live_accuracy.py)",
                      lambda args: __import__("bench_live_accuracy").section_moving_camera(args)),
    "approach": ("the reward stream's gap with a 1 Hz detector: gripper as a robot frame, "
                 "cube tracked, approach and push, Spearman and error vs the true gap "
                 "(bench_live_accuracy.py)",
                 lambda args: __import__("bench_live_accuracy").section_approach(args)),
    "gpu": ("GPU figures when a device is lent", None),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    built = [name for name, (_, run) in SECTIONS.items() if run is not None]
    parser.add_argument("--sections", default=",".join(built),
                        help=f"comma list of sections to run (built: {', '.join(built)})")
    parser.add_argument("--rooms", type=int, default=6, help="rooms (camera paths)")
    parser.add_argument("--frames", type=int, default=30, help="frames per camera path")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown or not wanted or args.rooms < 1 or args.frames < 1:
        what = (f"unknown section(s) {', '.join(unknown)}" if unknown
                else "--sections is empty" if not wanted else "--rooms and --frames must be >= 1")
        print(f"bench_live: {what}; sections: {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    print("bench_live sections:")
    for name, (what, run) in SECTIONS.items():
        state = "run" if name in wanted and run else "not built yet" if run is None else "skipped"
        print(f"  {name:13s} {state:13s} {what}")
    for name in wanted:
        run = SECTIONS[name][1]
        if run is not None:
            run(args)
    not_built = [name for name in wanted if SECTIONS[name][1] is None]
    return 1 if not_built else 0


if __name__ == "__main__":
    sys.exit(main())

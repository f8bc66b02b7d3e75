"""Accuracy at camera rate: the two-rate chain with a slow detector against detecting on
every frame, on rendered 15 Hz sequences (no DDS; the node's DDS path with a slow
detector is tested in tests/nodes/test_live_tracking_node.py).

The detector's delay is simulated in stamp time (``LiveConfig.detection_delay_s``): a
keyframe's detection is handed over at the first frame whose stamp is at least the
keyframe's stamp + the delay, as a detector that slow delivers it, so a run is
deterministic and takes the CPU time of the models, not the delay. The detector is the
simulation one (oracle boxes, prompts filter labels) and the masks are ``depth_box``'s.

- ``moving_camera``: the camera glides and pans through a static room (objects leave
  and re-enter the view), Kinect-like depth noise. Every frame through the serial
  chain, and through ``LiveChain`` (``depth_flow`` with the pose, keyframe policy the
  node's defaults, detector 1 s), and once more with no pose for the tracker and the
  keyframe policy (keyframes on a view change then come from the images). Pairs scored
  with ``synthetic.scoring.score_frame`` (the geometry benchmarks' rule: distance
  within +-25%) over what the package states, as bench_geometry's "stated" rows: the
  pairs the one gate (``core/gate.py``) lets through, with the refused ones counted
  beside; a track is scored as the rendered instance under most of its mask on the
  frame it first appears (kept for its life).
- ``approach``: the approach sequences (a gripper onto a cube) and a push (the gripper
  reaches the cube and both move on), detector 1 s. The gripper is a robot frame (its
  tool point through a transform source, as TF would place it), the cube is tracked;
  the reward stream's gap each frame against the true gap.

Run: ``python bench/bench_live.py --sections moving_camera,approach`` (or this file).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from scipy.stats import spearmanr

from spatial_vqa_ros.core.live import KeyframePolicy
from spatial_vqa_ros.synthetic.live_scoring import (
    CONTACT_M,
    DETECTOR_DELAY_S,
    RATE_HZ,
    RunFigures,
    detection_chain,
    glide_and_pan,
    live_chain,
    play_frames,
    reentries,
    reward_run,
    run_sequence,
    serial,
    tracked,
)
from spatial_vqa_ros.synthetic.scenes import random_camera


# --- moving camera ------------------------------------------------------------------
def section_moving_camera(args: argparse.Namespace) -> None:
    size = tuple(int(v) for v in getattr(args, "size", "320x240").split("x"))
    n, n_seq = max(int(args.frames), 30), max(int(args.rooms), 1)
    t0 = time.perf_counter()
    sequences = [play_frames(glide_and_pan(args.seed + s, n, random_camera(
        np.random.default_rng(args.seed + s), *size)), args.seed + s) for s in range(n_seq)]
    back = sum(reentries(p) for p in sequences)
    print(f"\n## moving_camera: {n_seq} rendered rooms x {n} frames ({size[0]}x{size[1]}) at "
          f"{RATE_HZ:.0f} Hz, camera gliding and panning (objects came back into view "
          f"{back} times), noise model; simulation boxes, depth_box masks; detector "
          f"{DETECTOR_DELAY_S:.0f} s late in stamp time (rendered in "
          f"{time.perf_counter() - t0:.0f} s)")
    every, live, blind = RunFigures(), RunFigures(), RunFigures()
    for played in sequences:
        run_sequence(played, serial(detection_chain()), every, by_track=False)
        run_sequence(played, tracked(live_chain()), live, by_track=True)
        # no pose for the tracker and the keyframe policy (the core still has it):
        # keyframes on a view change come from the images
        run_sequence(played, tracked(live_chain(), with_pose=False), blind, by_track=True)
    for name, f in (("every frame", every), ("tracked", live), ("no pose", blind)):
        extra = (f"; tracks {f.tracks}, {f.unmatched_tracks} on no single instance; "
                 "keyframes by reason " + ", ".join(
                     f"{k} {v}" for k, v in sorted(f.keyframe_reasons.items()))
                 if f is not every else "")
        print(f"  {name:11s}  distance within +-25% {f.distance_success:6.1%} of {f.pairs} "
              f"pairs stated ({f.refused} refused by the gate; every whole pair, stated or "
              f"not: {f.whole_success:.1%} of {f.whole_pairs}); frames with objects "
              f"{f.objects_share:6.1%} of the {f.frames_after_first} from the first "
              f"detection on (of {f.frames}){extra}")
    print(f"  tracked - every frame: {(live.distance_success - every.distance_success) * 100:+.1f}"
          " points (goal: >= 97% of pairs, within 1 point)")


# --- approach and push -----------------------------------------------------------------
def reward_figures(runs: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """Spearman per sequence over the frames before contact (mean, min; at contact the
    true gaps tie at 0 and ranks say nothing), median |error| over every frame with a
    reward and over the contact frames, and frames with a reward from the first on."""
    rhos, errors, contact, rewarded, after = [], [], [], 0, 0
    for est, true in runs:
        valid = np.isfinite(est)
        first = int(np.argmax(valid)) if valid.any() else len(est)
        rewarded, after = rewarded + int(valid[first:].sum()), after + len(est) - first
        apart = valid & (true > CONTACT_M)
        if apart.sum() > 2:
            rhos.append(float(spearmanr(est[apart], true[apart]).statistic))
        errors += list(np.abs(est[valid] - true[valid]))
        contact += list(np.abs(est[valid & ~apart] - true[valid & ~apart]))
    e, c = np.array(errors) * 100, np.array(contact) * 100
    at_contact = f"{np.median(c):.2f} cm (n={c.size})" if c.size else "none"
    return (f"spearman mean {np.nanmean(rhos):.4f} min {np.nanmin(rhos):.4f}; |error| median "
            f"{np.median(e):.2f} cm p95 {np.percentile(e, 95):.2f} cm, at contact median "
            f"{at_contact}; reward on {rewarded / max(after, 1):.1%} of the frames from the "
            "first on")


def section_approach(args: argparse.Namespace) -> None:
    size = tuple(int(v) for v in getattr(args, "size", "320x240").split("x"))
    n, n_seq = max(int(args.frames), 30), max(int(args.rooms), 1)
    policy = KeyframePolicy(every_n_frames=int(RATE_HZ * DETECTOR_DELAY_S),
                            every_s=DETECTOR_DELAY_S)
    print(f"\n## approach: {n_seq} sequences x {n} frames ({size[0]}x{size[1]}) at "
          f"{RATE_HZ:.0f} Hz per kind, noise model; the gripper a robot frame (tool point "
          f"through a transform source), the cube detected (simulation box, depth_box "
          f"mask) at 1 Hz, {DETECTOR_DELAY_S:.0f} s late in stamp time, tracked by "
          "depth_flow between; reward stream's gap vs the true gap (goal: spearman >= "
          "0.99, median error <= 1.5 cm)")
    for kind in ("approach", "push"):
        for name in ("every frame", "tracked"):
            runs = []
            for s in range(n_seq):
                perceive = (serial(detection_chain()) if name == "every frame"
                            else tracked(live_chain(policy=policy)))
                runs.append(reward_run(kind, args.seed + s, n, size, perceive))
            print(f"  {kind:8s} {name:11s} {reward_figures(runs)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="moving_camera,approach")
    parser.add_argument("--rooms", type=int, default=4, help="sequences per section")
    parser.add_argument("--frames", type=int, default=60, help="frames per sequence (>= 30)")
    parser.add_argument("--size", default="320x240", help="WxH of the rendered frames")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sections = {"moving_camera": section_moving_camera, "approach": section_approach}
    wanted = [s.strip() for s in args.sections.split(",") if s.strip()]
    try:
        width, height = (int(v) for v in args.size.split("x"))
    except ValueError:
        width = height = 0
    bad = [s for s in wanted if s not in sections]
    if bad or not wanted or width < 64 or height < 48 or args.rooms < 1 or args.frames < 1:
        print(f"bench_live_accuracy: sections are {', '.join(sections)} (got "
              f"{args.sections!r}); --size WxH at least 64x48, --rooms and --frames >= 1",
              file=sys.stderr)
        return 2
    for name in wanted:
        sections[name](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

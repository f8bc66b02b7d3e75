"""How closely `spatial-vqa play` keeps the recorded spacing of a bag, over DDS.

Usage: python bench/bench_play.py [--frames 30] [--rate-hz 10] [--rates 1 2 4]
                                  [--size 160x120]
Writes a synthetic bag (--frames at --rate-hz), plays its rgb topic with
`spatial-vqa play --rate R` for each of --rates in its own process, receives it in
this process and prints, per rate, the receive-time error of every frame against the
recorded spacing divided by R (median, p95, max; relative to the first frame), the
span from first to last frame against the expected one, and the player's own largest
lag behind its schedule. The tests check that every message arrives once, in order,
and never ahead of the schedule; these are the timing figures.
Keep DDS on loopback: ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST and a ROS_DOMAIN_ID.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(os.getpid() % 30 + 60))
REPO = Path(__file__).resolve().parents[1]


def play_once(node, bag_path: Path, topic: str, rate: float, frames: int
              ) -> tuple[list[float], list[int], str] | None:
    """Receive times (monotonic s), header stamps (ns) and the player's output."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    received: list[tuple[float, int]] = []

    def on_image(msg) -> None:
        received.append((time.monotonic(),
                         msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec))

    subscription = node.create_subscription(
        Image, topic, on_image, QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE))
    command = [sys.executable, "-m", "spatial_vqa_ros.cli", "play", str(bag_path), "--rate",
               f"{rate:g}", "--qos-depth", "1000", "--wait-for-subscribers", "30",
               "--topics", topic]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        deadline = time.monotonic() + 60 + frames / rate
        while time.monotonic() < deadline and (len(received) < frames or proc.poll() is None):
            rclpy.spin_once(node, timeout_sec=0.01)
        output = proc.communicate(timeout=30)[0].decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        node.destroy_subscription(subscription)
    if proc.returncode != 0 or len(received) < frames:
        print(f"rate {rate:g}: received {len(received)} of {frames} frames, player exit "
              f"{proc.returncode}:\n{output}", file=sys.stderr)
        return None
    return [t for t, _ in received], [s for _, s in received], output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--rate-hz", type=float, default=10.0, help="recorded frame rate")
    parser.add_argument("--rates", type=float, nargs="+", default=[1.0, 2.0, 4.0],
                        help="playback speed factors")
    parser.add_argument("--size", default="160x120", help="frame size WxH")
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()

    import rclpy

    from spatial_vqa_ros.io.bags import BagTopics
    from spatial_vqa_ros.synthetic.bags import write_synthetic_bag

    width, height = (int(v) for v in args.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_play_"))
    bag = write_synthetic_bag(tmp / "bag", "scene", frames=args.frames, seed=args.seed,
                              rate_hz=args.rate_hz, width=width, height=height)
    topic = BagTopics().rgb
    rclpy.init()
    node = rclpy.create_node("bench_play_receiver")
    rows = []
    try:
        for rate in args.rates:
            result = play_once(node, bag.path, topic, rate, args.frames)
            if result is None:
                return 1
            rows.append((rate, *result))
    finally:
        node.destroy_node()
        rclpy.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)

    recorded_s = (args.frames - 1) / args.rate_hz
    print(f"## `spatial-vqa play` pacing: {args.frames} {width}x{height} rgb frames recorded "
          f"at {args.rate_hz:g} Hz ({recorded_s:.2f} s), received over DDS (reliable)")
    print("  error: |receive time - recorded time / rate| per frame, both from the first "
          "frame")
    print(f"  {'rate':>5s} | {'error ms: median':>16s} {'p95':>6s} {'max':>6s} | "
          f"{'span s':>6s} {'(expected)':>10s} | player max lag ms | in order")
    for rate, received, stamps, output in rows:
        r = np.array(received) - received[0]
        s = (np.array(stamps) - stamps[0]) * 1e-9 / rate
        errors_ms = np.abs(r - s) * 1e3
        lag = re.search(r"max lag (\d+) ms", output)
        print(f"  {rate:5g} | {np.median(errors_ms):16.1f} {np.percentile(errors_ms, 95):6.1f} "
              f"{errors_ms.max():6.1f} | {r[-1]:6.3f} {f'({recorded_s / rate:.3f})':>10s} | "
              f"{lag[1] if lag else '?':>17s} | {stamps == sorted(stamps)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

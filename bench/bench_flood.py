"""Input flood: the node stays bounded in memory when frames come faster than it works.

Usage: python bench/bench_flood.py [--seconds 120 (1800: the leak check)] [--input-hz 60]
                                   [--delay 0.05]
                                   [--size 640x480] [--best-effort]
Starts `spatial-vqa node` with the slow test-double backend (``synthetic.doubles``,
--delay s per frame, slower than the input) and `spatial-vqa play --loop` publishing a
synthetic scene at --input-hz, for
--seconds. Samples the node's RSS (psutil) every second and prints memory growth after
warm-up (target <= 50 MB), frames processed and dropped (from /diagnostics), and
whether the node is still alive and answering a query at the end.
Keep DDS on loopback: ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST and a ROS_DOMAIN_ID.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(os.getpid() % 30 + 60))
REPO = Path(__file__).resolve().parents[1]
NS = "/bench_flood"
MB = 1024 * 1024


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "spatial_vqa_ros.cli", *args]


def _start(command: list[str], log: Path, env: dict[str, str] | None = None
           ) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                env={**os.environ, **(env or {})})


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="flood duration")
    parser.add_argument("--input-hz", type=float, default=60.0)
    parser.add_argument("--delay", type=float, default=0.05,
                        help="seconds per frame of the node's slow test-double backend")
    parser.add_argument("--size", default="640x480", help="frame size WxH")
    parser.add_argument("--warmup", type=float, default=15.0,
                        help="seconds before the baseline RSS sample")
    parser.add_argument("--best-effort", action="store_true",
                        help="best-effort input (node qos sensor_data) instead of reliable")
    parser.add_argument("--keep-stamps", action="store_true",
                        help="loop the bag with its recorded stamps (time jumps back every "
                        "pass, as with `ros2 bag play --loop`)")
    parser.add_argument("--seed", type=int, default=6)
    return parser.parse_args()


@dataclass
class Flood:
    """What one flood run measured."""

    samples: list[tuple[float, float]] = field(default_factory=list)  # (s, RSS MB)
    rss_idle: float = float("nan")
    flood_s: float = 0.0
    alive: bool = False
    diagnostics: dict[str, str] = field(default_factory=dict)
    answer: object = None
    round_trip_s: float = float("nan")


def _sample_rss(node, proc: subprocess.Popen, seconds: float, samples: list) -> float:
    """Spin the probe for ``seconds`` while sampling the node's RSS once a second."""
    import rclpy

    start = next_sample = time.monotonic()
    while time.monotonic() - start < seconds and proc.poll() is None:
        rclpy.spin_once(node, timeout_sec=0.1)
        if time.monotonic() >= next_sample:
            samples.append((time.monotonic() - start,
                            psutil.Process(proc.pid).memory_info().rss / MB))
            next_sample += 1.0
    return time.monotonic() - start


def _flood(args: argparse.Namespace, bag, subject: str, tmp: Path) -> Flood | None:
    """Start the node and the looping player, flood, then read diagnostics and ask."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from spatial_vqa_ros.srv import QuerySpatial

    from spatial_vqa_ros.nodes.runner import stop_process
    from spatial_vqa_ros.synthetic.doubles import DELAY_ENV, SLOW_DETECTOR

    qos = [] if args.best_effort else ["-p", "qos:=reliable"]
    node_proc = _start(_cli("node", "--ros-args", "-r", f"__ns:={NS}", "-p",
                            f"detector:={SLOW_DETECTOR}", *qos), tmp / "node.log",
                       {DELAY_ENV: str(args.delay)})
    player = None
    rclpy.init()
    node = rclpy.create_node("bench_flood_probe")
    diagnostics: list = []
    node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    client = node.create_client(QuerySpatial, f"{NS}/spatial_vqa/query")
    run = Flood()
    try:
        if not client.wait_for_service(timeout_sec=60):
            print(f"the node did not come up; log: {tmp / 'node.log'}", file=sys.stderr)
            return None
        run.rss_idle = psutil.Process(node_proc.pid).memory_info().rss / MB
        player = _start(_cli("play", str(bag.path), "--loop",
                             *(["--best-effort"] if args.best_effort else []),
                             *(["--keep-stamps"] if args.keep_stamps else [])),
                        tmp / "player.log")
        run.flood_s = _sample_rss(node, node_proc, args.seconds, run.samples)
        run.alive = node_proc.poll() is None
        player.send_signal(signal.SIGINT)  # prints its summary
        player.wait(timeout=20)
        _sample_rss(node, node_proc, 3.0, [])  # the last diagnostics arrive
        for array in diagnostics[-1:]:
            run.diagnostics = {kv.key: kv.value for s in array.status for kv in s.values}
        if run.alive:
            t0 = time.perf_counter()
            future = client.call_async(QuerySpatial.Request(relation="height", subject=subject))
            rclpy.spin_until_future_complete(node, future, timeout_sec=10)
            run.round_trip_s = time.perf_counter() - t0
            run.answer = future.result() if future.done() else None
            run.alive = node_proc.poll() is None
    finally:
        node.destroy_node()
        rclpy.shutdown()
        for proc in (player, node_proc):
            stop_process(proc)
    return run


def _report(args: argparse.Namespace, run: Flood, bag, tmp: Path, size: str) -> None:
    t = np.array([s[0] for s in run.samples])
    rss = np.array([s[1] for s in run.samples])
    after = t >= args.warmup
    print(f"## input flood: {args.input_hz:g} Hz of {size} frames "
          f"({'best effort' if args.best_effort else 'reliable'}) for {run.flood_s:.0f} s "
          f"into a node whose backend takes {args.delay * 1e3:.0f} ms per frame")
    if after.sum() >= 2:
        base, final, peak = rss[after][0], rss[-1], rss[after].max()
        slope = np.polyfit(t[after], rss[after], 1)[0] * 60
        print(f"  node RSS: idle {run.rss_idle:.0f} MB, at {args.warmup:.0f} s {base:.0f} MB, "
              f"final {final:.0f} MB, peak {peak:.0f} MB")
        print(f"  growth after warm-up: {final - base:+.1f} MB (peak {peak - base:+.1f} MB; "
              f"trend {slope:+.2f} MB/min)   target <= 50 MB")
        late = t >= t[after][0] + (t[-1] - t[after][0]) / 2
        if late.sum() >= 10:  # a leak keeps its slope; allocator warm-up flattens out
            late_slope = np.polyfit(t[late], rss[late], 1)[0] * 60
            print(f"  trend over the second half: {late_slope:+.2f} MB/min   "
                  "goal <= 1 MB/min (run --seconds 1800 to tell a leak from warm-up)")
    else:
        print(f"  too few RSS samples after warm-up ({len(run.samples)} in all)")
    published = re.search(rf"^\s+{re.escape(bag.topics.rgb)}\s+(\d+)$",
                          (tmp / "player.log").read_text(errors="replace"), re.MULTILINE)
    if published:
        print(f"  frames published {published.group(1)} "
              f"({int(published.group(1)) / run.flood_s:.1f} Hz achieved)")
    values = run.diagnostics
    if values:
        print(f"  frames processed {values.get('frames_processed')}, dropped (latest-frame-"
              f"wins) {values.get('frames_dropped')}, input at the end "
              f"{values.get('input_rate_hz')} Hz, latency median "
              f"{values.get('latency_median_ms')} ms, errors {values.get('errors')}"
              + (f" (last: {values['last_error'][:120]})" if values.get("last_error") else ""))
    if run.answer is not None:
        print(f"  node alive: {run.alive}; query answered in {run.round_trip_s * 1e3:.1f} ms: "
              f"success={run.answer.success} "
              f"{run.answer.answer or run.answer.error_message!r}")
    else:
        print(f"  node alive: {run.alive}; no answer to the final query; node log: "
              f"{tmp / 'node.log'}")


def main() -> int:
    args = _parse_args()
    from spatial_vqa_ros.synthetic.bags import unique_labels, write_synthetic_bag

    width, height = (int(v) for v in args.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_flood_"))
    bag = write_synthetic_bag(tmp / "bag", "scene", frames=60, seed=args.seed,
                              rate_hz=args.input_hz, noise=True, width=width, height=height)
    subject = unique_labels(bag.path)[0]
    run = _flood(args, bag, subject, tmp)
    if run is None:
        return 1
    _report(args, run, bag, tmp, args.size)
    ok = run.alive and run.answer is not None
    if ok:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

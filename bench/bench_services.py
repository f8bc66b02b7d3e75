"""Service round trips of the spatial node over DDS, against an empty rclpy service.

Usage: python bench/bench_services.py [--calls 500] [--size 640x480] [--rate-hz 30]
Starts, each in its own process: `spatial-vqa node`, `spatial-vqa play --loop` feeding
it a synthetic scene at --rate-hz, and a bare rclpy node whose SetLabels service
returns at once (the baseline). From this process it calls ``~/query``,
``~/compute_reward`` and the empty service in turn, --calls times each, and prints
p50 / p99 round trips and their ratios to the empty service's (targets: p50 <= 1.5x,
p99 <= 3x), plus what the node ingested meanwhile (from /diagnostics).
Keep DDS on loopback: ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST and a ROS_DOMAIN_ID.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(os.getpid() % 30 + 60))
REPO = Path(__file__).resolve().parents[1]
NS = "/bench_services"


def serve_empty(executor_kind: str) -> int:
    """The baseline: a bare node whose SetLabels service returns immediately, spun by
    rclpy.spin ("single") or, like the spatial node, by a 4-thread MultiThreadedExecutor
    with the service in a reentrant callback group ("multi")."""
    import rclpy
    from rclpy.callback_groups import ReentrantCallbackGroup
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
    from spatial_vqa_ros.srv import SetLabels

    rclpy.init()
    node = rclpy.create_node(f"empty_{executor_kind}", namespace=NS)

    def answer(request, response):
        response.success = True
        return response

    multi = executor_kind == "multi"
    node.create_service(SetLabels, "~/empty", answer,
                        callback_group=ReentrantCallbackGroup() if multi else None)
    with contextlib.suppress(KeyboardInterrupt, ExternalShutdownException):
        if multi:
            executor = MultiThreadedExecutor(num_threads=4)
            executor.add_node(node)
            executor.spin()
        else:
            rclpy.spin(node)
    return 0


def _start(command: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "spatial_vqa_ros.cli", *args]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ms = np.array(samples) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per service")
    parser.add_argument("--size", default="640x480", help="frame size WxH")
    parser.add_argument("--rate-hz", type=float, default=30.0, help="input frame rate")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--best-effort", action="store_true",
                        help="feed frames best effort (node qos sensor_data) instead of reliable")
    parser.add_argument("--serve-empty", choices=("single", "multi"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_empty:
        return serve_empty(args.serve_empty)

    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from spatial_vqa_ros.srv import ComputeReward, QuerySpatial, SetLabels

    from spatial_vqa_ros.synthetic.bags import read_ground_truth, write_synthetic_bag

    width, height = (int(v) for v in args.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_services_"))
    bag = write_synthetic_bag(tmp / "bag", "scene", frames=30, seed=args.seed,
                              rate_hz=args.rate_hz, noise=True, width=width, height=height)
    objects = read_ground_truth(bag.path)[0]["objects"]
    counts = Counter(o["label"] for o in objects)
    source, target = [o["label"] for o in objects if counts[o["label"]] == 1][:2]

    qos = [] if args.best_effort else ["-p", "qos:=reliable"]
    procs = [
        _start(_cli("node", "--ros-args", "-r", f"__ns:={NS}", *qos), tmp / "node.log"),
        _start([sys.executable, __file__, "--serve-empty", "single"], tmp / "empty1.log"),
        _start([sys.executable, __file__, "--serve-empty", "multi"], tmp / "empty4.log"),
        _start(_cli("play", str(bag.path), "--loop", "--rate", "1",
                    *(["--best-effort"] if args.best_effort else [])), tmp / "player.log"),
    ]
    rclpy.init()
    node = rclpy.create_node("bench_services_client")
    diagnostics: list = []
    node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    clients = {
        "~/query": (node.create_client(QuerySpatial, f"{NS}/spatial_vqa/query"),
                    QuerySpatial.Request(relation="distance", subject=source, object=target)),
        "~/compute_reward": (
            node.create_client(ComputeReward, f"{NS}/spatial_vqa/compute_reward"),
            ComputeReward.Request(source_label=source, target_label=target,
                                  distance_kind="gap")),
        "empty (spin)": (node.create_client(SetLabels, f"{NS}/empty_single/empty"),
                         SetLabels.Request()),
        "empty (MT exec)": (node.create_client(SetLabels, f"{NS}/empty_multi/empty"),
                            SetLabels.Request()),
    }
    try:
        for name, (client, _) in clients.items():
            if not client.wait_for_service(timeout_sec=60):
                print(f"{name} did not come up; logs in {tmp}", file=sys.stderr)
                return 1

        def call(client, request):
            start = time.perf_counter()
            future = client.call_async(request)
            rclpy.spin_until_future_complete(node, future, timeout_sec=10)
            if not future.done():
                raise RuntimeError(f"no answer from {client.srv_name}")
            return time.perf_counter() - start, future.result()

        deadline = time.monotonic() + 60  # until the scene is in the graph
        while not call(*clients["~/query"])[1].success:
            if time.monotonic() > deadline:
                print(f"the node never localised {source} and {target}; logs in {tmp}",
                      file=sys.stderr)
                return 1
            time.sleep(0.2)
        for _ in range(20):  # warm-up
            for client, request in clients.values():
                call(client, request)
        diagnostics.clear()
        samples: dict[str, list[float]] = {name: [] for name in clients}
        failures = Counter()
        start = time.monotonic()
        for _ in range(args.calls):
            for name, (client, request) in clients.items():
                seconds, reply = call(client, request)
                samples[name].append(seconds)
                failures[name] += not reply.success
        elapsed = time.monotonic() - start
        rclpy.spin_once(node, timeout_sec=1.5)
        values = {}
        for array in diagnostics[-1:]:
            values = {kv.key: kv.value for s in array.status for kv in s.values}
    finally:
        node.destroy_node()
        rclpy.shutdown()
        _stop(procs)
    shutil.rmtree(tmp, ignore_errors=True)  # kept (with the logs) when something failed

    empty = _percentiles(samples["empty (spin)"])
    empty_mt = _percentiles(samples["empty (MT exec)"])
    print(f"## service round trips over DDS ({args.calls} calls each, interleaved, "
          f"{elapsed:.0f} s) while the node ingests {width}x{height} frames at "
          f"{args.rate_hz:g} Hz ({'best effort' if args.best_effort else 'reliable'})")
    print(f"  {'service':17s} {'p50 ms':>7s} {'p99 ms':>7s} | vs empty (spin): "
          f"{'p50':>6s} {'p99':>6s} | vs empty (MT exec): {'p50':>6s} {'p99':>6s} | failed")
    for name, times in samples.items():
        p50, p99 = _percentiles(times)
        print(f"  {name:17s} {p50:7.3f} {p99:7.3f} |                  {p50 / empty[0]:5.2f}x "
              f"{p99 / empty[1]:5.2f}x |                     {p50 / empty_mt[0]:5.2f}x "
              f"{p99 / empty_mt[1]:5.2f}x | {failures[name]}")
    print("  targets: p50 <= 1.5x, p99 <= 3x the empty service's. 'spin': rclpy.spin "
          "(single-threaded);\n  'MT exec': a 4-thread MultiThreadedExecutor + reentrant "
          "group, as the spatial node uses.")
    if values:
        print(f"  node meanwhile: input {values.get('input_rate_hz')} Hz, processed "
              f"{values.get('frames_processed')}, dropped {values.get('frames_dropped')}, "
              f"latency median {values.get('latency_median_ms')} ms, "
              f"errors {values.get('errors')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

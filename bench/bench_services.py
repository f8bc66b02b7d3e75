"""Service round trips of the spatial node over DDS, against an empty rclpy service.

Usage: python bench/bench_services.py [--calls 500] [--size 640x480] [--rate-hz 30]
                                      [--slow-delay 2.0]
Starts, each in its own process: `spatial-vqa node`, `spatial-vqa play --loop` feeding
it a synthetic scene at --rate-hz, and a bare rclpy node whose SetLabels service
returns at once (the baseline). From this process it calls ``~/query``,
``~/compute_reward`` and the empty service in turn, --calls times each, and prints
p50 / p99 / max round trips and their ratios to the empty service's (targets: p50 <=
1.5x, p99 <= 3x), plus what the node ingested meanwhile (from /diagnostics).
Then the same again with the node's backend the slow test double
(``synthetic.doubles.SlowSimulationDetector``, --slow-delay s a frame, so the backend
is always busy with a frame): the services answer from the last snapshot meanwhile
(target: the same round trips; none near --slow-delay). --slow-delay 0 skips that run.
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
from dataclasses import dataclass
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


def _start(command: list[str], log: Path, env: dict[str, str] | None = None
           ) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                env={**os.environ, **(env or {})})


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


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max, in ms."""
    ms = np.array(samples) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), float(ms.max())


@dataclass
class Run:
    """Round trips (s) per service of one node configuration, and what the node did."""

    samples: dict[str, list[float]]
    failures: Counter
    elapsed_s: float
    diagnostics: dict[str, str]


def _measure(args: argparse.Namespace, bag, labels: tuple[str, str], *, tmp: Path, name: str,
             node_args: tuple[str, ...] = (), node_env: dict[str, str] | None = None
             ) -> Run | None:
    """Start the node (namespace ``{NS}/{name}``) and a looping player; call the node's
    services and the empty ones (already running) in turn; stop the node and player."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from spatial_vqa_ros.srv import ComputeReward, QuerySpatial, SetLabels

    source, target = labels
    ns = f"{NS}/{name}"
    qos = [] if args.best_effort else ["-p", "qos:=reliable"]
    procs = [
        _start(_cli("node", "--ros-args", "-r", f"__ns:={ns}", *qos, *node_args),
               tmp / f"node_{name}.log", node_env),
        _start(_cli("play", str(bag.path), "--loop", "--rate", "1",
                    *(["--best-effort"] if args.best_effort else [])),
               tmp / f"player_{name}.log"),
    ]
    rclpy.init()
    node = rclpy.create_node(f"bench_services_client_{name}")
    diagnostics: list = []
    node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    clients = {
        "~/query": (node.create_client(QuerySpatial, f"{ns}/spatial_vqa/query"),
                    QuerySpatial.Request(relation="distance", subject=source, object=target)),
        "~/compute_reward": (
            node.create_client(ComputeReward, f"{ns}/spatial_vqa/compute_reward"),
            ComputeReward.Request(source_label=source, target_label=target,
                                  distance_kind="gap")),
        "empty (spin)": (node.create_client(SetLabels, f"{NS}/empty_single/empty"),
                         SetLabels.Request()),
        "empty (MT exec)": (node.create_client(SetLabels, f"{NS}/empty_multi/empty"),
                            SetLabels.Request()),
    }
    try:
        for service, (client, _) in clients.items():
            if not client.wait_for_service(timeout_sec=60):
                print(f"{service} did not come up; logs in {tmp}", file=sys.stderr)
                return None

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
                return None
            time.sleep(0.2)
        for _ in range(20):  # warm-up
            for client, request in clients.values():
                call(client, request)
        diagnostics.clear()
        samples: dict[str, list[float]] = {service: [] for service in clients}
        failures = Counter()
        start = time.monotonic()
        for _ in range(args.calls):
            for service, (client, request) in clients.items():
                seconds, reply = call(client, request)
                samples[service].append(seconds)
                failures[service] += not reply.success
        elapsed = time.monotonic() - start
        rclpy.spin_once(node, timeout_sec=1.5)
        values = {}
        for array in diagnostics[-1:]:
            values = {kv.key: kv.value for s in array.status for kv in s.values}
    finally:
        node.destroy_node()
        rclpy.shutdown()
        _stop(procs)
    return Run(samples, failures, elapsed, values)


def _report(title: str, run: Run) -> None:
    empty = _percentiles(run.samples["empty (spin)"])
    empty_mt = _percentiles(run.samples["empty (MT exec)"])
    print(f"\n## {title}")
    print(f"  {'service':17s} {'p50 ms':>7s} {'p99 ms':>7s} {'max ms':>8s} | vs empty (spin): "
          f"{'p50':>6s} {'p99':>6s} | vs empty (MT exec): {'p50':>6s} {'p99':>6s} | failed")
    for service, times in run.samples.items():
        p50, p99, most = _percentiles(times)
        print(f"  {service:17s} {p50:7.3f} {p99:7.3f} {most:8.3f} |                  "
              f"{p50 / empty[0]:5.2f}x {p99 / empty[1]:5.2f}x |                     "
              f"{p50 / empty_mt[0]:5.2f}x {p99 / empty_mt[1]:5.2f}x | "
              f"{run.failures[service]}")
    values = run.diagnostics
    if values:
        print(f"  node meanwhile: input {values.get('input_rate_hz')} Hz, processed "
              f"{values.get('frames_processed')}, dropped {values.get('frames_dropped')}, "
              f"latency median {values.get('latency_median_ms')} ms, "
              f"errors {values.get('errors')}"
              + (f" (last: {values['last_error'][:160]})" if values.get('last_error') else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per service")
    parser.add_argument("--size", default="640x480", help="frame size WxH")
    parser.add_argument("--rate-hz", type=float, default=30.0, help="input frame rate")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--best-effort", action="store_true",
                        help="feed frames best effort (node qos sensor_data) instead of reliable")
    parser.add_argument("--slow-delay", type=float, default=2.0,
                        help="seconds a frame of the slow test-double backend in the second "
                        "run (0: no second run)")
    parser.add_argument("--serve-empty", choices=("single", "multi"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_empty:
        return serve_empty(args.serve_empty)

    from spatial_vqa_ros.synthetic.bags import unique_labels, write_synthetic_bag
    from spatial_vqa_ros.synthetic.doubles import DELAY_ENV, SLOW_DETECTOR

    width, height = (int(v) for v in args.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_services_"))
    bag = write_synthetic_bag(tmp / "bag", "scene", frames=30, seed=args.seed,
                              rate_hz=args.rate_hz, noise=True, width=width, height=height)
    source, target = unique_labels(bag.path)[:2]

    empties = [
        _start([sys.executable, __file__, "--serve-empty", "single"], tmp / "empty1.log"),
        _start([sys.executable, __file__, "--serve-empty", "multi"], tmp / "empty4.log"),
    ]
    feed = (f"{width}x{height} frames at {args.rate_hz:g} Hz "
            f"({'best effort' if args.best_effort else 'reliable'})")
    try:
        run = _measure(args, bag, (source, target), tmp=tmp, name="simulation")
        if run is None:
            return 1
        _report(f"service round trips over DDS ({args.calls} calls each, interleaved, "
                f"{run.elapsed_s:.0f} s) while the node ingests {feed}", run)
        print("  targets: p50 <= 1.5x, p99 <= 3x the empty service's. 'spin': rclpy.spin "
              "(single-threaded);\n  'MT exec': a 4-thread MultiThreadedExecutor + reentrant "
              "group, as the spatial node uses.")
        if args.slow_delay > 0:
            slow = _measure(args, bag, (source, target), tmp=tmp, name="slow",
                            node_args=("-p", f"detector:={SLOW_DETECTOR}"),
                            node_env={DELAY_ENV: str(args.slow_delay)})
            if slow is None:
                return 1
            _report(f"the same with the slow test-double backend ({args.slow_delay:g} s a "
                    f"frame: every call lands while a frame is in the backend; "
                    f"{slow.elapsed_s:.0f} s)", slow)
            print(f"  target: the same round trips as above, none near {args.slow_delay:g} s "
                  f"({args.slow_delay * 1e3:.0f} ms): the services answer from the last "
                  "snapshot.")
    finally:
        _stop(empties)
    shutil.rmtree(tmp, ignore_errors=True)  # kept (with the logs) when something failed
    return 0


if __name__ == "__main__":
    sys.exit(main())

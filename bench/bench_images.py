"""Images to a dataset through the full learned chain: images per second on ONNX Runtime,
one process and Ray with 1 and 2 actors.

Usage: python bench/bench_images.py [--images 8] [--skip-ray]

The chain is the one a user runs on an image folder without depth or labels: Depth
Anything V2 Small metric (518) -> OWLv2 base/16 (960), 5 prompts -> SAM2.1 hiera tiny
(1024), all real-size architectures with random weights (speed does not depend on the
weights; the records are meaningless), exported to ONNX with ``spatial-vqa models
export``'s code and run on the CPU provider, 640x480 rendered rooms, an assumed 60 degree
field of view. Exports take a few minutes first. One process uses every core; a Ray
actor uses one thread per model, so 1 -> 2 actors shows the scaling, and one process
against 2 actors on a 2-core machine the actor pool's overhead (start-up and model
loading are included in every figure). With random weights the detector still finds
boxes (so every stage runs, SAM2 included), but the depth and boxes are noise, and such
frames make no records (0 of 8 in the run reported); the figures are of the chain, not
of the records.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_families


def _models(root: Path) -> dict[str, str]:
    """Real-size random-weight snapshots with their ONNX exports, as `models export` does."""
    from spatial_vqa_ros.perception.families.sam2 import onnx_adapter as sam2_onnx

    start = time.perf_counter()
    bench_families.depth_anything("cpu", root / "depth_anything")
    bench_families._onnx_depth(root / "depth_anything", "cpu")
    bench_families._onnx_owlv2(bench_families.owlv2("cpu"), root / "owlv2", "cpu")
    bench_families.sam2("cpu", root / "sam2")
    sam2_onnx.export(root / "sam2", root / "sam2" / "onnx")
    print(f"  models built and exported in {time.perf_counter() - start:.0f} s")
    return {"depth_model": str(root / "depth_anything"),
            "detector_model": str(root / "owlv2"), "segmenter_model": str(root / "sam2")}


def _images(folder: Path, n: int) -> None:
    from PIL import Image

    from spatial_vqa_ros.synthetic import render
    from spatial_vqa_ros.synthetic.bags import synthetic_scenes

    folder.mkdir(parents=True)
    for k, scene in enumerate(synthetic_scenes("scene", n, seed=3)):
        Image.fromarray(render(scene).rgb).save(folder / f"room_{k:03d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    import transformers

    from spatial_vqa_ros.offline.bag2dataset import Bag2DatasetConfig, images2dataset
    from spatial_vqa_ros.perception.factories import PerceptionSpec

    transformers.utils.logging.disable_progress_bar()
    print(f"## images2dataset, full learned chain on ONNX Runtime (CPU), {args.images} "
          "images 640x480, real-size architectures, random weights")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        models = _models(root / "models")
        _images(root / "images", args.images)
        spec = PerceptionSpec(depth_estimator="depth_anything", detector="owlv2",
                              segmenter="sam2", perception_runtime="onnxruntime",
                              perception_device="cpu", assumed_hfov_deg=60.0, **models)
        config = Bag2DatasetConfig(perception=spec, prompts=tuple(bench_families.PROMPTS))
        runs = [("local", 1)] + ([] if args.skip_ray else [("ray", 1), ("ray", 2)])
        for engine, workers in runs:
            out = root / f"out_{engine}_{workers}"
            start = time.perf_counter()
            summary = images2dataset([root / "images"], out, config, engine=engine,
                                     workers=workers, progress=False)
            seconds = time.perf_counter() - start
            totals = summary.totals()
            label = "one process" if engine == "local" else f"ray, {workers} actor(s)"
            print(f"  {label:22s} {args.images / seconds:6.3f} images/s  "
                  f"({seconds:.1f} s incl. model loading; {totals['frames_failed']} "
                  f"failed, {totals['frames_no_objects']} without objects, "
                  f"{totals['records']} records)")
            shutil.rmtree(out)


if __name__ == "__main__":
    main()

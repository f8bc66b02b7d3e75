"""The offline paths hold depth to the node's valid range: recorded depth (bags, through
``scenes``) and depth files (``perceive``). Depth beyond ``depth_max_m`` is invalid and
no object is measured from it (issue 19, item 9: 1e30 m gave "1.2e29 meters across")."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spatial_vqa_ros.cli import main
from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.io.bags import BagFrameReader, BagFrameWriter
from spatial_vqa_ros.offline.frames import perceive_frame
from spatial_vqa_ros.offline.perceive import perceive
from spatial_vqa_ros.offline.scenes import iter_scene_records
from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain
from spatial_vqa_ros.perception.types import Detections, InputSettings
from spatial_vqa_ros.synthetic.scoring import render_case

ABSURD_M = 1e30


def _largest_object(rendered) -> tuple[int, str]:
    """The instance with the most pixels among those whose label is unique."""
    labels = list(rendered.id_to_label.values())
    ids, counts = np.unique(rendered.instance_ids[rendered.instance_ids > 0], return_counts=True)
    ranked = [int(i) for _, i in sorted(zip(counts, ids), reverse=True)
              if labels.count(rendered.id_to_label.get(int(i), "")) == 1]
    return ranked[0], rendered.id_to_label[ranked[0]]


def _bag(path, depth_m, rendered, frames: int = 2):
    with BagFrameWriter(path) as writer:  # 32FC1: holds 1e30 as recorded
        for k in range(frames):
            writer.write(1_000_000_000 + k * 100_000_000, rendered.rgb, rendered.camera,
                         depth_m=depth_m, instance_ids=rendered.instance_ids,
                         id_to_label=rendered.id_to_label)
    return path


@pytest.fixture(scope="module")
def case():
    _, rendered, _ = render_case(1)
    return rendered, *_largest_object(rendered)


def test_recorded_depth_beyond_depth_max_is_never_measured(tmp_path, case):
    rendered, instance, label = case
    depth = np.where(rendered.instance_ids == instance, np.float32(ABSURD_M),
                     rendered.depth_m).astype(np.float32)
    records = list(iter_scene_records(_bag(tmp_path / "bag", depth, rendered)))
    assert len(records) == 2
    for record in records:
        assert label not in [o["label"] for o in record["objects"]]
        assert record["objects"]  # the others are measured
        assert max(max(abs(v) for v in o["size"] + o["center"]) for o in record["objects"]) < 40


def test_scenes_hold_recorded_depth_to_the_given_range(tmp_path, case):
    rendered, instance, label = case
    object_m = float(np.nanmedian(rendered.depth_m[rendered.instance_ids == instance]))
    bag = _bag(tmp_path / "bag", rendered.depth_m, rendered)
    near = InputSettings(0.05, object_m - 0.5)
    frame = next(iter(BagFrameReader(bag)))
    inputs = perceive_frame(build_chain(PerceptionSpec()), frame, (), near).capture.depth_m
    assert not (inputs > near.depth_max_m).any()
    default = next(iter_scene_records(bag))
    cut = next(iter_scene_records(bag, inputs=near))
    assert label in [o["label"] for o in default["objects"]]
    assert label not in [o["label"] for o in cut["objects"]]
    out = tmp_path / "cut.jsonl"
    assert main(["scenes", str(bag), "--out", str(out), "--depth-max-m",
                 str(near.depth_max_m)]) == 0
    assert json.loads(out.read_text().splitlines()[0])["objects"] == cut["objects"]


@pytest.mark.parametrize("low,high", [("0.5", "0.2"), ("0.05", "inf"), ("0", "5")])
def test_scenes_refuse_a_bad_depth_range_with_exit_2(tmp_path, case, capsys, low, high):
    rendered, _, _ = case
    bag = _bag(tmp_path / "bag", rendered.depth_m, rendered, frames=1)
    assert main(["scenes", str(bag), "--depth-min-m", low, "--depth-max-m", high]) == 2
    assert "need 0 < depth_min_m < depth_max_m" in capsys.readouterr().err


#: The boxes (x0, y0, x1, y1) :class:`BoxDetector` finds.
BOXES = {"near": (4, 4, 16, 16), "far": (24, 4, 36, 16)}


class BoxDetector:
    """Two fixed boxes, "near" and "far", as a model detector would give them."""

    name = "boxes"

    def detect(self, inputs, prompts):
        return Detections(np.array(list(BOXES.values()), np.float32), tuple(BOXES),
                          np.ones(2, np.float32))


class BoxSegmenter:
    """Each box, whole, as its mask."""

    name = "boxes"

    def segment(self, inputs, xyxy, depth_m):
        masks = np.zeros((len(xyxy), *inputs.size_hw), bool)
        for k, (x0, y0, x1, y1) in enumerate(xyxy.astype(int)):
            masks[k, y0:y1, x0:x1] = True
        return masks


def _image_case():
    """A 40x30 image of a wall 2 m away with the "far" box ABSURD_M away."""
    rgb = np.full((30, 40, 3), 128, np.uint8)
    depth = np.full((30, 40), 2.0, np.float32)
    x0, y0, x1, y1 = BOXES["far"]
    depth[y0:y1, x0:x1] = ABSURD_M
    return rgb, depth, CameraIntrinsics(40, 30, 40.0, 40.0, 19.5, 14.5)


def test_a_depth_file_beyond_depth_max_is_never_measured():
    rgb, depth, camera = _image_case()
    spec = PerceptionSpec(detector=f"{__name__}:BoxDetector",
                          segmenter=f"{__name__}:BoxSegmenter")
    graph = perceive(rgb, spec, ["near", "far"], depth_m=depth, camera=camera).result.graph
    assert [o.label for o in graph.objects] == ["near"]
    assert "far" in [label for label, _ in graph.unlocalised]
    assert np.abs(graph.objects[0].extent_scene).max() < 1.0
    closer = perceive(rgb, spec, ["near"], depth_m=depth, camera=camera,
                      settings=InputSettings(0.05, 1.5)).result.graph
    assert closer.objects == ()  # the wall at 2 m is beyond 1.5 m too


def test_perceive_command_states_no_size_from_a_depth_file_beyond_depth_max(tmp_path,
                                                                            capsys):
    from PIL import Image

    rgb, depth, _ = _image_case()
    Image.fromarray(rgb).save(tmp_path / "wall.png")
    np.save(tmp_path / "wall.npy", depth)
    assert main(["perceive", str(tmp_path / "wall.png"), "--depth", str(tmp_path / "wall.npy"),
                 "--fx", "40", "--fy", "40", "--cx", "19.5", "--cy", "14.5",
                 "--detector", f"{__name__}:BoxDetector",
                 "--segmenter", f"{__name__}:BoxSegmenter", "--labels", "near,far",
                 "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "far: not localised" in out and "the far:" not in out
    record = json.loads((tmp_path / "out" / "wall.jsonl").read_text())
    assert [o["label"] for o in record["objects"]] == ["near"]

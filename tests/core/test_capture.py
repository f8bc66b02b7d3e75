from __future__ import annotations

import ast
import importlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.core.capture import Capture, Observations, depth_to_metres
from spatial_vqa_ros.core.errors import CoreError

CAM = CameraIntrinsics(8, 6, 10.0, 10.0, 4.0, 3.0)


def test_16uc1_millimetres_become_metres_and_zero_is_invalid():
    raw = np.array([[0, 1000], [1500, 65535]], np.uint16)
    depth = depth_to_metres(raw, "16UC1", max_m=20.0)
    assert depth.dtype == np.float32
    assert np.isnan(depth[0, 0])
    assert depth[0, 1] == pytest.approx(1.0) and depth[1, 0] == pytest.approx(1.5)
    assert np.isnan(depth[1, 1])  # 65.5 m is beyond the sensor range


def test_32fc1_nan_inf_and_out_of_range_are_invalid():
    raw = np.array([[np.nan, np.inf], [-1.0, 0.01], [2.0, 0.0]], np.float32)
    depth = depth_to_metres(raw, "32FC1")
    assert np.isnan(depth[:2]).all() and np.isnan(depth[2, 1])
    assert depth[2, 0] == 2.0


def test_unknown_depth_encoding_is_refused():
    with pytest.raises(CoreError, match="unsupported depth encoding 'rgb8'"):
        depth_to_metres(np.zeros((2, 2), np.uint8), "rgb8")


def test_capture_rejects_depth_of_another_size():
    rgb = np.zeros((6, 8, 3), np.uint8)
    with pytest.raises(CoreError, match="depth image has shape .* to match the rgb"):
        Capture(rgb, np.zeros((5, 8), np.float32), CAM)


def test_capture_rejects_rgb_of_another_size():
    with pytest.raises(CoreError, match=r"rgb image has shape \(6, 7, 3\)"):
        Capture(np.zeros((6, 7, 3), np.uint8), np.zeros((6, 8), np.float32), CAM)


def test_instance_ids_without_label_are_ignored_and_reported():
    ids = np.array([[0, 3, 3], [7, 7, 0]], np.int32)
    obs = Observations.from_instance_image(ids, {3: "mug"})
    assert obs.labels == ("mug",)
    assert obs.source_ids.tolist() == [3]
    assert (obs.segmentation == np.array([[0, 1, 1], [0, 0, 0]])).all()
    assert "[7]" in obs.warnings[0] and "no label" in obs.warnings[0]


def test_overlapping_masks_go_to_the_higher_score():
    masks = np.zeros((2, 3, 3), bool)
    masks[0, :2, :2] = True
    masks[1, 1:, 1:] = True
    obs = Observations.from_masks(masks, ["a", "b"], np.array([0.9, 0.5]))
    assert obs.segmentation[1, 1] == 1  # a wins the overlap
    assert obs.segmentation[2, 2] == 2


def test_masks_and_labels_must_agree():
    with pytest.raises(CoreError, match="2 masks need 2 labels"):
        Observations.from_masks(np.zeros((2, 3, 3), bool), ["a"], np.array([1.0, 1.0]))


def test_huge_and_negative_instance_ids_work_without_a_huge_table():
    ids = np.array([[0, 4_000_000_000, 4_000_000_000], [-5, 7, 0]], np.int64)
    obs = Observations.from_instance_image(ids, {4_000_000_000: "crate", 7: "mug"})
    assert obs.labels == ("mug", "crate")  # ordered by id
    assert (obs.segmentation == np.array([[0, 2, 2], [0, 1, 0]])).all()


def test_the_capture_module_replaces_core_frame_which_is_gone():
    """One meaning per name: ``frame`` is a coordinate frame; no alias brings the old
    module (or ``core.Frame``) back beside ``core.capture.Capture``."""
    from spatial_vqa_ros import core

    assert core.Capture is Capture
    assert not hasattr(core, "Frame")
    with pytest.raises(ModuleNotFoundError, match=r"spatial_vqa_ros\.core\.frame"):
        importlib.import_module("spatial_vqa_ros.core.frame")


def _capture_names(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of every parameter and annotated field or variable typed as a
    Capture (``Capture``, ``Capture | None``, ``Optional[Capture]``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            target, annotation = node.arg, node.annotation
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            target, annotation = node.target.id, node.annotation
        else:
            continue
        if any(isinstance(n, ast.Name) and n.id == "Capture" for n in ast.walk(annotation)):
            found.append((node.lineno, target))
    return found


def test_every_parameter_and_field_holding_a_capture_is_named_for_it():
    """Where a Capture is passed, ``frame`` would sit beside ``frame_id`` and robot
    ``frames`` (the node's ComputeReward did): it is called ``capture`` (or ends so)."""
    package = Path(__file__).resolve().parents[2] / "spatial_vqa_ros"
    misnamed, seen = [], 0
    for path in sorted(package.rglob("*.py")):
        for line, name in _capture_names(ast.parse(path.read_text(), str(path))):
            seen += 1
            if not name.endswith("capture"):
                misnamed.append(f"{path.relative_to(package)}:{line} {name}")
    assert seen >= 10  # the pipeline, reward, node snapshot, chain result, source frames
    assert misnamed == []


def test_observations_say_where_each_mask_came_from_and_default_to_detected():
    masks = np.zeros((2, 4, 4), bool)
    masks[0, :2], masks[1, 2:] = True, True
    plain = Observations.from_masks(masks, ["mug", "box"], np.ones(2))
    assert plain.origin(1) == ("detected", 0.0)
    tracked = replace(plain, mask_sources=("detected", "tracked"),
                      detection_age_s=np.array([0.0, 0.4]))
    assert tracked.origin(1) == ("tracked", 0.4)


@pytest.mark.parametrize("changes,message", [
    ({"mask_sources": ("detected",)}, "mask_sources must hold 2 of detected, tracked"),
    ({"mask_sources": ("detected", "guessed")}, "mask_sources must hold 2"),
    ({"detection_age_s": np.array([0.0])}, r"detection_age_s must be \(2,\)"),
    ({"detection_age_s": np.array([0.0, -1.0])}, "finite seconds >= 0"),
    ({"detection_age_s": np.array([0.0, np.nan])}, "finite seconds >= 0"),
])
def test_bad_mask_sources_or_ages_are_refused(changes, message):
    masks = np.zeros((2, 4, 4), bool)
    plain = Observations.from_masks(masks, ["mug", "box"], np.ones(2))
    with pytest.raises(CoreError, match=message):
        replace(plain, **changes)

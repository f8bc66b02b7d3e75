"""Stand-ins for models and a robot, importable by path (``annotate_plugins:...``): the
synthetic approach scene's objects found by colour, a flat depth "model", and forward
kinematics that reads the end effector's camera-frame position from the state."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from spatial_vqa_ros.perception.types import DepthResult, Detections

PLANE_M = 1.2
#: label -> the rule its pixels obey in the synthetic approach images (grey 140 floor,
#: an orange-brown cube, a dark grey gripper)
RULES = {
    "cube": lambda rgb: (rgb[..., 0] - rgb[..., 2] > 35) & (rgb[..., 0] > 70),
    "gripper": lambda rgb: (rgb.max(axis=-1) < 85) & (abs(rgb[..., 0] - rgb[..., 2]) < 15),
}


def _largest(mask):
    """The largest 8-connected part of a mask (a video codec's ringing adds specks)."""
    parts, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count <= 1:
        return mask
    return parts == 1 + int(np.argmax(ndimage.sum(mask, parts, range(1, count + 1))))


class PlaneDepth:
    """Every pixel at PLANE_M metres: a depth model that needs no weights."""

    name = "plane_depth"

    def estimate(self, inputs):
        height, width = inputs.rgb.shape[:2]
        return DepthResult(np.full((height, width), PLANE_M, np.float32), "model")


class ColourDetector:
    """The box around the pixels of each prompt's colour rule (none: not found)."""

    name = "colour"

    def detect(self, inputs, prompts):
        rgb = inputs.rgb.astype(np.int32)
        boxes, labels = [], []
        for prompt in prompts:
            ys, xs = np.nonzero(_largest(RULES[prompt](rgb)))
            if xs.size >= 4:
                boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
                labels.append(prompt)
        return Detections(np.array(boxes, np.float64).reshape(-1, 4), tuple(labels),
                          np.ones(len(labels)))


def fk_camera(state):
    """The state's first three values are the end effector's xyz in the camera frame."""
    return np.asarray(state[:3], np.float64)


def fk_broken(state):
    return [1.0, 2.0]

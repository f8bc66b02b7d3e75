"""Raw sensor images -> :class:`~.types.SensorInputs`: the one path into perception.

The node (camera topics), the offline tools (bag frames, image and depth files) and
the ``perceive`` command all call :func:`sensor_inputs` with the same
:class:`~.types.InputSettings`, so a recording gives the same inputs, and so the same
scene graphs, live and offline. ROS-free: arrays and encodings in, no messages.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..core.camera import CameraIntrinsics
from ..core.capture import depth_to_metres
from ..io.images import to_rgb
from .types import InputSettings, SensorInputs

__all__ = ["sensor_inputs"]


def sensor_inputs(rgb: np.ndarray, depth: np.ndarray | None, camera: CameraIntrinsics | None,
                  settings: InputSettings, *, rgb_encoding: str = "rgb8",
                  depth_encoding: str = "32FC1", instance_ids: np.ndarray | None = None,
                  id_to_label: Mapping[int, str] | None = None) -> SensorInputs:
    """One frame's perception inputs from its images as arrays.

    ``rgb`` in ``rgb_encoding`` (rgb8, bgr8, rgba8, bgra8, mono8) becomes (H, W, 3) RGB;
    ``depth`` in ``depth_encoding`` (32FC1 / 64FC1 metres, 16UC1 / mono16 millimetres)
    becomes float32 metres with everything outside the settings' range, zero, NaN and
    inf set to NaN; None where there is no depth. ``camera``: the CameraInfo's
    intrinsics, or None.

    Raises DataIOError for an rgb encoding that cannot be converted, CoreError for an
    unsupported depth encoding or layout, PerceptionError for sizes that disagree.
    """
    rgb = to_rgb(rgb, rgb_encoding)
    depth_m = None if depth is None else depth_to_metres(
        depth, depth_encoding, settings.depth_min_m, settings.depth_max_m)
    return SensorInputs(rgb, camera, depth_m, instance_ids, id_to_label, settings)

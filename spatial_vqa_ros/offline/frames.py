"""Recorded frames into the perception chain: the one conversion the offline tools share.

``scenes`` and ``bag2dataset`` both hand a bag's frames to a
:class:`~spatial_vqa_ros.perception.chain.PerceptionChain`; :func:`sensor_inputs` is
what a :class:`~spatial_vqa_ros.io.bags.BagFrame` means to the chain (built by
:func:`spatial_vqa_ros.perception.inputs.sensor_inputs`, as the node builds its
inputs), and :func:`perceive_frame` runs the chain on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..io.bags import BagFrame
from ..perception import inputs
from ..perception.chain import ChainResult, PerceptionChain
from ..perception.factories import PerceptionSpec
from ..perception.types import InputSettings, SensorInputs

#: The offline tools' default chain: recorded depth, the simulator's instance image and
#: labels (ground truth, no model).
SIMULATION = PerceptionSpec()
#: The offline tools' default input settings: the node's defaults.
DEFAULT_INPUTS = InputSettings()


def sensor_inputs(bag_frame: BagFrame, settings: InputSettings = DEFAULT_INPUTS
                  ) -> SensorInputs:
    """The chain's inputs of a bag frame: rgb and CameraInfo always, depth decoded to
    metres within ``settings``' range (None when the bag has no depth for it: sensor
    depth then fails with what to set), the instance image and labels where a
    simulator recorded them.

    Raises CoreError for an undecodable depth image, PerceptionError for inconsistent
    shapes.
    """
    return inputs.sensor_inputs(bag_frame.rgb, bag_frame.depth_raw, bag_frame.camera, settings,
                                depth_encoding=bag_frame.depth_encoding or "32FC1",
                                instance_ids=bag_frame.instance_ids,
                                id_to_label=bag_frame.id_to_label)


def perceive_frame(chain: PerceptionChain, bag_frame: BagFrame, prompts: Sequence[str],
                   settings: InputSettings = DEFAULT_INPUTS) -> ChainResult:
    """Run ``chain`` on a bag frame (stamped with the frame's header stamp)."""
    return chain.run(sensor_inputs(bag_frame, settings), prompts, bag_frame.stamp_ns)


__all__ = ["DEFAULT_INPUTS", "SIMULATION", "perceive_frame", "sensor_inputs"]

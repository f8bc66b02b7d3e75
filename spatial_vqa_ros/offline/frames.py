"""Recorded frames into the perception chain: the one conversion the offline tools share.

``scenes`` and ``bag2dataset`` both hand a bag's frames to a
:class:`~spatial_vqa_ros.perception.chain.PerceptionChain`; :func:`sensor_inputs` is
what a :class:`~spatial_vqa_ros.io.bags.BagFrame` means to the chain, and
:func:`perceive_frame` runs the chain on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..io.bags import BagFrame
from ..perception.chain import ChainResult, PerceptionChain
from ..perception.registry import PerceptionSpec
from ..perception.types import SensorInputs

#: The offline tools' default chain: recorded depth, the simulator's instance image and
#: labels (ground truth, no model).
SIMULATION = PerceptionSpec()


def sensor_inputs(bag_frame: BagFrame) -> SensorInputs:
    """The chain's inputs of a bag frame: rgb and CameraInfo always, depth decoded to
    metres (None when the bag has no depth for it: sensor depth then fails with what to
    set), the instance image and labels where a simulator recorded them.

    Raises CoreError for an undecodable depth image, PerceptionError for inconsistent
    shapes.
    """
    return SensorInputs(bag_frame.rgb, bag_frame.camera, bag_frame.decode_depth_m(),
                        bag_frame.instance_ids, bag_frame.id_to_label)


def perceive_frame(chain: PerceptionChain, bag_frame: BagFrame,
                   prompts: Sequence[str]) -> ChainResult:
    """Run ``chain`` on a bag frame (stamped with the frame's header stamp)."""
    return chain.run(sensor_inputs(bag_frame), prompts, bag_frame.stamp_ns)


__all__ = ["SIMULATION", "perceive_frame", "sensor_inputs"]

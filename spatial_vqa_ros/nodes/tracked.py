"""The node's tracked mode (``live_mode: tracked``): the two-rate chain behind the worker.

In serial mode the worker runs the whole chain on each frame it takes. In tracked mode
it calls :meth:`~spatial_vqa_ros.perception.live_chain.LiveChain.step` instead: depth
and a tracker step on every frame, the detector on keyframes on a thread of its own, so
``~/scene_graph``, the services' snapshot and ``~/reward`` keep the camera's rate. The
result is the serial chain's, so everything after perception is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..perception.chain import ChainResult, PerceptionChain
from ..perception.errors import PerceptionError
from ..perception.factories import build_tracker
from ..perception.live_chain import LiveChain
from ..perception.types import SensorInputs
from .config import SpatialNodeConfig


class TrackedPerception:
    """The node's :class:`LiveChain`, fed the chain of the moment (a model swap replaces
    it between frames; a detection in flight finishes with the models it started with)."""

    def __init__(self, chain: PerceptionChain, config: SpatialNodeConfig,
                 log: Callable[[str, str], None]) -> None:
        tracker = build_tracker(config.perception_spec)
        self._live = LiveChain(chain, tracker, config.live_config,
                               new_tracker=lambda: fresh_tracker(tracker, config), log=log)

    def step(self, chain: PerceptionChain, inputs: SensorInputs, prompts: Sequence[str],
             stamp_ns: int, world_from_camera: np.ndarray | None) -> ChainResult:
        self._live.chain = chain
        return self._live.step(inputs, prompts, stamp_ns, world_from_camera)

    def diagnostics(self) -> dict[str, str]:
        """Detector rate and tracker latency, for ``/diagnostics``."""
        return {"live_mode": "tracked", **self._live.diagnostics()}

    def close(self) -> None:
        self._live.close()


def fresh_tracker(running: object, config: SpatialNodeConfig) -> object:
    """Another tracker like ``running`` for bringing a keyframe's masks forward: on the
    same loaded model where the family offers it (``for_camera``: a learned tracker's
    weights are not loaded again at every keyframe), else built anew (depth_flow has no
    weights)."""
    for_camera = getattr(running, "for_camera", None)
    return for_camera() if callable(for_camera) else build_tracker(config.perception_spec)


def tracked_perception(chain: PerceptionChain, config: SpatialNodeConfig,
                       log: Callable[[str, str], None]) -> TrackedPerception | None:
    """The tracked mode's perception, or None in serial mode. ValueError (the node exits
    with status 2) when the tracker cannot be built."""
    if config.live_mode != "tracked":
        return None
    try:
        return TrackedPerception(chain, config, log)
    except PerceptionError as error:
        raise ValueError(str(error)) from None


__all__ = ["TrackedPerception", "fresh_tracker", "tracked_perception"]

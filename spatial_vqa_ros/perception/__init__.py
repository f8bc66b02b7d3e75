"""Perception: one frame's sensor inputs and text prompts -> what the geometry core needs.

Three seams (:class:`DepthEstimator`, :class:`Detector`, :class:`Segmenter`) with one
adapter per model family, composed by the :class:`PerceptionChain` into metric depth,
intrinsics, :class:`~spatial_vqa_ros.core.capture.Observations` (one mask per instance)
and the :class:`Provenance` of every number. A :class:`PerceptionSpec` names the
families (names in the factory tables of :mod:`.factories`, or ``package.module:Class``
plugins) and :func:`build_chain` builds the chain from it, in any process. The simulation
(instance image + labels) is one implementation of the seams, not a special case.
Every failure is a :class:`PerceptionError` saying why.
"""

from .chain import PerceptionChain
from .errors import PerceptionError
from .factories import PerceptionSpec, build_chain
from .protocols import DepthEstimator, Detector, Segmenter
from .types import DepthResult, Detections, Provenance, SensorInputs

__all__ = ["DepthEstimator", "DepthResult", "Detections", "Detector", "PerceptionChain",
           "PerceptionError", "PerceptionSpec", "Provenance", "Segmenter", "SensorInputs",
           "build_chain"]

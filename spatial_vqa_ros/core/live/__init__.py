"""The ROS-free logic of the node's two rates: keyframes, track history, reconciliation.

Models are slower than cameras, so the detector runs on keyframes only and a tracker
carries masks on every frame. This package holds the decisions that makes, on plain
numpy arrays (never rclpy, torch, or the perception types), so live and offline runs
of one recording decide alike and every rule is tested without a model:

- :mod:`.keyframes`: which frames are keyframes (:class:`KeyframePolicy`,
  :class:`KeyframeSelector`), in stamp time;
- :mod:`.history`: the tracks' recent states by stamp, bounded (:class:`TrackHistory`);
- :mod:`.reconcile`: a keyframe's late detections matched against the tracks as they
  were on that keyframe (:func:`reconcile_keyframe`);
- :mod:`.forward`: a new object's mask carried to the current frame within a time
  budget (:func:`forward_plan`, :func:`bring_forward`);
- :mod:`.masks`: masks stored packed, and their overlaps;
- :mod:`.view_change`: how much the view changed since the keyframe, from the images.
"""

from .errors import LiveError
from .forward import ForwardOutcome, ForwardPlan, bring_forward, forward_plan
from .history import HistoryConfig, HistoryLookup, TrackHistory, TrackState
from .keyframes import KeyframeDecision, KeyframePolicy, KeyframeSelector
from .masks import CompactMasks
from .reconcile import (
    Detections,
    ReconcileConfig,
    Reconciliation,
    reconcile,
    reconcile_keyframe,
)
from .view_change import image_change, thumbnail

__all__ = [
    "CompactMasks",
    "Detections",
    "ForwardOutcome",
    "ForwardPlan",
    "HistoryConfig",
    "HistoryLookup",
    "KeyframeDecision",
    "KeyframePolicy",
    "KeyframeSelector",
    "LiveError",
    "ReconcileConfig",
    "Reconciliation",
    "TrackHistory",
    "TrackState",
    "bring_forward",
    "forward_plan",
    "image_change",
    "reconcile",
    "reconcile_keyframe",
    "thumbnail",
]

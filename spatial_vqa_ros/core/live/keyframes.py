"""Which frames are keyframes (the frames the slow detector runs on), in stamp time.

The detector is slower than the camera, so it runs on keyframes only and a tracker
carries the masks in between. The choice must be the same live and offline for one
recording, so it depends on the frames' stamps and indices and on what the caller
reports about each frame, never on the wall clock: :class:`KeyframeSelector` is a small
state machine whose every decision is a function of its inputs so far.

A keyframe is wanted when

- it is the first frame (always);
- ``every_n_frames`` frames or ``every_s`` seconds have passed since the last keyframe
  (whichever comes first; 0 turns each off);
- tracks were lost that were not lost at the last keyframe (a count, or a share of the
  tracks): an object left the view or the tracker gave up on it;
- the view changed a lot since the last keyframe: with a camera pose, its translation
  (m) or rotation (deg); with or without one, an image measure the caller computes
  (``LiveChain`` gives :func:`.view_change.image_change`, the share of the view the
  keyframe's view does not explain, when it has no pose);
- the labels (text prompts) changed: the detector must look for the new ones.

Never more often than ``min_interval_s`` (the first frame excepted): a trigger inside
that interval is held, not dropped, and fires at the first frame after it.

A busy detector is the caller's to report (``detector_free=False``): the selector then
answers "not now", keeps the wanted keyframe pending with its reasons and offers it again
on every frame until the caller can take it. Nothing wanted is ever lost. The periodic
clocks restart at the keyframe actually taken, so a slow detector is never asked to
catch up on a backlog. Offline, where the detector is never busy, the keyframes are the
ones the policy wants; live they are the same as long as the detector keeps up, and
otherwise each one comes at the first frame the detector is free.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..stamps import NS_PER_S, check_stamp_ns
from .errors import LiveError

#: The reasons a keyframe is wanted, in the order a decision lists them.
REASONS = ("first", "every_n_frames", "every_s", "lost_tracks", "view_change", "labels",
           "detection_failed")
#: Why a wanted keyframe is not taken on this frame.
HELD_BY = ("min_interval", "detector_busy")


@dataclass(frozen=True)
class KeyframePolicy:
    """When to run the detector; every threshold in stamp time or frame counts.

    0 turns a trigger off. ``lost_tracks_min``: this many newly lost tracks force a
    keyframe; ``lost_share_min``: this share (0-1] of the tracks newly lost forces one.
    ``view_translation_m`` / ``view_rotation_deg``: camera motion since the last keyframe
    (used when the caller gives poses); ``view_image_change``: the caller's image measure
    (a share in [0, 1]) at or above which the view has changed.
    """

    every_n_frames: int = 30
    every_s: float = 2.0
    min_interval_s: float = 0.0
    lost_tracks_min: int = 1
    lost_share_min: float = 0.0
    view_translation_m: float = 0.5
    view_rotation_deg: float = 20.0
    view_image_change: float = 0.5

    def __post_init__(self) -> None:
        for name in ("every_n_frames", "lost_tracks_min"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise LiveError(f"KeyframePolicy.{name} must be a whole number >= 0 "
                                f"(0 turns it off), got {value!r}")
        for name in ("every_s", "min_interval_s", "view_translation_m", "view_rotation_deg",
                     "lost_share_min", "view_image_change"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, (int, float, np.floating))
                    or not math.isfinite(value) or value < 0):
                raise LiveError(f"KeyframePolicy.{name} must be a finite number >= 0 "
                                f"(0 turns it off), got {value!r}")
        for name in ("lost_share_min", "view_image_change"):
            if getattr(self, name) > 1:
                raise LiveError(f"KeyframePolicy.{name} is a share of 0-1, got "
                                f"{getattr(self, name)!r}")
        if self.view_rotation_deg > 180:
            raise LiveError(f"KeyframePolicy.view_rotation_deg must be <= 180 (a rotation "
                            f"angle), got {self.view_rotation_deg!r}")
        if self.every_s and self.every_s < self.min_interval_s:
            raise LiveError(f"KeyframePolicy.every_s ({self.every_s} s) is shorter than "
                            f"min_interval_s ({self.min_interval_s} s): keyframes could never "
                            "come that often; raise every_s or lower min_interval_s")


@dataclass(frozen=True)
class KeyframeDecision:
    """The answer for one frame.

    ``is_keyframe``: run the detector on this frame (the selector has recorded it as
    taken). ``reason``: the reasons a keyframe is owed, comma-separated in the order of
    :data:`REASONS`; empty when none is. ``held_by``: why an owed keyframe is not taken on
    this frame (one of :data:`HELD_BY`), empty otherwise. ``waited_frames``: frames the
    owed keyframe has waited so far.
    """

    is_keyframe: bool
    reason: str = ""
    held_by: str = ""
    waited_frames: int = 0


@dataclass
class _Last:
    """What the selector remembers of the last keyframe taken."""

    stamp_ns: int
    frame_index: int
    lost_ids: frozenset[int]
    labels_version: Hashable
    world_from_camera: np.ndarray | None


@dataclass
class KeyframeSelector:
    """Decides, frame by frame, which frames are keyframes (see the module docstring).

    Feed it every frame in stamp order with :meth:`decide`; :meth:`reset` after a time
    jump (a recording played again from its start).
    """

    policy: KeyframePolicy = field(default_factory=KeyframePolicy)
    _last: _Last | None = field(default=None, init=False, repr=False)
    _previous: tuple[int, int] | None = field(default=None, init=False, repr=False)
    _owed: set[str] = field(default_factory=set, init=False, repr=False)
    _owed_since: int | None = field(default=None, init=False, repr=False)

    def reset(self) -> None:
        """Forget everything: the next frame is a first frame again."""
        self._last, self._previous, self._owed, self._owed_since = None, None, set(), None

    def detection_failed(self) -> None:
        """The last keyframe's detection failed (a model error, labels not there yet):
        the next frame the detector is free for is a keyframe again, rather than the
        objects waiting a whole period for the next one."""
        self._owed.add("detection_failed")

    def decide(self, stamp_ns: int, frame_index: int, *, lost_ids: Iterable[int] = (),
               track_count: int = 0, world_from_camera: np.ndarray | None = None,
               image_change: float | None = None, labels_version: Hashable = 0,
               detector_free: bool = True) -> KeyframeDecision:
        """Whether the frame (``stamp_ns``, ``frame_index``) is a keyframe.

        ``lost_ids``: ids of the tracks the tracker marks lost on this frame;
        ``track_count``: how many tracks there are, lost included (for the share);
        ``world_from_camera``: the camera's 4x4 pose when known; ``image_change``: the
        caller's image measure of change since the last keyframe (0-1) or None;
        ``labels_version``: anything that changes when the labels do (a counter, or the
        labels tuple); ``detector_free``: False while a detection is still running.
        """
        stamp_ns, frame_index = self._check_order(stamp_ns, frame_index)
        lost = frozenset(int(i) for i in lost_ids)
        pose = _pose(world_from_camera)
        if image_change is not None and not 0 <= image_change <= 1:
            raise LiveError(f"image_change is a share of 0-1, got {image_change!r}")
        if self._last is not None and self._last.world_from_camera is None:
            self._last.world_from_camera = pose  # the first pose known since the keyframe
        self._owed.update(self._triggers(
            stamp_ns, frame_index, lost=lost, track_count=track_count, pose=pose,
            image_change=image_change, labels_version=labels_version))
        if not self._owed:
            return KeyframeDecision(False)
        if self._owed_since is None:
            self._owed_since = frame_index
        reason = ",".join(r for r in REASONS if r in self._owed)
        waited = frame_index - self._owed_since
        last = self._last
        min_gap_ns = round(self.policy.min_interval_s * NS_PER_S)
        if last is not None and stamp_ns - last.stamp_ns < min_gap_ns:
            return KeyframeDecision(False, reason, "min_interval", waited)
        if not detector_free:
            return KeyframeDecision(False, reason, "detector_busy", waited)
        self._last = _Last(stamp_ns, frame_index, lost, labels_version, pose)
        self._owed, self._owed_since = set(), None
        return KeyframeDecision(True, reason, "", waited)

    def _check_order(self, stamp_ns: int, frame_index: int) -> tuple[int, int]:
        stamp_ns = check_stamp_ns(stamp_ns)
        if isinstance(frame_index, bool) or not isinstance(frame_index, (int, np.integer)):
            raise LiveError(f"frame_index must be a whole number, got {frame_index!r}")
        frame_index = int(frame_index)
        if self._previous is not None and (stamp_ns <= self._previous[0]
                                           or frame_index <= self._previous[1]):
            raise LiveError(
                f"frames must come in order: stamp {stamp_ns} ns / index {frame_index} after "
                f"stamp {self._previous[0]} ns / index {self._previous[1]}; after a time jump "
                "(a recording played again) call reset()")
        self._previous = (stamp_ns, frame_index)
        return stamp_ns, frame_index

    def _triggers(self, stamp_ns: int, frame_index: int, *, lost: frozenset[int],
                  track_count: int, pose: np.ndarray | None, image_change: float | None,
                  labels_version: Hashable) -> set[str]:
        p, last = self.policy, self._last
        if last is None:
            return {"first"}
        found = set()
        if p.every_n_frames and frame_index - last.frame_index >= p.every_n_frames:
            found.add("every_n_frames")
        if p.every_s and stamp_ns - last.stamp_ns >= round(p.every_s * NS_PER_S):
            found.add("every_s")
        new_lost = len(lost - last.lost_ids)
        if new_lost and ((p.lost_tracks_min and new_lost >= p.lost_tracks_min)
                         or (p.lost_share_min and track_count
                             and new_lost / track_count >= p.lost_share_min)):
            found.add("lost_tracks")
        if _view_changed(p, last.world_from_camera, pose, image_change):
            found.add("view_change")
        if labels_version != last.labels_version:
            found.add("labels")
        return found


def _pose(world_from_camera: np.ndarray | None) -> np.ndarray | None:
    if world_from_camera is None:
        return None
    pose = np.asarray(world_from_camera, np.float64)
    if pose.shape != (4, 4) or not np.isfinite(pose).all():
        raise LiveError(f"world_from_camera must be a finite 4x4 transform, got shape "
                        f"{pose.shape}; pass None when the pose is unknown")
    return pose


def _view_changed(p: KeyframePolicy, then: np.ndarray | None, now: np.ndarray | None,
                  image_change: float | None) -> bool:
    if p.view_image_change and image_change is not None and image_change >= p.view_image_change:
        return True
    if then is None or now is None:
        return False
    then_from_now = np.linalg.inv(then) @ now
    if p.view_translation_m and np.linalg.norm(then_from_now[:3, 3]) >= p.view_translation_m:
        return True
    cos = np.clip((np.trace(then_from_now[:3, :3]) - 1) / 2, -1.0, 1.0)
    return bool(p.view_rotation_deg and np.degrees(np.arccos(cos)) >= p.view_rotation_deg)


__all__ = ["HELD_BY", "REASONS", "KeyframeDecision", "KeyframePolicy", "KeyframeSelector"]

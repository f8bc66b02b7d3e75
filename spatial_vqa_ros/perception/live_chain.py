"""The two-rate perception chain: depth and tracking on every frame, detection on keyframes.

The serial chain (:class:`~.chain.PerceptionChain`) runs depth, detection and
segmentation on each frame, so the scene graph updates only as often as the slowest
model finishes. :class:`LiveChain` splits the work by rate::

    every frame (camera rate):  depth -> track -> observations   -> core -> publish
    keyframes (detector rate):  detect -> segment -> reconcile  (on a worker thread)

- Every frame gets the chain's depth (and alignment) and one tracker step
  (:class:`~.protocols.Tracker`): the tracked objects' masks are the frame's
  observations, with the tracks' ids and labels. :meth:`LiveChain.step` returns the
  serial chain's :class:`~.chain.ChainResult`, so the core and the node downstream are
  the same; ``ChainResult.live`` says what was tracked and what detected.
- A bounded history keeps each frame's tracked state by stamp
  (:class:`~..core.live.TrackHistory`); a keyframe selector in stamp time decides where
  to detect (:class:`~..core.live.KeyframeSelector`: periodic, lost tracks, camera
  motion, label changes; held while the detector is busy).
- A keyframe's detection + segmentation run on a single worker thread when
  ``asynchronous`` (the node: one detection in flight), or inline otherwise (offline
  tools and deterministic tests: the keyframe's own result has the detected objects).
- A detection that has finished is picked up at the next step (never waited for) and
  reconciled against the tracks as they were on its keyframe
  (:func:`~..core.live.reconcile_keyframe`): matched tracks keep their ids, retired ones
  are dropped, and the masks of matched and new objects are brought forward from the
  keyframe through the buffered frames by a fresh tracker, within a time budget
  (:func:`~..core.live.bring_forward`), then given to the tracker on the current frame.
  Past the budget they join from the next frame on.

Asynchronously, the frames before the first detection arrives have no objects. A
tracker that fails on a frame raises :class:`PerceptionError` naming it (the node keeps
its last graph); the next frame works.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..core.capture import Capture
from ..core.live import Detections as KeyframeDetections
from ..core.live import (
    HistoryConfig,
    KeyframeDecision,
    KeyframePolicy,
    KeyframeSelector,
    ReconcileConfig,
    TrackHistory,
    TrackState,
    bring_forward,
    image_change,
    reconcile_keyframe,
    thumbnail,
)
from ..core.live.view_change import THUMBNAIL_SHAPE
from ..core.stamps import NS_PER_S
from .chain import ChainResult, MeasuredDepth, PerceptionChain, observations_from, staged
from .errors import PerceptionError
from .live_detect import DetectionSlot, KeyframeDetection
from .live_report import LiveReport, ObjectOrigin
from .protocols import Tracker
from .types import Detections, SensorInputs, TrackedMasks, TrackingFrame

_log = logging.getLogger(__name__)
#: ``log(level, message)``: "info", "warn" or "error" (the node's reporter, or logging).
Log = Callable[[str, str], None]


def _default_log(level: str, message: str) -> None:
    _log.log({"info": logging.INFO, "warn": logging.WARNING}.get(level, logging.ERROR),
             message)


@dataclass(frozen=True)
class LiveConfig:
    """How the two rates work together. ``forward_budget_s``: time a step may spend
    bringing a late detection's masks forward (0: they join from the next frame on);
    ``forward_max_stride``: frames one forward step may bridge when the budget is short;
    ``asynchronous``: detections on a worker thread (live) or inline (offline, tests);
    ``detection_delay_s`` (inline only): an inline detection is handed over at the first
    step whose stamp is at least its keyframe's stamp + this delay, as a detector that
    slow would deliver it, in stamp time (deterministic benchmarks and tests of a slow
    detector; 0, the default: on its own keyframe)."""

    policy: KeyframePolicy = field(default_factory=KeyframePolicy)
    history: HistoryConfig = field(default_factory=lambda: HistoryConfig(
        max_frames=90, max_age_s=6.0, max_bytes=256 * 2**20))
    reconcile: ReconcileConfig = field(default_factory=ReconcileConfig)
    forward_budget_s: float = 0.05
    forward_max_stride: int = 1
    asynchronous: bool = False
    detection_delay_s: float = 0.0

    def __post_init__(self) -> None:
        delay = self.detection_delay_s
        if isinstance(delay, bool) or not (isinstance(delay, (int, float))
                                           and math.isfinite(delay) and delay >= 0):
            raise PerceptionError(f"detection_delay_s must be a finite number of seconds "
                                  f">= 0, got {delay!r}")
        if delay and self.asynchronous:
            raise PerceptionError("detection_delay_s simulates a slow detector in stamp "
                                  "time and needs asynchronous=False (an asynchronous "
                                  "detector takes its own time)")
        budget = self.forward_budget_s
        if isinstance(budget, bool) or not (isinstance(budget, (int, float))
                                            and math.isfinite(budget) and budget >= 0):
            raise PerceptionError(f"forward_budget_s must be a finite number of seconds >= 0, "
                                  f"got {budget!r}")
        if isinstance(self.forward_max_stride, bool) or not (
                isinstance(self.forward_max_stride, int) and self.forward_max_stride >= 1):
            raise PerceptionError(f"forward_max_stride must be a whole number >= 1, got "
                                  f"{self.forward_max_stride!r}")


@dataclass
class _Track:
    """What the chain knows of a track beyond its mask: label, the detector's score and
    the stamp of the keyframe it was last detected on."""

    label: str
    score: float
    detected_ns: int


@dataclass
class _Step:
    """One step's frame, index and stage timings, and its objects as the step builds
    them: id -> (mask, confidence, lost) in the tracks' order, and the ids whose mask
    was detected on this very frame."""

    frame: TrackingFrame
    index: int
    timings: dict[str, float] = field(default_factory=dict)
    masks: dict[int, tuple[np.ndarray, float, bool]] = field(default_factory=dict)
    detected: set[int] = field(default_factory=set)

    def set(self, tracked: TrackedMasks, only: set[int] | None = None) -> None:
        for k, track_id in enumerate(int(i) for i in tracked.ids):
            if only is None or track_id in only:
                self.masks[track_id] = (tracked.masks[k], float(tracked.confidence[k]),
                                        bool(tracked.lost[k]))


@dataclass
class _Pending:
    """Masks brought forward only part of the way (the budget ran out): the fresh
    tracker holding them, stepped onto the next frame and handed over then."""

    tracker: Tracker
    ids: set[int]


def _thumbnail(rgb: np.ndarray) -> np.ndarray | None:
    """The view's thumbnail for the image-change keyframe trigger (``core.live.
    view_change``), or None for an image smaller than its grid (no measure)."""
    height, width = rgb.shape[:2]
    rows, cols = THUMBNAIL_SHAPE
    return thumbnail(rgb) if height >= rows and width >= cols else None


class LiveChain:
    """The two-rate chain (see the module docstring).

    ``chain``: the models (its depth stage runs every frame; detector and segmenter on
    keyframes); the attribute may be replaced between steps (a model swap). ``tracker``:
    carries the masks; ``new_tracker``: makes a fresh one of the same kind for bringing
    masks forward (default: ``type(tracker)()``, as plugins are built). ``log(level,
    message)``: where reconciliation notes and asynchronous detection failures go.
    """

    def __init__(self, chain: PerceptionChain, tracker: Tracker,
                 config: LiveConfig | None = None, *,
                 new_tracker: Callable[[], Tracker] | None = None, log: Log | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.chain = chain
        self.config = config or LiveConfig()
        self._new_tracker = new_tracker or type(tracker)
        self._tracker = tracker
        self._log = log or _default_log
        self._clock = clock
        self._slot = DetectionSlot(self.config.asynchronous,
                                   hold_ns=round(self.config.detection_delay_s * NS_PER_S))
        self._selector = KeyframeSelector(self.config.policy)
        self._history = TrackHistory(self.config.history)
        self._tracks: dict[int, _Track] = {}
        self._in_tracker: set[int] = set()  # ids given to the tracker, not dropped
        self._misses: dict[int, int] = {}
        self._pending: _Pending | None = None
        self._next_id = 1
        self._index = 0
        self._generation = 0
        self._last_stamp_ns: int | None = None
        self._track_s: deque[float] = deque(maxlen=120)
        self._keyframe_thumbnail: np.ndarray | None = None

    @property
    def tracker(self) -> Tracker:
        return self._tracker

    def close(self) -> None:
        """Stop the detection worker (a detection in flight finishes unseen)."""
        self._slot.close()

    def reset(self) -> None:
        """Forget every track and keyframe (after a time jump); a detection in flight
        is ignored when it arrives."""
        self._tracker = self._new_tracker()
        self._selector.reset()
        self._history.clear()
        self._tracks, self._misses, self._pending = {}, {}, None
        self._in_tracker = set()
        self._keyframe_thumbnail = None
        self._generation += 1

    # --- one frame ------------------------------------------------------------
    def step(self, inputs: SensorInputs, prompts: Sequence[str], stamp_ns: int,
             world_from_camera: np.ndarray | None = None) -> ChainResult:
        """One camera frame: depth, a tracker step, a finished detection reconciled, the
        keyframe decision; the frame's result as the serial chain gives it."""
        prompts = tuple(prompts)
        if self._last_stamp_ns is not None and stamp_ns <= self._last_stamp_ns:
            self._log("info", f"stamp {stamp_ns} ns is not after {self._last_stamp_ns} ns "
                      "(a recording played again?): tracks and keyframes start over")
            self.reset()
        self._last_stamp_ns = stamp_ns
        chain = self.chain
        timings: dict[str, float] = {}
        measured = chain.measure_depth(inputs, timings)
        frame = TrackingFrame(inputs, measured.depth.depth_m, int(stamp_ns), world_from_camera)
        now = _Step(frame, self._index, timings)
        self._index += 1
        self._track(now)
        self._hand_over_pending(now)
        arrived = self._slot.poll(frame.stamp_ns)
        reconciled = self._apply(arrived, now) if arrived else None
        self._history.add(self._state(now), frame)
        lost_ids = tuple(i for i, (_, _, lost) in now.masks.items() if lost)
        # without a pose the images say how far the view moved (with one, its motion)
        view = _thumbnail(inputs.rgb) if world_from_camera is None else None
        change = (None if view is None or self._keyframe_thumbnail is None
                  else image_change(self._keyframe_thumbnail, view))
        decision = self._selector.decide(
            frame.stamp_ns, now.index, lost_ids=lost_ids, track_count=len(now.masks),
            world_from_camera=world_from_camera, image_change=change,
            labels_version=prompts,
            detector_free=not self._slot.busy and self._pending is None)
        if decision.is_keyframe:
            self._keyframe_thumbnail = view
            try:
                self._slot.start(chain.detect_and_segment, frame, prompts, self._generation)
            except Exception:  # inline: the frame fails, as a serial chain's would
                self._selector.detection_failed()  # and the next frame detects again
                raise
            inline = None if self._slot.asynchronous else self._slot.poll(frame.stamp_ns)
            if inline is not None:  # inline, not delayed: this keyframe's own objects
                reconciled = self._apply(inline, now) or reconciled
        return self._result(chain, measured, now, decision, reconciled)

    def _track(self, now: _Step) -> None:
        if not self._in_tracker:
            return
        start = self._clock()
        tracked = staged("track", self._tracker.name, lambda: self._tracker.track(now.frame))
        elapsed = self._clock() - start
        now.timings["track"] = elapsed
        self._track_s.append(elapsed)
        now.set(tracked)

    def _hand_over_pending(self, now: _Step) -> None:
        """Masks that ran out of budget last frame: one more step, then they join."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        carried = staged("track", pending.tracker.name,
                         lambda: pending.tracker.track(now.frame))
        self._merge(now, carried, pending.ids, detected=False)

    # --- a keyframe's detection ----------------------------------------------------
    def _apply(self, arrived: KeyframeDetection, now: _Step) -> tuple[int, str] | None:
        """Reconcile a finished detection; (its keyframe stamp, status) or None."""
        if arrived.generation != self._generation:
            self._log("info", f"keyframe detection at {arrived.stamp_ns} ns ignored: tracks "
                      "started over since it was started")
            return None
        if arrived.error is not None:
            self._log("error", f"keyframe detection at {arrived.stamp_ns} ns failed: "
                      f"{arrived.error}; detecting again on the next frame")
            self._selector.detection_failed()
            return None
        now.timings.update(arrived.timings_s)
        start = self._clock()
        dets, masks = arrived.detections, arrived.masks
        result = reconcile_keyframe(
            self._history, arrived.stamp_ns,
            KeyframeDetections.from_arrays(dets.labels, boxes_xyxy=dets.xyxy, masks=masks),
            config=self.config.reconcile, misses=self._misses)
        if result.status != "exact":
            self._log("warn" if result.status == "evicted" else "info", result.message)
        self._misses = dict(result.misses)
        if result.retired:
            self._tracker.drop(np.array(result.retired, np.int64))
            self._in_tracker -= set(result.retired)
            for track_id in result.retired:
                self._tracks.pop(track_id, None)
                now.masks.pop(track_id, None)
        pairs = list(result.matched)
        for d in result.new:
            pairs.append((self._next_id, d))
            self._tracks[self._next_id] = _Track(dets.labels[d], 0.0, arrived.stamp_ns)
            self._next_id += 1
        for track_id, d in pairs:
            track = self._tracks[track_id]
            track.score, track.detected_ns = float(dets.scores[d]), arrived.stamp_ns
        now.timings["reconcile"] = self._clock() - start
        if pairs:
            ids = np.array([t for t, _ in pairs], np.int64)
            self._forward(arrived.frame, now, ids, masks[[d for _, d in pairs]])
        return arrived.stamp_ns, result.status

    def _forward(self, keyframe: TrackingFrame, now: _Step, ids: np.ndarray,
                 masks: np.ndarray) -> None:
        """The keyframe's masks onto this step's frame, within the budget (module
        docstring)."""
        frame = now.frame
        if keyframe.stamp_ns == frame.stamp_ns:
            self._merge(now, TrackedMasks(ids, masks, np.ones(len(ids), np.float32),
                                                 np.zeros(len(ids), bool)),
                        set(ids.tolist()), detected=True)
            return
        fresh = self._new_tracker()
        staged("track", fresh.name, lambda: fresh.init(keyframe, masks, ids))
        frames = {e.stamp_ns: e.frame for e in self._history.after(keyframe.stamp_ns)}
        frames[frame.stamp_ns] = frame  # newest, once the step's own entry is kept
        last: list[TrackedMasks] = []

        def step(stamp_ns: int) -> None:
            last.append(staged("track", fresh.name, lambda: fresh.track(frames[stamp_ns])))

        seconds = statistics.median(self._track_s) if self._track_s else 0.0
        outcome = bring_forward(keyframe.stamp_ns, sorted(frames), step,
                                budget_s=self.config.forward_budget_s,
                                seconds_per_step=seconds,
                                max_stride=self.config.forward_max_stride)
        now.timings["forward"] = outcome.elapsed_s
        if outcome.reached_newest and last:
            self._merge(now, last[-1], set(ids.tolist()), detected=False)
        else:
            self._log("info", f"keyframe detection at {keyframe.stamp_ns} ns: "
                      f"{outcome.reason}")
            self._pending = _Pending(fresh, set(ids.tolist()))

    def _merge(self, now: _Step, carried: TrackedMasks, ids: set[int], *, detected: bool
               ) -> None:
        """Give the tracker ``carried``'s masks of ``ids`` on the frame (new ids added,
        known ones corrected); lost ones are left as the tracker has them."""
        ids &= set(self._tracks)  # retired meanwhile: gone
        keep = np.array([int(i) in ids for i in carried.ids], bool) & ~carried.lost
        for track_id in ids - {int(i) for i in carried.ids[keep]}:
            if track_id not in self._in_tracker:  # new and lost on the way: never joins
                self._tracks.pop(track_id, None)
        if not keep.any():
            return
        given_ids, given_masks = carried.ids[keep], carried.masks[keep]
        tracker = self._tracker
        call = tracker.update if self._in_tracker else tracker.init
        staged("track", tracker.name, lambda: call(now.frame, given_masks, given_ids))
        self._in_tracker |= {int(i) for i in given_ids}
        subset = TrackedMasks(given_ids, given_masks, carried.confidence[keep],
                              carried.lost[keep])
        now.set(subset)
        if detected:
            now.detected.update(int(i) for i in given_ids)

    # --- the frame's result ---------------------------------------------------------
    def _state(self, now: _Step) -> TrackState:
        frame = now.frame
        ids = list(now.masks)
        masks = (np.stack([now.masks[i][0] for i in ids]) if ids
                 else np.zeros((0, *frame.size_hw), bool))
        return TrackState.from_tracker(
            frame.stamp_ns, np.array(ids, np.int64), [self._tracks[i].label for i in ids],
            masks=masks, confidence=np.array([now.masks[i][1] for i in ids], np.float32),
            lost=np.array([now.masks[i][2] for i in ids], bool))

    def _result(self, chain: PerceptionChain, measured: MeasuredDepth, now: _Step,
                decision: KeyframeDecision, reconciled: tuple[int, str] | None
                ) -> ChainResult:
        frame = now.frame
        height, width = frame.size_hw
        seen = [i for i, (mask, _, lost) in now.masks.items() if not lost and mask.any()]
        masks = (np.stack([now.masks[i][0] for i in seen]) if seen
                 else np.zeros((0, height, width), bool))
        detections = Detections(
            _boxes(masks), tuple(self._tracks[i].label for i in seen),
            np.array([self._tracks[i].score for i in seen], np.float32),
            source_ids=np.array(seen, np.int64))
        provenance = chain.provenance(measured)
        objects = tuple(ObjectOrigin(
            i, self._tracks[i].label, "detected" if i in now.detected else "tracked",
            (frame.stamp_ns - self._tracks[i].detected_ns) / NS_PER_S,
            1.0 if i in now.detected else now.masks[i][1]) for i in seen)
        observations = replace(
            observations_from(masks, detections, provenance, chain.detector.name),
            mask_sources=tuple(o.origin for o in objects),
            detection_age_s=np.array([o.detection_age_s for o in objects], np.float64))
        live = LiveReport(
            now.index, decision.is_keyframe, decision.reason, decision.held_by,
            self._slot.busy, None if reconciled is None else reconciled[0],
            "" if reconciled is None else reconciled[1],
            tuple(i for i, (_, _, lost) in now.masks.items() if lost), objects)
        capture = Capture(frame.inputs.rgb, measured.depth.depth_m, measured.camera,
                          frame.stamp_ns)
        return ChainResult(capture, observations, detections, measured.depth, provenance,
                           now.timings, live)

    # --- what the node reports -----------------------------------------------------
    def diagnostics(self, now_s: float | None = None, window_s: float = 10.0
                    ) -> dict[str, str]:
        """Detector rate (detections finished per second over ``window_s``), tracker
        latency (median), detections started, tracks, and whether one is in flight."""
        now_s = time.monotonic() if now_s is None else now_s
        recent = [t for t in self._slot.finished_at_s if now_s - t < window_s]
        track_ms = statistics.median(self._track_s) * 1e3 if self._track_s else math.nan
        return {"detector_rate_hz": f"{len(recent) / window_s:.2f}",
                "tracker_latency_median_ms": f"{track_ms:.1f}",
                "keyframe_detections": str(self._slot.started),
                "tracks": str(len(self._tracks)),
                "detection_in_flight": str(self._slot.busy)}


def _boxes(masks: np.ndarray) -> np.ndarray:
    """(N, 4) float32 tight xyxy boxes of (N, H, W) non-empty masks."""
    boxes = np.zeros((len(masks), 4), np.float32)
    for k, mask in enumerate(masks):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        boxes[k] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    return boxes


__all__ = ["LiveChain", "LiveConfig"]

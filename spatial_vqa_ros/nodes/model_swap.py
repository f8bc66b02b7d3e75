"""Changing a perception model while the node runs: load, swap on success, keep on failure.

The node's perception chain is owned here. A request names the perception spec the
parameters now say; a background thread brings the running chain to it, one role at a
time, never on a parameter callback (loading takes seconds):

- a new checkpoint of a role (``detector_model``...) is loaded ``beside`` the running
  model, which serves until the new one is ready (twice the memory meanwhile), or,
  with ``unload_first``, after the old one is dropped while frames wait (the gap in
  service is measured and reported);
- on success the chain is replaced in one assignment, so a frame in flight finishes
  with the models it started with;
- on failure the old model stays (``unload_first`` loads it again) and ``revert`` is
  called with the parameters' running values, so the parameters say what runs;
- a new score threshold is set on a copy of the running detector (no reload).

ROS-free: the node passes ``revert`` and ``log`` in; :attr:`ModelSwapper.status` is what
``/diagnostics`` shows.
"""

from __future__ import annotations

import copy
import gc
import inspect
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..perception.chain import PerceptionChain
from ..perception.errors import PerceptionError
from ..perception.factories import DEPTH, DETECTORS, ROLE_FIELDS, SEGMENTERS, PerceptionSpec

#: The spec fields that name each role's checkpoint (the same names as the node's
#: parameters): a change reloads that role's model.
CHECKPOINT_FIELDS = {"depth": ("depth_model",),
                     "detector": ("detector_model", "detector_config"),
                     "segmenter": ("segmenter_model",)}
_FACTORIES = {"depth": DEPTH, "detector": DETECTORS, "segmenter": SEGMENTERS}


@dataclass(frozen=True)
class SwapStatus:
    """The model swaps' state for /diagnostics. ``gap_s``: how long the last
    ``unload_first`` swap left the node without perception."""

    state: str = "idle"
    last: str = ""
    gap_s: float = 0.0
    failed: bool = False

    @property
    def needs_attention(self) -> bool:
        return self.failed or self.state != "idle"

    def applied_to(self, level: str, message: str) -> tuple[str, str]:
        """The node's status level and message with the swaps: one loading, or the last
        one failed (the old model still runs), is the warning; a failing frame's error
        stays the error."""
        if not self.needs_attention or level == "error":
            return level, message
        return "warn", self.state if self.state != "idle" else self.last

    def values(self) -> dict[str, str]:
        return {"model_swap": self.state, "model_swap_last": self.last,
                "model_swap_gap_s": f"{self.gap_s:.3f}"}


class Unloaded:
    """Stands in for a role's model between unloading it and loading its successor (no
    frame runs then); if the old one cannot be loaded back either, every frame fails
    with the reason, instead of the node running on a model it no longer has."""

    def __init__(self, role: str, reason: str = "") -> None:
        self.role = role
        self.reason = reason or "its model is being swapped"
        self.name = f"unloaded {role}"

    def _fail(self, *_: Any) -> Any:
        raise PerceptionError(f"no {self.role} model: {self.reason}")

    estimate = detect = segment = _fail


def load_role(role: str, spec: PerceptionSpec) -> Any:
    """A new model of ``role`` as ``spec`` says (a registered family: plugins,
    ``pkg.mod:Class``, take no checkpoint and are never reloaded)."""
    return _FACTORIES[role][getattr(spec, ROLE_FIELDS[role])](spec)


def with_threshold(detector: Any, threshold: float) -> Any:
    """A shallow copy of ``detector`` (the weights are shared) keeping boxes above
    ``threshold``; 0 = the family's own default (its constructor's). A detector without
    a ``score_threshold`` (simulation, plugins) is returned as it is."""
    if not hasattr(detector, "score_threshold"):
        return detector
    if threshold <= 0:
        default = inspect.signature(type(detector)).parameters.get("score_threshold")
        if default is None or default.default is inspect.Parameter.empty:
            return detector
        threshold = default.default
    tuned = copy.copy(detector)
    tuned.score_threshold = float(threshold)
    return tuned


def free_memory() -> None:
    """Give an unloaded model's memory back before the next one loads (CUDA's cache
    too, where torch is already imported: this module never imports it)."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _describe(role: str, spec: PerceptionSpec) -> str:
    names = " + ".join(repr(getattr(spec, name)) for name in CHECKPOINT_FIELDS[role]
                       if getattr(spec, name))
    return f"{role} {getattr(spec, ROLE_FIELDS[role])} {names or '(default model)'}"


class ModelSwapper:
    """Owns the running chain; brings it to the requested spec on a thread of its own.

    ``frame_lock``: held by the node's worker while a frame runs; an ``unload_first``
    swap holds it from unloading to loading, so no frame sees a missing model.
    ``revert(values)``: set these parameters back (a load failed); ``log(level,
    message)``: report a swap ("info" or "error").
    """

    def __init__(self, chain: PerceptionChain, spec: PerceptionSpec, *,
                 revert: Callable[[dict[str, Any]], None],
                 log: Callable[[str, str], None]) -> None:
        self._chain = chain
        self._running = spec
        self._revert = revert
        self._log = log
        self.frame_lock = threading.Lock()
        self.status = SwapStatus()
        self._wake = threading.Condition()
        self._wanted: tuple[PerceptionSpec, str] | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="spatial_vqa_model_swap",
                                        daemon=True)
        self._thread.start()

    @property
    def chain(self) -> PerceptionChain:
        """The chain frames run now (read once per frame)."""
        return self._chain

    @property
    def running(self) -> PerceptionSpec:
        return self._running

    def request(self, spec: PerceptionSpec, policy: str) -> None:
        """Bring the chain to ``spec`` (``policy``: beside or unload_first); returns at
        once. A newer request replaces one not yet started."""
        with self._wake:
            self._wanted = (spec, policy)
            self._wake.notify()

    def stop(self, timeout_s: float = 2.0) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=timeout_s)

    def _loop(self) -> None:
        while True:
            with self._wake:
                while self._wanted is None and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                (spec, policy), self._wanted = self._wanted, None
            try:
                self._converge(spec, policy)
            except Exception as error:  # the thread must outlive any model's failure
                self._log("error", f"model swap failed: {type(error).__name__}: {error}")

    def _converge(self, spec: PerceptionSpec, policy: str) -> None:
        reverts: dict[str, Any] = {}
        for role, names in CHECKPOINT_FIELDS.items():
            changed = any(getattr(spec, n) != getattr(self._running, n) for n in names)
            if changed and not self._swap(role, spec, policy):
                reverts.update({name: getattr(self._running, name) for name in names})
        threshold = spec.detector_score_threshold
        if threshold != self._running.detector_score_threshold:  # not reloaded above
            self._chain = self._chain.replaced(
                detector=with_threshold(self._chain.detector, threshold))
            self._running = replace(self._running, detector_score_threshold=threshold)
            self._log("info", f"detector score threshold now {threshold}")
        if reverts:
            self._revert(reverts)

    def _swap(self, role: str, spec: PerceptionSpec, policy: str) -> bool:
        """Load ``role`` as ``spec`` says and swap it in; False (old model kept) on failure."""
        fields = {name: getattr(spec, name) for name in CHECKPOINT_FIELDS[role]}
        if role == "detector":  # a new one loads with the threshold asked for now
            fields["detector_score_threshold"] = spec.detector_score_threshold
        if getattr(spec, ROLE_FIELDS[role]) not in _FACTORIES[role]:  # a plugin: no checkpoint
            self._running = replace(self._running, **fields)
            return True
        target, old_name = _describe(role, spec), getattr(self._chain, role).name
        start = time.monotonic()
        if policy == "unload_first":
            error, gap_s = self._unload_then_load(role, spec, target)
        else:
            self.status = replace(self.status, state=f"loading {target} beside {old_name}")
            made, error = _load(role, spec)
            gap_s = 0.0
            if error is None:
                self._chain = self._chain.replaced(**{role: made})
        seconds = time.monotonic() - start
        if error is not None:
            kept = getattr(self._chain, role).name
            message = f"{target} could not be loaded ({error}); kept {kept}"
            self.status = SwapStatus("idle", message, gap_s, failed=True)
            self._log("error", message)
            return False
        self._running = replace(self._running, **fields)
        how = (f"unloaded first: no perception for {gap_s:.2f} s" if policy == "unload_first"
               else "loaded beside the old one")
        message = (f"{role} now {getattr(self._chain, role).name} (was {old_name}; {how}; "
                   f"{seconds:.2f} s)")
        self.status = SwapStatus("idle", message, gap_s)
        self._log("info", message)
        return True

    def _unload_then_load(self, role: str, spec: PerceptionSpec, target: str
                          ) -> tuple[str | None, float]:
        """Drop the running model, load the new one, or else the old one back: all while
        frames wait. (the new one's failure or None, seconds without perception)."""
        with self.frame_lock:
            start = time.monotonic()
            self.status = replace(self.status, state=f"unloaded {role}, loading {target}")
            self._chain = self._chain.replaced(**{role: Unloaded(role)})
            free_memory()
            made, error = _load(role, spec)
            if error is not None:
                made, again = _load(role, self._running)
                if again is not None:
                    made = Unloaded(role, f"{target} failed ({error}) and the previous "
                                          f"model could not be loaded back ({again})")
            self._chain = self._chain.replaced(**{role: made})
            return error, time.monotonic() - start


def _load(role: str, spec: PerceptionSpec) -> tuple[Any, str | None]:
    """(the new model, None), or (None, why it failed)."""
    try:
        return load_role(role, spec), None
    except PerceptionError as error:
        return None, str(error)
    except Exception as error:  # any model's own exception: reported, never fatal
        return None, f"{type(error).__name__}: {error}"


__all__ = ["CHECKPOINT_FIELDS", "ModelSwapper", "SwapStatus", "Unloaded", "load_role",
           "with_threshold"]

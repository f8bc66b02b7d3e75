"""The spatial node's parameters while it runs: accept or refuse a change, then apply it.

``ros2 param set`` (or any client of ``/<node>/set_parameters``) reaches the node as
two rclpy callbacks:

- the check (``add_on_set_parameters_callback``, on the caller's thread, fast): the
  candidate config is built from the running one and the change by
  :meth:`SpatialNodeConfig.with_changes`, so a change passes the checks of a start-up
  config; refused with the validator's message, or "needs a restart" for a parameter
  that is wired once (topics, QoS, model family, runtime, pose source);
- the apply (``add_post_set_parameters_callback``, once rclpy stored the values): the
  candidate becomes the config every frame and answer reads, and a change of
  checkpoint or detector threshold is handed to the :class:`ModelSwapper` (loading
  happens on its thread, never here).

A lock spans check and apply, so two clients' changes cannot both be checked against
the same old config.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from rcl_interfaces.msg import SetParametersResult
from rclpy.parameter import Parameter

from .config import SpatialNodeConfig, tidy_labels
from .model_swap import ModelSwapper

#: How long a change waits for another one being applied before it is refused.
_BUSY_TIMEOUT_S = 5.0


class LiveParameters:
    """The node's config as its parameters say, kept so while they change.

    ``node``: the rclpy node whose parameters ``config`` was declared from (its
    callbacks are added here, after the declarations: rclpy calls them for declarations
    too). ``swapper``: applies perception changes. ``log(level, message)``.
    """

    def __init__(self, node: Any, config: SpatialNodeConfig, swapper: ModelSwapper,
                 log: Callable[[str, str], None]) -> None:
        self._node = node
        self._config = config
        self._swapper = swapper
        self._log = log
        self._candidate: SpatialNodeConfig | None = None
        self._lock = threading.RLock()  # re-entered when an apply sets parameters back
        node.add_on_set_parameters_callback(self._check)
        node.add_post_set_parameters_callback(self._apply)

    @property
    def config(self) -> SpatialNodeConfig:
        """The config now (one immutable value: read it once per frame or request)."""
        return self._config

    def set(self, values: dict[str, Any]) -> SetParametersResult:
        """Set parameters from inside the node (a service, a failed load's revert), through
        the same check and apply as a client's change; the result says why not."""
        params = [Parameter(name, value=list(value) if isinstance(value, tuple) else value)
                  for name, value in values.items()]
        return self._node.set_parameters_atomically(params)

    def set_labels(self, labels: Iterable[str]) -> tuple[bool, str]:
        """The ~/set_labels service: the ``labels`` parameter set (the one path for both,
        so ``ros2 param get`` shows what the node looks for); (success, message)."""
        tidied = tidy_labels(labels)
        if not tidied:
            return False, "give at least one non-empty label"
        result = self.set({"labels": tidied})
        if not result.successful:
            return False, result.reason
        message = f"looking for: {', '.join(tidied)}"
        if self._config.detector == "simulation":
            message += " (the simulation detector keeps only instances with these labels)"
        return True, message

    def _check(self, params: list[Parameter]) -> SetParametersResult:
        if not self._lock.acquire(timeout=_BUSY_TIMEOUT_S):
            return SetParametersResult(successful=False, reason=(
                "another parameter change is still being applied: try again"))
        try:
            self._candidate = self._config.with_changes({p.name: p.value for p in params})
        except ValueError as error:
            self._lock.release()
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)  # the lock is released by _apply

    def _apply(self, params: list[Parameter]) -> None:
        try:
            old, new = self._config, self._candidate
            if new is None:
                return
            self._config, self._candidate = new, None
            changed = [p.name for p in params if getattr(old, p.name) != getattr(new, p.name)]
            if changed:
                self._log("info", "parameters changed: " + ", ".join(
                    f"{name}={getattr(new, name)!r}" for name in changed))
            if new.perception_spec != old.perception_spec:
                self._swapper.request(new.perception_spec, new.model_swap)
        finally:
            self._lock.release()


__all__ = ["LiveParameters"]

"""The spatial node's parameters while it runs: accept or refuse a change, then apply it.

``ros2 param set`` (or any client of ``/<node>/set_parameters``) reaches the node as
two rclpy callbacks:

- the check (``add_on_set_parameters_callback``, on the caller's thread, fast): the
  candidate config is built from the running one and the change by
  :meth:`SpatialNodeConfig.with_changes`, so a change passes the checks of a start-up
  config; refused with the validator's message, or "needs a restart" for a parameter
  that is wired once (topics, QoS, model family, runtime, pose source);
- the apply (``add_post_set_parameters_callback``, once rclpy stored the values): the
  running config with the change becomes the config every frame and answer reads, and
  a change of checkpoint or detector threshold is handed to the :class:`ModelSwapper`
  (loading happens on its thread, never here). rclpy before Iron (Humble, the Jetson
  image) has no post-set callback: there the check applies an accepted change itself.

No lock is held from one callback to the other (another check callback may refuse the
change, and then no apply follows): the apply builds its config again from the running
one, so two clients' changes both land, and one that no longer fits the other is
refused in the log and keeps the running config.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from rcl_interfaces.msg import SetParametersResult
from rclpy.parameter import Parameter

from .config import SpatialNodeConfig, tidy_labels
from .model_swap import ModelSwapper


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
        self._lock = threading.RLock()  # one change checked or applied at a time
        node.add_on_set_parameters_callback(self._check)
        post_set = getattr(node, "add_post_set_parameters_callback", None)
        self._applies_after_set = post_set is not None
        if post_set is not None:
            post_set(self._apply)

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
        with self._lock:
            try:
                candidate = self._config.with_changes({p.name: p.value for p in params})
            except ValueError as error:
                return SetParametersResult(successful=False, reason=str(error))
            if not self._applies_after_set:  # rclpy before Iron: no post-set callback
                self._adopt(candidate, params)
        return SetParametersResult(successful=True)

    def _apply(self, params: list[Parameter]) -> None:
        with self._lock:
            try:
                candidate = self._config.with_changes({p.name: p.value for p in params})
            except ValueError as error:  # another change landed between check and apply
                self._log("error", f"parameters {', '.join(p.name for p in params)} not "
                          f"applied: {error}")
                return
            self._adopt(candidate, params)

    def _adopt(self, new: SpatialNodeConfig, params: list[Parameter]) -> None:
        old, self._config = self._config, new
        changed = [p.name for p in params if getattr(old, p.name) != getattr(new, p.name)]
        if changed:
            self._log("info", "parameters changed: " + ", ".join(
                f"{name}={getattr(new, name)!r}" for name in changed))
        if new.perception_spec != old.perception_spec:
            self._swapper.request(new.perception_spec, new.model_swap)


__all__ = ["LiveParameters"]

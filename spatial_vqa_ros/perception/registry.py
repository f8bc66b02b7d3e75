"""Which perception backend a name means: the registered ones, or a plugin by path.

A robot team with a backend of its own names it ``package.module:Class`` (a class
whose no-argument constructor gives an object with the backend's ``observe``), as
pluginlib does for C++ nodes; nothing in the node changes. The registered names are
the package's own backends.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .errors import PerceptionError
from .simulation import SimulationBackend

BACKENDS: dict[str, Callable[[], Any]] = {"simulation": SimulationBackend}


def _is_plugin_path(name: str) -> bool:
    module, _, attribute = name.partition(":")
    return bool(module) and bool(attribute) and all(
        part.isidentifier() for part in (*module.split("."), attribute))


def check_backend_name(name: str) -> None:
    """Raise ValueError unless ``name`` is registered or has the plugin form (the plugin
    itself is imported when the backend is made)."""
    if name in BACKENDS or _is_plugin_path(name):
        return
    raise ValueError(f"backend must be one of {sorted(BACKENDS)} or 'package.module:Class', "
                     f"got {name!r}")


def make_backend(name: str) -> Any:
    """A new backend for ``name``; PerceptionError says what is wrong with a plugin."""
    check_backend_name(name)
    if name in BACKENDS:
        return BACKENDS[name]()
    module_name, _, attribute = name.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise PerceptionError(f"backend {name!r} cannot be loaded: {error}") from None
    backend = factory()
    if not callable(getattr(backend, "observe", None)):
        raise PerceptionError(f"backend {name!r} has no observe(rgb, instances, labels) method")
    return backend


__all__ = ["BACKENDS", "check_backend_name", "make_backend"]

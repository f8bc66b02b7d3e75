"""The native TensorRT runtime behind the session interface the ONNX families already use,
built without ever blocking the node.

A robot that starts with a new model (or after a TensorRT or JetPack upgrade) needs
minutes of engine building; a node that waits that long before answering its services
looks dead. :class:`EngineSession` answers from the start: it serves every call with
its fallback (an ONNX Runtime session on CUDA or the CPU) while the engine builds on a
background thread (:class:`~.engine_cache.EngineBuild`, once per machine thanks to the
cache), and switches to the engine the first call after it is ready. An engine is built
for the input shapes the model is actually fed (TensorRT runs fastest on fixed
shapes): the first call's shapes, and up to :data:`MAX_PROFILES` other shape sets
(a prompt list of another length); calls with further shapes stay on the fallback.
A build or run that fails leaves the session on the fallback, and says why.

:func:`engine_states` tells the node's diagnostics what every session in this process
is doing ("building engine", "ready", "failed: ..."), so a user sees why the first
minutes run slower. The TensorRT calls (key, build, load) are parameters, so all of
this is tested without a GPU; :func:`open_engine_session` wires the real ones.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import PerceptionError
from .engine_cache import (
    EngineBuild,
    EngineCache,
    EngineKey,
    default_engines_dir,
    default_max_bytes,
)

__all__ = ["MAX_PROFILES", "NATIVE_TENSORRT", "EngineSession", "engine_states",
           "open_engine_session"]

#: The name of the native TensorRT runtime in a provider list, ahead of the ONNX Runtime
#: providers it falls back to (``runtime: tensorrt`` puts it first).
NATIVE_TENSORRT = "TensorRT-native"
#: Shape sets one session builds engines for; further ones run on the fallback.
MAX_PROFILES = 4
LOG = logging.getLogger("spatial_vqa_ros.engines")

_SESSIONS: weakref.WeakSet[EngineSession] = weakref.WeakSet()


class Runner(Protocol):
    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...


Profile = dict[str, list[int]]


class _Engine:
    """One shape set's build and, once loaded, its runner."""

    def __init__(self, build: EngineBuild) -> None:
        self.build = build
        self.runner: Runner | None = None
        self.failure = ""

    @property
    def state(self) -> str:
        if self.failure:
            return f"failed: {self.failure}"
        if self.build.state == "failed":
            return f"failed: {self.build.error}"
        return "building engine" if self.build.state == "building" else "ready"


class EngineSession:
    """:class:`~.onnx.OrtSession`'s interface (``run``, ``input_names``, ``provider``,
    ``path``) over native TensorRT engines, serving from ``fallback`` until they are
    built. ``make_key(profile)``, ``build(profile)`` and ``load(engine_path)`` are the
    TensorRT seams."""

    provider = NATIVE_TENSORRT

    def __init__(self, path: Path, fallback: Any, *, cache: EngineCache,
                 make_key: Callable[[Profile], EngineKey],
                 build: Callable[[Profile], bytes],
                 load: Callable[[Path], Runner]) -> None:
        self.path = Path(path)
        self.fallback = fallback
        self._cache, self._make_key, self._build, self._load = cache, make_key, build, load
        self._engines: dict[tuple, _Engine] = {}
        self._lock = threading.Lock()
        self._overflow_logged = False
        _SESSIONS.add(self)

    @property
    def input_names(self) -> list[str]:
        return list(self.fallback.input_names)

    @property
    def label(self) -> str:
        """``<model>/<graph>``: how diagnostics and the cache name this graph."""
        return f"{self.path.parent.parent.name}/{self.path.name}"

    def states(self) -> dict[str, str]:
        """Each shape set's state ("building engine", "ready", "failed: ..."); empty
        before the first call (nothing is built before the shapes are known)."""
        with self._lock:
            engines = dict(self._engines)
        return {_describe(signature): engine.state for signature, engine in engines.items()}

    def _engine_for(self, signature: tuple) -> _Engine | None:
        with self._lock:
            engine = self._engines.get(signature)
            if engine is not None or len(self._engines) >= MAX_PROFILES:
                if engine is None and not self._overflow_logged:
                    self._overflow_logged = True
                    LOG.warning("%s: more than %d input shape sets; %s runs on %s",
                                self.label, MAX_PROFILES, _describe(signature),
                                self.fallback.provider)
                return engine
            profile = {name: list(shape) for name, shape in signature}
            try:
                key = self._make_key(profile)
            except PerceptionError as error:
                LOG.error("%s: no engine key: %s", self.label, error)
                return None
            LOG.info("%s: building a TensorRT engine for %s (serving on %s meanwhile)",
                     self.label, _describe(signature), self.fallback.provider)
            engine = _Engine(EngineBuild(self._cache, key, lambda: self._build(profile),
                                         source=self.label))
            self._engines[signature] = engine
            return engine

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        signature = tuple(sorted((name, tuple(np.shape(value)))
                                 for name, value in feeds.items()))
        engine = self._engine_for(signature)
        if engine is not None and engine.state == "ready":
            try:
                if engine.runner is None:
                    engine.runner = self._load(engine.build.path)
                    LOG.info("%s: now running on its TensorRT engine %s", self.label,
                             engine.build.path)
                return engine.runner.run(feeds)
            except Exception as error:  # a bad engine must not stop the node
                engine.failure = f"{type(error).__name__}: {error}"
                LOG.error("%s: the TensorRT engine failed (%s); back on %s", self.label,
                          engine.failure, self.fallback.provider)
        return self.fallback.run(feeds)


def _describe(signature: tuple) -> str:
    return ",".join(f"{name}:{'x'.join(str(d) for d in shape)}" for name, shape in signature)


def engine_states() -> dict[str, str]:
    """Every live engine session's state in this process, by ``<model>/<graph>``: one
    word per graph, the worst of its shape sets and sessions (failed, then building,
    then ready; "waiting for the first frame" before any call)."""
    values: dict[str, list[str]] = {}
    for session in list(_SESSIONS):
        values.setdefault(session.label, []).extend(session.states().values())
    states = {}
    for label, found in values.items():
        failed = [v for v in found if v.startswith("failed")]
        states[label] = (failed[0] if failed else
                         "building engine" if "building engine" in found else
                         "ready" if found else "waiting for the first frame")
    return states


def open_engine_session(path: str | Path, make_fallback: Callable[[], Any], *,
                        precision: str = "",
                        engines_dir: str | Path | None = None) -> EngineSession:
    """The native TensorRT session of an exported graph (``<model>/onnx/<graph>``),
    engines in the cache at ``engines_dir`` (default $SPATIAL_VQA_ENGINES, capped by
    $SPATIAL_VQA_ENGINES_MAX_GB), serving on
    ``make_fallback()`` until they are built. Checks first that TensorRT and a CUDA GPU
    are here (PerceptionError saying what is missing), so a node asked for TensorRT
    does not find out at the first frame. ``precision`` "" = fp16 where this TensorRT
    can lower to it (see :func:`~.tensorrt.default_precision`)."""
    from .tensorrt import TrtRunner, build_engine, default_precision, engine_key, environment

    env = environment()
    precision = precision or default_precision()
    path = Path(path)
    fallback = make_fallback()
    cache = EngineCache(engines_dir or default_engines_dir(), max_bytes=default_max_bytes(),
                        log=LOG.info)
    return EngineSession(
        path, fallback, cache=cache,
        make_key=lambda profile: engine_key(path.parent.parent, path, profile, precision,
                                            env),
        build=lambda profile: build_engine(path, profile, precision),
        load=TrtRunner)

"""Test doubles for the nodes: detectors that behave like a slow or a failing model.

Tests and benchmarks need perception slower than the camera (latest-frame-wins, services
answering while perception is busy). The delay lives here, in a detector of its own that
a node loads by path (``-p detector:=spatial_vqa_ros.synthetic.doubles:
SlowSimulationDetector``), never as a sleep in the production frame path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..perception.simulation import SimulationDetector
from ..perception.trackers import DepthFlowTracker
from ..perception.types import Detections, SensorInputs, TrackedMasks, TrackingFrame

#: Seconds per frame of :class:`SlowSimulationDetector` (environment; default 2 s).
DELAY_ENV = "SPATIAL_VQA_SLOW_DETECTOR_S"


class SlowSimulationDetector(SimulationDetector):
    """The simulation detector, taking ``$SPATIAL_VQA_SLOW_DETECTOR_S`` seconds a frame."""

    name = "slow_simulation"

    def __init__(self, delay_s: float | None = None) -> None:
        self.delay_s = float(os.environ.get(DELAY_ENV, "2.0")) if delay_s is None else delay_s

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        time.sleep(self.delay_s)
        return super().detect(inputs, prompts)


class FlakySimulationDetector(SimulationDetector):
    """The simulation detector, raising on every second frame like a model that runs out
    of GPU memory now and then: the node must report it and keep going."""

    name = "flaky_simulation"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        self.calls += 1
        if self.calls % 2 == 0:
            raise RuntimeError(f"simulated model failure on call {self.calls}")
        return super().detect(inputs, prompts)


class FlakyDepthFlowTracker(DepthFlowTracker):
    """The depth_flow tracker, failing on its 8th to 14th frames like a model that hits a
    fault for a while (a GPU out of memory) and recovers: the node must keep its last
    graph, report ERROR while frames fail, and go on."""

    name = "flaky_depth_flow"
    #: The calls of :meth:`track` that raise (1-based).
    FAILING_CALLS = range(8, 15)

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def track(self, frame: TrackingFrame) -> TrackedMasks:
        self.calls += 1
        if self.calls in self.FAILING_CALLS:
            raise RuntimeError(f"simulated tracker failure on call {self.calls}")
        return super().track(frame)


#: A file whose appearance finishes :class:`EngineGatedSimulationDetector`'s engine build.
ENGINE_GATE_ENV = "SPATIAL_VQA_TEST_ENGINE_GATE"


class _Echo:
    """A stand-in model run: returns its input, and who ran it."""

    def __init__(self, provider: str) -> None:
        self.input_names = ["pixel_values"]
        self.provider = provider
        self.calls = 0

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.calls += 1
        return {"echo": np.asarray(feeds["pixel_values"])}


class EngineGatedSimulationDetector(SimulationDetector):
    """The simulation detector behind a real :class:`~spatial_vqa_ros.perception.runtime.
    engine_session.EngineSession` whose TensorRT seams are fakes: the "engine build"
    lasts until the file ``$SPATIAL_VQA_TEST_ENGINE_GATE`` exists, so a test sees the
    node serve on the fallback with diagnostics saying "building engine", then switch."""

    name = "engine_gated_simulation"

    def __init__(self) -> None:
        from ..perception.runtime.engine_cache import (
            EngineCache,
            EngineKey,
            default_engines_dir,
        )
        from ..perception.runtime.engine_session import EngineSession

        gate = Path(os.environ.get(ENGINE_GATE_ENV, "/nonexistent/engine_gate"))

        def build(profile: dict) -> bytes:
            while not gate.exists():
                time.sleep(0.05)
            return b"fake engine for " + repr(sorted(profile.items())).encode()

        self.fallback, self.engine = _Echo("fallback"), _Echo("engine")
        self.session = EngineSession(
            Path("engine_gated/onnx/model.onnx"), self.fallback,
            cache=EngineCache(default_engines_dir()),
            make_key=lambda profile: EngineKey("checkpoint", "graph", repr(profile), "fp16",
                                               "test", "fake GPU", "0.0"),
            build=build, load=lambda path: self.engine)

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        self.session.run({"pixel_values": np.zeros((1, 3, 4, 4), np.float32)})
        return super().detect(inputs, prompts)


#: A folder where :class:`CountingSimulationDetector` leaves one file per construction.
COUNT_DIR_ENV = "SPATIAL_VQA_TEST_COUNT_DIR"


class CountingSimulationDetector(SimulationDetector):
    """The simulation detector, leaving a file in ``$SPATIAL_VQA_TEST_COUNT_DIR`` each
    time one is made: how a test sees how often a worker loads its "model"."""

    name = "counting_simulation"

    def __init__(self) -> None:
        folder = os.environ.get(COUNT_DIR_ENV)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / f"{os.getpid()}-{time.monotonic_ns()}").touch()


#: The ``detector`` parameter values that load them.
SLOW_DETECTOR = f"{__name__}:{SlowSimulationDetector.__name__}"
FLAKY_DETECTOR = f"{__name__}:{FlakySimulationDetector.__name__}"
ENGINE_GATED_DETECTOR = f"{__name__}:{EngineGatedSimulationDetector.__name__}"
COUNTING_DETECTOR = f"{__name__}:{CountingSimulationDetector.__name__}"

__all__ = ["COUNTING_DETECTOR", "COUNT_DIR_ENV", "DELAY_ENV", "ENGINE_GATED_DETECTOR",
           "ENGINE_GATE_ENV", "FLAKY_DETECTOR", "SLOW_DETECTOR", "CountingSimulationDetector",
           "EngineGatedSimulationDetector", "FlakySimulationDetector",
           "SlowSimulationDetector"]


class RenderedFrameDetector(SimulationDetector):
    """The simulation detector for frames that come without their instance image (a
    benchmark's files hold only the picture): the rendered frames are registered by
    their pixels, and a frame is matched to its instance image by them. Stands in for an
    open-vocabulary detector on rendered benchmarks (a perfect one: true boxes)."""

    name = "rendered_frame"
    needs_instances = False  # it finds them itself, by the frame's pixels

    def __init__(self) -> None:
        self.frames: dict[bytes, tuple[np.ndarray, Mapping[int, str]]] = {}

    def register(self, rgb: np.ndarray, instance_ids: np.ndarray,
                 id_to_label: Mapping[int, str]) -> None:
        self.frames[_digest(rgb)] = (instance_ids, id_to_label)

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        found = self.frames.get(_digest(inputs.rgb))
        if found is None:
            raise ValueError("the rendered_frame detector has no frame with these pixels "
                             "registered")
        from dataclasses import replace

        ids, labels = found
        return super().detect(replace(inputs, instance_ids=ids, id_to_label=labels), prompts)


def _digest(rgb: np.ndarray) -> bytes:
    import hashlib

    return hashlib.sha1(np.ascontiguousarray(rgb).tobytes()).digest()

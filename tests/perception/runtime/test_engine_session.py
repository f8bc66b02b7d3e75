"""runtime tensorrt's session: serves on the fallback while engines build, switches when
they are ready, builds per shape set, survives failed builds and engines, and reports
its state for diagnostics. The TensorRT calls are fakes here (no GPU, no TensorRT); the
fallback is a real ONNX Runtime session on a real graph. The real TensorRT path is
tested at the end where TensorRT and CUDA exist (skipped here, saying so)."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.factories import PerceptionSpec  # noqa: E402
from spatial_vqa_ros.perception.runtime.engine_cache import EngineCache, EngineKey  # noqa: E402
from spatial_vqa_ros.perception.runtime.engine_session import (  # noqa: E402
    MAX_PROFILES,
    NATIVE_TENSORRT,
    EngineSession,
    engine_states,
)
from spatial_vqa_ros.perception.runtime.onnx import create_session  # noqa: E402


def _doubling_graph(path: Path) -> Path:
    """y = 2 x, x of any shape: a real graph for the fallback to run."""
    from onnx import TensorProto, helper

    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["y"])], "double",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=[two])
    path.parent.mkdir(parents=True)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9  # what every onnxruntime in use reads
    onnx.save(model, str(path))
    return path


class _FakeTensorRT:
    """The three TensorRT seams: builds block until released (or fail), engines are the
    bytes the build returned, run by a runner that says it ran."""

    def __init__(self, fail_build: bool = False, fail_run: bool = False) -> None:
        self.release = threading.Event()
        self.builds: list[dict] = []
        self.runs = 0
        self.fail_build, self.fail_run = fail_build, fail_run

    def make_key(self, profile: dict) -> EngineKey:
        return EngineKey("ckpt", "graph", repr(sorted(profile.items())), "fp16", "10.3",
                         "Fake GPU", "8.7")

    def build(self, profile: dict) -> bytes:
        self.builds.append(profile)
        assert self.release.wait(10.0)
        if self.fail_build:
            raise RuntimeError("out of workspace memory")
        return b"engine " + repr(profile).encode()

    def load(self, path: Path):
        fake = self

        class Runner:
            def run(self, feeds):
                if fake.fail_run:
                    raise RuntimeError("CUDA error: an illegal memory access")
                fake.runs += 1
                return {"y": np.asarray(feeds["x"]) * 2.0}
        assert path.read_bytes().startswith(b"engine ")
        return Runner()


def _session(tmp_path: Path, fake: _FakeTensorRT, cache_dir: str = "engines",
             model: str = "tiny_model") -> EngineSession:
    graph = tmp_path / model / "onnx" / "model.onnx"
    if not graph.is_file():
        _doubling_graph(graph)
    fallback = create_session(graph, providers=["CPUExecutionProvider"])
    return EngineSession(graph, fallback, cache=EngineCache(tmp_path / cache_dir),
                         make_key=fake.make_key, build=fake.build, load=fake.load)


def _wait_built(session: EngineSession) -> None:
    for engine in list(session._engines.values()):
        assert engine.build.wait(10.0)


def test_serves_on_the_fallback_while_building_then_switches_to_the_engine(tmp_path):
    fake = _FakeTensorRT()
    session = _session(tmp_path, fake)
    assert session.provider == NATIVE_TENSORRT and session.input_names == ["x"]
    assert engine_states()["tiny_model/model.onnx"] == "waiting for the first frame"
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for _ in range(3):  # the build blocks: every call is served, by ONNX Runtime
        np.testing.assert_array_equal(session.run({"x": x})["y"], 2 * x)
    assert fake.runs == 0 and session.states() == {"x:2x3": "building engine"}
    assert engine_states()["tiny_model/model.onnx"] == "building engine"
    fake.release.set()
    _wait_built(session)
    assert len(fake.builds) == 1  # one build for one shape set, however many calls
    np.testing.assert_array_equal(session.run({"x": x})["y"], 2 * x)
    assert fake.runs == 1 and session.states() == {"x:2x3": "ready"}
    assert engine_states()["tiny_model/model.onnx"] == "ready"
    entries = EngineCache(tmp_path / "engines").entries()
    assert [e["source"] for e in entries] == ["tiny_model/model.onnx"]

    # A restart finds the engine in the cache: no build. The cache is looked up in the
    # background, so the first call is served by whichever is ready; once the lookup is
    # done, every call runs on the engine.
    again = _FakeTensorRT()
    restarted = _session(tmp_path, again)
    restarted.run({"x": x})
    _wait_built(restarted)
    runs_before = again.runs
    assert runs_before in (0, 1)
    restarted.run({"x": x})
    assert again.builds == [] and again.runs == runs_before + 1
    assert not next(iter(restarted._engines.values())).build.built


def test_each_shape_set_gets_its_engine_up_to_the_limit(tmp_path, caplog):
    fake = _FakeTensorRT()
    fake.release.set()
    session = _session(tmp_path, fake, model="shapes_model")
    for n in range(1, MAX_PROFILES + 3):
        session.run({"x": np.ones((1, n), np.float32)})
    _wait_built(session)
    assert len(fake.builds) == MAX_PROFILES
    assert {p["x"][1] for p in fake.builds} == set(range(1, MAX_PROFILES + 1))
    runs = fake.runs
    out = session.run({"x": np.ones((1, MAX_PROFILES + 2), np.float32)})  # fallback
    assert fake.runs == runs and out["y"].shape == (1, MAX_PROFILES + 2)
    session.run({"x": np.ones((1, 1), np.float32)})  # its engine
    assert fake.runs == runs + 1
    assert "more than 4 input shape sets" in caplog.text


@pytest.mark.parametrize("failure", ["build", "run"])
def test_a_failed_build_or_engine_leaves_it_on_the_fallback_saying_why(tmp_path, failure):
    fake = _FakeTensorRT(fail_build=failure == "build", fail_run=failure == "run")
    fake.release.set()
    session = _session(tmp_path, fake, cache_dir=f"engines_{failure}",
                       model=f"failing_{failure}")
    x = np.ones((2, 2), np.float32)
    session.run({"x": x})
    _wait_built(session)
    for _ in range(2):
        np.testing.assert_array_equal(session.run({"x": x})["y"], 2 * x)
    state = session.states()["x:2x2"]
    expected = "out of workspace memory" if failure == "build" else "illegal memory access"
    assert state.startswith("failed") and expected in state
    assert expected in engine_states()[f"failing_{failure}/model.onnx"]
    assert fake.runs == 0


def test_runtime_tensorrt_needs_tensorrt_and_a_gpu(tmp_path):
    with pytest.raises(ValueError, match="perception_runtime tensorrt runs on a GPU"):
        PerceptionSpec(perception_runtime="tensorrt", perception_device="cpu")
    # a valid setting
    PerceptionSpec(perception_runtime="tensorrt", depth_estimator="depth_anything")
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("TensorRT is installed: its absence cannot be checked here")
    graph = _doubling_graph(tmp_path / "m" / "onnx" / "model.onnx")
    with pytest.raises(PerceptionError, match="TensorRT is not installed"):
        create_session(graph, providers=[NATIVE_TENSORRT, "CPUExecutionProvider"])


def _cuda_and_tensorrt() -> bool:
    if importlib.util.find_spec("tensorrt") is None:
        return False
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(not _cuda_and_tensorrt(), reason="needs TensorRT and a CUDA GPU "
                    "(bench/gpu_check.sh runs it on a GPU machine)")
def test_the_real_tensorrt_engine_matches_onnxruntime(tmp_path):
    from spatial_vqa_ros.perception.runtime.engine_session import open_engine_session

    graph = _doubling_graph(tmp_path / "m" / "onnx" / "model.onnx")
    session = open_engine_session(
        graph, lambda: create_session(graph, providers=["CPUExecutionProvider"]),
        precision="fp32", engines_dir=tmp_path / "engines")
    x = np.random.default_rng(0).normal(size=(1, 3, 8, 8)).astype(np.float32)
    session.run({"x": x})
    _wait_built(session)
    assert session.states() == {"x:1x3x8x8": "ready"}, session.states()
    np.testing.assert_allclose(session.run({"x": x})["y"], 2 * x, rtol=1e-6)

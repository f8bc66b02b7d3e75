"""The TensorRT engine cache, without TensorRT (the build is a callable): every key field
changes the entry, a version or GPU change rebuilds, writes are atomic and the record
comes last, corrupt or mismatched entries are rebuilt and logged, concurrent builders
build once, and a size cap evicts the least recently used."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import time
from types import SimpleNamespace

import pytest

from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.runtime import engine_cache
from spatial_vqa_ros.perception.runtime.engine_cache import EngineCache, EngineKey

KEY = EngineKey(checkpoint_sha256="c" * 64, onnx_sha256="o" * 64,
                input_profile="pixel_values:1x3x518x518", precision="fp16",
                tensorrt_version="10.3.0", gpu_name="NVIDIA H100 80GB HBM3",
                compute_capability="9.0", l4t_release="")


class Builder:
    def __init__(self, payload: bytes = b"engine-bytes" * 100) -> None:
        self.payload = payload
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        return self.payload


def test_every_field_of_the_key_names_another_entry():
    digests = {KEY.digest()}
    for field in dataclasses.fields(EngineKey):
        changed = dataclasses.replace(KEY, **{field.name: getattr(KEY, field.name) + "x"})
        digests.add(changed.digest())
    assert len(digests) == 1 + len(dataclasses.fields(EngineKey))
    assert KEY.digest() == dataclasses.replace(KEY).digest()  # stable


def test_an_engine_is_built_once_then_loaded(tmp_path):
    cache, build = EngineCache(tmp_path), Builder()
    first = cache.get_or_build(KEY, build)
    second = cache.get_or_build(KEY, build)
    assert first.built and not second.built and build.calls == 1
    assert first.path == second.path and first.path.read_bytes() == build.payload
    record = json.loads(first.path.with_suffix(".json").read_text())
    assert record["key"]["gpu_name"] == KEY.gpu_name and record["size"] == len(build.payload)


@pytest.mark.parametrize("field", ["tensorrt_version", "gpu_name", "compute_capability",
                                   "l4t_release", "onnx_sha256"])
def test_an_upgrade_or_another_gpu_builds_a_new_engine(tmp_path, field):
    cache, build = EngineCache(tmp_path), Builder()
    cache.get_or_build(KEY, build)
    upgraded = dataclasses.replace(KEY, **{field: "new"})
    assert cache.get(upgraded) is None
    assert cache.get_or_build(upgraded, build).built and build.calls == 2


@pytest.mark.parametrize("damage", ["truncate", "flip", "record", "missing", "foreign"])
def test_a_corrupt_or_mismatched_entry_is_rebuilt_and_logged(tmp_path, damage):
    messages = []
    cache, build = EngineCache(tmp_path, log=messages.append), Builder()
    path = cache.get_or_build(KEY, build).path
    record = path.with_suffix(".json")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:10])
    elif damage == "flip":
        data = bytearray(path.read_bytes())
        data[5] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "record":
        record.write_text("{")
    elif damage == "missing":
        path.unlink()
    else:
        saved = json.loads(record.read_text())
        saved["key"]["gpu_name"] = "another GPU"
        record.write_text(json.dumps(saved))
    again = cache.get_or_build(KEY, build)
    assert again.built and build.calls == 2 and again.path.read_bytes() == build.payload
    assert any("removed, it will be rebuilt" in m for m in messages)


def test_an_unfinished_entry_without_its_record_is_never_loaded(tmp_path):
    cache = EngineCache(tmp_path)
    (tmp_path / f"{KEY.digest()}.engine").write_bytes(b"half an engine")
    assert cache.get(KEY) is None
    assert cache.get_or_build(KEY, Builder()).built


def test_a_failed_build_stores_nothing(tmp_path):
    cache = EngineCache(tmp_path)

    def failing():
        raise RuntimeError("out of workspace memory")

    with pytest.raises(PerceptionError, match="engine build failed: RuntimeError: out of"):
        cache.get_or_build(KEY, failing)
    assert cache.get(KEY) is None and cache.entries() == []


def _build_in_child(root, payload, delay_s):
    def slow():
        time.sleep(delay_s)
        return payload

    result = EngineCache(root).get_or_build(KEY, slow)
    raise SystemExit(10 if result.built else 20)


def test_concurrent_builders_build_once(tmp_path):
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_build_in_child, args=(tmp_path, b"x" * 1000, 0.5))
                for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(30)
    assert sorted(c.exitcode for c in children) == [10, 20, 20]  # one built, two loaded
    assert EngineCache(tmp_path).get(KEY).read_bytes() == b"x" * 1000


def test_a_size_cap_evicts_the_least_recently_used(tmp_path, monkeypatch):
    # The cache orders entries by the time.time() of their last use; a clock that ticks
    # one second a call sets that order exactly (no sleeps, no equal stamps).
    ticks = iter(range(1_000_000, 2_000_000))
    monkeypatch.setattr(engine_cache, "time", SimpleNamespace(time=lambda: next(ticks)))
    messages = []
    cache = EngineCache(tmp_path, max_bytes=2500, log=messages.append)
    keys = [dataclasses.replace(KEY, input_profile=f"profile {k}") for k in range(3)]
    cache.get_or_build(keys[0], Builder(b"a" * 1000))
    cache.get_or_build(keys[1], Builder(b"b" * 1000))
    cache.get(keys[0])  # used again: keys[1] is now the least recently used
    assert [e["digest"] for e in cache.entries()] == [keys[1].digest(), keys[0].digest()]
    cache.get_or_build(keys[2], Builder(b"c" * 1000))
    assert [e["digest"] for e in cache.entries()] == [keys[0].digest(), keys[2].digest()]
    assert cache.get(keys[1]) is None
    assert cache.get(keys[0]) is not None and cache.get(keys[2]) is not None
    assert any("evicted" in m for m in messages)


def test_a_background_build_reports_building_then_ready_or_failed(tmp_path):
    import threading

    from spatial_vqa_ros.perception.runtime.engine_cache import EngineBuild

    release = threading.Event()

    def slow():
        release.wait(10)
        return b"engine"

    build = EngineBuild(EngineCache(tmp_path), KEY, slow)
    assert build.state == "building" and not build.wait(0.1)  # the caller is not blocked
    release.set()
    assert build.wait(10) and build.state == "ready" and build.built
    assert build.path.read_bytes() == b"engine"
    loaded = EngineBuild(EngineCache(tmp_path), KEY, slow)
    assert loaded.wait(10) and loaded.state == "ready" and not loaded.built

    def broken():
        raise ValueError("unsupported op GridSample")

    other = dataclasses.replace(KEY, precision="int8")
    failed = EngineBuild(EngineCache(tmp_path), other, broken)
    assert failed.wait(10) and failed.state == "failed"
    assert "unsupported op GridSample" in failed.error and failed.path is None


def test_onnxruntimes_tensorrt_provider_keeps_its_engines_in_the_cache(tmp_path, monkeypatch):
    from spatial_vqa_ros.perception.runtime.engine_cache import ENGINES_ENV, default_engines_dir
    from spatial_vqa_ros.perception.runtime.onnx import PROVIDER_ORDER, provider_settings

    monkeypatch.setenv(ENGINES_ENV, str(tmp_path / "engines"))
    assert default_engines_dir() == tmp_path / "engines"
    settings = provider_settings(PROVIDER_ORDER)
    name, options = settings[0]
    assert name == "TensorrtExecutionProvider"
    assert options["trt_engine_cache_enable"] and options["trt_timing_cache_enable"]
    assert options["trt_engine_cache_path"] == str(tmp_path / "engines" / "onnxruntime")
    assert settings[1:] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.delenv(ENGINES_ENV)
    assert default_engines_dir().parts[-3:] == (".cache", "spatial_vqa_ros", "engines")


def test_tensorrt_facts_and_keys_without_tensorrt(tmp_path, capsys):
    import importlib.util

    from spatial_vqa_ros.cli import main
    from spatial_vqa_ros.perception.runtime.tensorrt import (
        Environment,
        engine_key,
        environment,
        l4t_release,
    )

    release = tmp_path / "nv_tegra_release"
    release.write_text("# R36 (release), REVISION: 2.0, GCID: 35084178, BOARD: generic, "
                       "EABI: aarch64, DATE: Tue Dec 19 05:55:03 UTC 2023\n")
    assert l4t_release(release) == "R36.2.0"
    assert l4t_release(tmp_path / "absent") == ""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "model" / "model.safetensors").write_bytes(b"weights")
    graph = tmp_path / "model.onnx"
    graph.write_bytes(b"graph")
    env = Environment("10.3.0", "Orin", "8.7", "R36.2.0")
    key = engine_key(tmp_path / "model", graph, {"pixel_values": [1, 3, 518, 518]}, "fp16",
                     env)
    assert key.input_profile == "pixel_values:1x3x518x518" and key.l4t_release == "R36.2.0"
    (tmp_path / "model" / "model.safetensors").write_bytes(b"other weights")
    assert engine_key(tmp_path / "model", graph, {"pixel_values": [1, 3, 518, 518]},
                      "fp16", env).digest() != key.digest()
    if importlib.util.find_spec("tensorrt") is None:
        with pytest.raises(PerceptionError, match="TensorRT is not installed"):
            environment()
        assert main(["models", "build", "depth_pro", "--engines-dir", str(tmp_path)]) == 2
        assert "TensorRT is not installed" in capsys.readouterr().err


def test_the_cache_cap_comes_from_the_environment(monkeypatch):
    from spatial_vqa_ros.perception.runtime.engine_cache import ENGINES_MAX_ENV, default_max_bytes

    monkeypatch.delenv(ENGINES_MAX_ENV, raising=False)
    assert default_max_bytes() == 0
    monkeypatch.setenv(ENGINES_MAX_ENV, "2.5")
    assert default_max_bytes() == 2_500_000_000
    for bad in ("-1", "lots", "nan"):
        monkeypatch.setenv(ENGINES_MAX_ENV, bad)
        with pytest.raises(ValueError, match="SPATIAL_VQA_ENGINES_MAX_GB must be"):
            default_max_bytes()

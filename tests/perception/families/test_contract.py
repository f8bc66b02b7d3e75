"""The contract every model family keeps, one suite parametrised over the family
descriptors (a new family folder is picked up with no edit here; its tiny snapshot
builder goes in family_snapshots.py):

- it loads from a saved tiny snapshot through the real loading code (the factory tables
  the chain and the node use), and a missing snapshot names the pull command;
- in each chain role it fills (depth, detector, segmenter) it runs through the chain into
  a scene graph whose provenance names it (trackers: the chain does not run them yet);
- with an exporter, its ONNX Runtime adapter (loaded through the same factory, CPU
  provider) gives the torch adapter's outputs within 1e-4, relative;
- importing the package and every module of the family's folder loads no model library
  (a fresh interpreter);
- loading, exporting and running attempt no network connection (sockets refused).
"""

from __future__ import annotations

import ast
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

from family_snapshots import NOT_YET, SNAPSHOTS  # noqa: E402

import spatial_vqa_ros  # noqa: E402
from spatial_vqa_ros.core.pipeline import ScenePipeline  # noqa: E402
from spatial_vqa_ros.perception import factories  # noqa: E402
from spatial_vqa_ros.perception.chain import masks_from_detector  # noqa: E402
from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain  # noqa: E402
from spatial_vqa_ros.perception.families import descriptors  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs  # noqa: E402
from spatial_vqa_ros.synthetic.scoring import render_case  # noqa: E402

HEAVY = ("torch", "transformers", "onnxruntime", "onnx", "cv2")
FAMILIES = descriptors()
WITH_WEIGHTS = sorted(name for name, d in FAMILIES.items() if d.model_field)
LOADED_BY_TABLE = ("depth", "detector", "segmenter", "tracker")
CHAIN_RUNS = [(name, role) for name, d in FAMILIES.items()
              for role in ("depth", "detector", "segmenter") if role in d.roles]
EXPORTED = sorted(name for name, d in FAMILIES.items() if d.export)
#: Chain provenance field of each role.
PROVENANCE = {"depth": "depth_model", "detector": "detector", "segmenter": "segmenter"}


@pytest.fixture
def no_network(monkeypatch):
    """Every outbound connection and name lookup raises and is recorded (the hub's
    offline switches unset, so they are not what keeps a load local)."""
    attempts: list[str] = []

    def refuse(what):
        def blocked(*args, **kwargs):
            attempts.append(f"{what}{args}")
            raise OSError(f"network blocked by the test: {what}")
        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    return attempts


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Snapshots made by a builder function, once per family in this module."""
    return {}


@pytest.fixture
def snapshot(request, built, tmp_path_factory):
    """``snapshot(name)``: the family's tiny snapshot directory, or a skip saying why
    the suite cannot build it yet."""
    def make(name: str) -> Path:
        how = SNAPSHOTS.get(name)
        if how is None:
            pytest.skip(f"{name}: " + NOT_YET.get(
                name, "no tiny snapshot builder: add one to family_snapshots.SNAPSHOTS"))
        if isinstance(how, str):
            return request.getfixturevalue(how)
        if name not in built:
            built[name] = how(tmp_path_factory.mktemp(name) / f"{name}-tiny")
        return built[name]
    return make


def spec_for(name: str, role: str, directory: Path, **fields) -> PerceptionSpec:
    """A spec naming the family for ``role`` with its weights at ``directory``."""
    descriptor = FAMILIES[name]
    return PerceptionSpec(**{factories.ROLE_FIELDS[role]: name,
                             descriptor.model_field: str(directory),
                             "perception_device": "cpu", **fields})


def load(name: str, role: str, directory: Path, runtime: str = "torch", **fields):
    """The family for ``role`` through the real loading code: the factory table the
    chain and node use, or (tagger, captioner) the descriptor's adapter class."""
    if role in LOADED_BY_TABLE:
        return factories.TABLES[role][name](spec_for(name, role, directory,
                                                     perception_runtime=runtime, **fields))
    return FAMILIES[name].adapter_class(role).from_pretrained(directory, device="cpu")


def rendered(seed: int = 0) -> tuple[SensorInputs, list[str]]:
    """A rendered room: RGB, depth, camera and the simulator's instance image, and its
    objects' labels as prompts."""
    _, case, _ = render_case(seed)
    inputs = SensorInputs(case.rgb, case.camera, case.depth_m, case.instance_ids,
                          case.id_to_label)
    return inputs, sorted(set(case.id_to_label.values()))


def relative_error(got, expected) -> float:
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    return float(np.abs(got - expected).max() / max(np.abs(expected).max(), 1e-12))


# --- loading ------------------------------------------------------------------------
@pytest.mark.parametrize("name", WITH_WEIGHTS)
def test_each_family_loads_from_its_tiny_snapshot_with_the_network_blocked(
        name, snapshot, no_network):
    directory = snapshot(name)
    for role in FAMILIES[name].roles:
        adapter = load(name, role, directory)
        assert isinstance(adapter, FAMILIES[name].adapter_class(role)), role
    assert no_network == [], f"network attempted: {no_network[:3]}"


MISSING = [(n, runtime) for n in WITH_WEIGHTS
           if FAMILIES[n].checkpoints and set(FAMILIES[n].roles) & set(LOADED_BY_TABLE)
           for runtime in ("torch", "onnxruntime")[:1 + bool(FAMILIES[n].export)]]


@pytest.mark.parametrize(("name", "runtime"), MISSING)
def test_a_missing_snapshot_names_the_pull_command(name, runtime, tmp_path):
    descriptor = FAMILIES[name]
    checkpoint = descriptor.checkpoints[0]
    role = next(r for r in descriptor.roles if r in LOADED_BY_TABLE)
    spec = PerceptionSpec(**{factories.ROLE_FIELDS[role]: name,
                             descriptor.model_field: checkpoint.name,
                             "models_dir": str(tmp_path), "perception_runtime": runtime,
                             "perception_device": "cpu"})
    with pytest.raises(PerceptionError, match=f"spatial-vqa models pull {checkpoint.name}"):
        factories.TABLES[role][name](spec)


# --- through the chain --------------------------------------------------------------
def run_chain(name: str, role: str, directory: Path | None, runtime: str = "torch"):
    """The family in ``role`` (the simulator's depth, boxes or masks in the others; a
    detector's boxes segmented by depth_box) run on a rendered room into a scene graph:
    checks the graph and returns the chain's adapter for the role."""
    descriptor = FAMILIES[name]
    fields = {"depth_estimator": "sensor", "detector": "simulation",
              "segmenter": "simulation", factories.ROLE_FIELDS[role]: name,
              "perception_runtime": runtime}
    if directory is not None:
        fields[descriptor.model_field] = str(directory)
    if role == "detector":
        fields["detector_score_threshold"] = 0.01  # tiny random weights score low
        if fields["segmenter"] == "simulation":  # the simulator segments only its own
            fields["segmenter"] = "depth_box"
    if role == "segmenter" and "detector" in descriptor.roles:
        fields["detector"] = name  # segments only what it detects itself (SAM 3)
        fields["detector_score_threshold"] = 0.01
    chain = build_chain(PerceptionSpec(perception_device="cpu", **fields))
    inputs, labels = rendered()
    result = chain.run(inputs, labels)
    n = len(result.detections)
    assert n > 0, "the tiny model found nothing to measure"
    assert set(result.detections.labels) <= set(labels)
    assert result.observations.masks.shape == (n, *inputs.rgb.shape[:2])
    assert np.isfinite(result.capture.depth_m).any()
    adapter = {"depth": chain.depth, "detector": chain.detector,
               "segmenter": chain.segmenter}[role]
    graph = ScenePipeline().process(result.capture, result.observations).graph
    named = getattr(result.provenance, PROVENANCE[role])
    assert graph.provenance[PROVENANCE[role]] == named
    if descriptor.model_field:  # depth records the snapshot, the others the adapter
        assert adapter.name.startswith(f"{name}:")
        assert named == (Path(directory).name if role == "depth" else adapter.name)
    if role == "detector" and masks_from_detector(chain.detector):
        assert "segment" not in result.timings_s
    return adapter


@pytest.mark.parametrize(("name", "role"), CHAIN_RUNS)
def test_each_chain_role_runs_into_a_scene_graph_naming_the_family(
        name, role, snapshot, no_network):
    run_chain(name, role, snapshot(name) if FAMILIES[name].model_field else None)
    assert no_network == [], f"network attempted: {no_network[:3]}"


# --- torch vs ONNX Runtime ------------------------------------------------------------
def _outputs(adapter, role: str, inputs: SensorInputs, labels: list[str],
             boxes: np.ndarray) -> dict[str, np.ndarray]:
    """What the role's call returns, as arrays to compare."""
    if role == "depth":  # as inverse depth, relative to its largest value: the far
        # pixels of a random model are ill-conditioned in metres (Depth Pro predicts
        # inverse depth)
        return {"inverse_depth": 1 / adapter.estimate(inputs).depth_m}
    if role == "detector":
        found = adapter.detect(inputs, labels)
        out = {"xyxy": found.xyxy, "scores": found.scores,
               "labels": np.array(found.labels, dtype=object)}
        if found.masks is not None:
            out["masks"] = found.masks
        return out
    return {"masks": adapter.segment(inputs, boxes, inputs.depth_m)}


@pytest.mark.parametrize("name", EXPORTED)
def test_onnx_runtime_gives_the_torch_adapters_outputs_within_1e4(
        name, snapshot, no_network, tmp_path):
    descriptor = FAMILIES[name]
    directory = tmp_path / snapshot(name).name  # the export lands beside a copy
    shutil.copytree(snapshot(name), directory)
    inputs, labels = rendered(1)
    exporter = descriptor.resolve(descriptor.export.exporter)
    if descriptor.export.sized:
        exporter(directory, directory / factories.ONNX_DIR, size_hw=inputs.rgb.shape[:2])
    else:
        exporter(directory, directory / factories.ONNX_DIR)
    role = next(r for r in descriptor.roles if r in ("depth", "detector", "segmenter"))
    fields = {"detector_score_threshold": 0.01}  # tiny random weights score low
    on_torch = load(name, role, directory, **fields)
    on_onnx = load(name, role, directory, runtime="onnxruntime", **fields)
    assert "onnxruntime:CPUExecutionProvider" in on_onnx.name
    boxes = np.array([[40, 30, 200, 180], [300, 200, 420, 400], [10, 10, 630, 470]],
                     np.float32)
    expected = _outputs(on_torch, role, inputs, labels, boxes)
    got = _outputs(on_onnx, role, inputs, labels, boxes)
    assert expected.keys() == got.keys()
    for key, value in expected.items():
        assert got[key].shape == value.shape, key
        if key == "labels":
            assert list(got[key]) == list(value)
        elif value.dtype == bool:
            assert 0 < value.mean() < 1, f"{key}: the tiny model's masks are not all one way"
            assert (got[key] != value).mean() <= 1e-3, key  # pixels at the threshold only
        elif value.size:
            assert relative_error(got[key], value) <= 1e-4, key
    assert sum(v.size for v in expected.values()) > 0
    on_chain = run_chain(name, role, directory, runtime="onnxruntime")
    assert "onnxruntime:CPUExecutionProvider" in on_chain.name
    assert no_network == [], f"network attempted: {no_network[:3]}"


# --- imports and network --------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_importing_the_package_and_the_familys_modules_loads_no_model_library(name):
    package = FAMILIES[name].package
    code = ("import importlib, pkgutil, sys\n"
            "import spatial_vqa_ros.perception.families as families\n"
            "families.descriptors()\n"
            f"family = importlib.import_module({package!r})\n"
            "names = [m.name for m in pkgutil.walk_packages(family.__path__, "
            "family.__name__ + '.')]\n"
            "for module in names:\n"
            "    importlib.import_module(module)\n"
            f"print(len(names), [m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split(maxsplit=1)
    modules = list(Path(sys.modules["spatial_vqa_ros.perception.families"].__path__[0],
                        name).glob("*.py"))
    assert int(out[0]) == len(modules) - 1  # every module but __init__ was imported
    assert out[1].strip() == "[]"


def test_the_network_block_itself_works(no_network):
    with pytest.raises(OSError, match="network blocked"):
        socket.create_connection(("huggingface.co", 443), timeout=1)
    assert no_network


def test_no_call_in_the_package_turns_remote_code_on():
    root = Path(spatial_vqa_ros.__file__).parent
    offending = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "trust_remote_code" and not (
                            isinstance(keyword.value, ast.Constant)
                            and keyword.value.value is False):
                        offending.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offending == []

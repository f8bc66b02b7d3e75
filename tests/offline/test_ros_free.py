"""``spatial_vqa_ros.offline`` and ``spatial_vqa_ros.core`` import without ROS (no
rclpy), and ``spatial_vqa_ros.core`` without torch or transformers either.

Each check imports every module of a package in a fresh interpreter, with a
meta-path hook that records any attempt to import a forbidden package (even one
guarded by ``try: ... except ImportError``, and even where it is not installed), and
then looks at ``sys.modules`` too. The control tests show the probe does catch one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Each package, and the top-level packages none of its modules may import: ROS code
#: belongs in ``nodes``; the ML frameworks in ``perception`` (design: the core is
#: ROS-free and torch-free, so geometry and VQA run anywhere numpy does).
FORBIDDEN = {
    "spatial_vqa_ros.offline": ("rclpy",),
    "spatial_vqa_ros.core": ("rclpy", "torch", "transformers"),
}

#: Imports the packages named in argv[2:] and all their modules, watching for imports
#: of the top-level packages listed (comma-separated) in argv[1]; prints what happened.
PROBE = """
import importlib, json, pkgutil, sys

forbidden = set(sys.argv[1].split(","))
attempts = []
current = ["<start-up>"]


class Watch:  # records only: the import then proceeds (or fails) as usual
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in forbidden:
            attempts.append([current[0], name])
        return None


sys.meta_path.insert(0, Watch())
imported = []
for package in sys.argv[2:]:
    current[0] = package
    root = importlib.import_module(package)
    imported.append(package)
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), package + "."):
        current[0] = info.name
        importlib.import_module(info.name)
        imported.append(info.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
print(json.dumps({"imported": imported, "attempts": attempts, "loaded": loaded}))
"""


def _probe(*packages: str, forbidden: tuple[str, ...] = ("rclpy",),
           pythonpath: Path | None = None) -> dict:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(pythonpath), *filter(None, [env.get("PYTHONPATH")])])
    result = subprocess.run([sys.executable, "-c", PROBE, ",".join(forbidden), *packages],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"importing {packages} failed:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_every_module_imports_without_the_forbidden_packages(package: str) -> None:
    forbidden = FORBIDDEN[package]
    report = _probe(package, forbidden=forbidden)
    modules = report["imported"]
    assert modules[0] == package and len(modules) > 1, modules  # it did walk the package
    assert report["attempts"] == [], (
        f"these modules of {package} import one of {forbidden} (module, import): "
        f"{report['attempts']}; ROS code belongs in spatial_vqa_ros.nodes, torch and "
        "transformers in spatial_vqa_ros.perception")
    assert report["loaded"] == [], f"{report['loaded']} in sys.modules after importing {package}"


def test_every_module_of_the_core_is_walked() -> None:
    modules = set(_probe("spatial_vqa_ros.core",
                         forbidden=FORBIDDEN["spatial_vqa_ros.core"])["imported"])
    core = REPO / "spatial_vqa_ros" / "core"
    expected = {".".join(("spatial_vqa_ros", "core", *p.relative_to(core).with_suffix("").parts))
                .removesuffix(".__init__") for p in core.rglob("*.py")}
    assert len(expected) > 20 and expected <= modules, sorted(expected - modules)


def test_expected_modules_are_walked() -> None:
    modules = set(_probe("spatial_vqa_ros.offline")["imported"])
    assert {"spatial_vqa_ros.offline.scenes",
            "spatial_vqa_ros.offline.bag2dataset",
            "spatial_vqa_ros.offline.bag2dataset.engines",
            "spatial_vqa_ros.offline.bag2dataset.sources"} <= modules


@pytest.mark.parametrize("name", ["rclpy", "torch", "transformers.models"])
def test_the_probe_catches_a_forbidden_import(tmp_path: Path, name: str) -> None:
    package = tmp_path / "uses_it"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text('"""A package that imports what it must not."""\n')
    (package / "inner" / "__init__.py").write_text("")
    (package / "inner" / "node.py").write_text(
        f"try:\n    import {name}  # noqa: F401\nexcept ImportError:\n    pass\n")
    parts = name.split(".")
    for depth in range(1, len(parts) + 1):  # a stub, found first: no real torch loads
        (tmp_path.joinpath(*parts[:depth])).mkdir()
        tmp_path.joinpath(*parts[:depth], "__init__.py").write_text("")
    report = _probe("uses_it", forbidden=("rclpy", "torch", "transformers"),
                    pythonpath=tmp_path)
    root = name.partition(".")[0]
    assert "uses_it.inner.node" in report["imported"]
    assert ["uses_it.inner.node", root] in report["attempts"]
    assert name in report["loaded"]


def _imported_modules(path: Path, package: str) -> set[str]:
    """Every module an ``import`` / ``from ... import`` of ``path`` names, resolved
    (relative imports against ``package``, the module's own package)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[:len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_offline_code_never_reaches_into_the_nodes() -> None:
    """Layering: the offline tools share the node's defaults through core (e.g.
    ``core.capture.MAX_PIXELS``, ``DEPTH_MAX_M``), never by importing ``nodes``."""
    offline = REPO / "spatial_vqa_ros" / "offline"
    reaching = {}
    for path in sorted(offline.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        package = ".".join(parts if path.name == "__init__.py" else parts[:-1])
        nodes = sorted(m for m in _imported_modules(path, package)
                       if m.startswith("spatial_vqa_ros.nodes"))
        if nodes:
            reaching[str(path.relative_to(REPO))] = nodes
    assert len(list(offline.rglob("*.py"))) > 10
    assert reaching == {}, f"offline modules import nodes/: {reaching}"

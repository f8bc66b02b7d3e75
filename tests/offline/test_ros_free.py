"""``spatial_vqa_ros.offline`` and ``spatial_vqa_ros.core`` import without ROS (no rclpy).

Each check imports every module of a package in a fresh interpreter, with a
meta-path hook that records any attempt to import rclpy (even one guarded by
``try: ... except ImportError``, and even where rclpy is not installed), and then
looks at ``sys.modules`` too. The control test shows the probe does catch one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROS_FREE = ("spatial_vqa_ros.offline", "spatial_vqa_ros.core")

#: Imports the packages named in argv and all their modules; prints what happened.
PROBE = """
import importlib, json, pkgutil, sys

attempts = []
current = ["<start-up>"]


class Watch:  # records only: the import then proceeds (or fails) as usual
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "rclpy":
            attempts.append([current[0], name])
        return None


sys.meta_path.insert(0, Watch())
imported = []
for package in sys.argv[1:]:
    current[0] = package
    root = importlib.import_module(package)
    imported.append(package)
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), package + "."):
        current[0] = info.name
        importlib.import_module(info.name)
        imported.append(info.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "rclpy")
print(json.dumps({"imported": imported, "attempts": attempts, "loaded": loaded}))
"""


def _probe(*packages: str, pythonpath: Path | None = None) -> dict:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(pythonpath), *filter(None, [env.get("PYTHONPATH")])])
    result = subprocess.run([sys.executable, "-c", PROBE, *packages], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"importing {packages} failed:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("package", ROS_FREE)
def test_every_module_imports_without_rclpy(package: str) -> None:
    report = _probe(package)
    modules = report["imported"]
    assert modules[0] == package and len(modules) > 1, modules  # it did walk the package
    assert report["attempts"] == [], (
        f"these modules of {package} import rclpy (module, import): {report['attempts']}; "
        "ROS code belongs in spatial_vqa_ros.nodes")
    assert report["loaded"] == [], f"rclpy in sys.modules after importing {package}"


def test_expected_modules_are_walked() -> None:
    modules = set(_probe("spatial_vqa_ros.offline")["imported"])
    assert {"spatial_vqa_ros.offline.scenes",
            "spatial_vqa_ros.offline.bag2dataset",
            "spatial_vqa_ros.offline.bag2dataset.engines",
            "spatial_vqa_ros.offline.bag2dataset.sources"} <= modules


def test_the_probe_catches_an_rclpy_import(tmp_path: Path) -> None:
    package = tmp_path / "uses_ros"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text('"""A package that is not ROS-free."""\n')
    (package / "inner" / "__init__.py").write_text("")
    (package / "inner" / "node.py").write_text(
        "try:\n    import rclpy  # noqa: F401\nexcept ImportError:\n    pass\n")
    report = _probe("uses_ros", pythonpath=tmp_path)
    assert "uses_ros.inner.node" in report["imported"]
    assert ["uses_ros.inner.node", "rclpy"] in report["attempts"]

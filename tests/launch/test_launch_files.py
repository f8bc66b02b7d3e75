"""Launch files and the parameter YAML agree with the node.

`launch`/`launch_ros` are not installable from PyPI: where they exist (a ROS install)
the launch descriptions are built for real; everywhere the files are checked
statically against the node's declared parameters and the package's executables.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from spatial_vqa_ros.nodes.config import SpatialNodeConfig

REPO = Path(__file__).resolve().parents[2]
LAUNCH = REPO / "launch"


def _node_parameters() -> dict[str, object]:
    """The node's parameters and their ROS defaults, from the node's config class."""
    return SpatialNodeConfig.ros_defaults()


def test_config_yaml_documents_exactly_the_node_parameters():
    config = yaml.safe_load((REPO / "config/spatial_vqa.yaml").read_text())
    params = config["spatial_vqa"]["ros__parameters"]
    declared = _node_parameters()
    assert set(params) == set(declared)
    for name, value in params.items():
        assert type(value) is type(declared[name]), name  # ROS parameters are typed
        assert value == declared[name], f"{name}: YAML {value!r} vs node {declared[name]!r}"


def test_every_yaml_parameter_has_a_comment():
    lines = (REPO / "config/spatial_vqa.yaml").read_text().splitlines()
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and ":" in stripped and \
                not stripped.endswith(":") and line.startswith("    "):
            assert "#" in line, f"undocumented parameter line: {line!r}"


def _calls(path: Path, name: str) -> list[ast.Call]:
    tree = ast.parse(path.read_text())
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", None)) == name]


def test_spatial_launch_runs_the_node_with_camera_topics_as_parameters():
    path = LAUNCH / "spatial_vqa.launch.py"
    (node,) = _calls(path, "Node")
    keywords = {k.arg: k.value for k in node.keywords}
    assert ast.literal_eval(keywords["package"]) == "spatial_vqa_ros"
    assert ast.literal_eval(keywords["executable"]) == "spatial-vqa"
    assert ast.literal_eval(keywords["arguments"]) == ["node"]
    assert ast.literal_eval(keywords["name"]) == "spatial_vqa"
    tree = ast.parse(path.read_text())
    topics = next(ast.literal_eval(n.value) for n in ast.walk(tree)
                  if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") ==
                  "CAMERA_TOPICS")
    declared = _node_parameters()
    for param, suffix in topics.items():
        assert param in declared
        assert declared[param].endswith(suffix), (param, declared[param], suffix)
    arguments = {ast.literal_eval(c.args[0]) for c in _calls(path, "DeclareLaunchArgument")}
    assert arguments == {"camera", "params_file", "detector", "segmenter", "namespace", "qos"}


def test_demo_launch_plays_a_bag_into_the_spatial_launch():
    path = LAUNCH / "demo.launch.py"
    text = path.read_text()
    assert "spatial_vqa.launch.py" in text
    (process,) = _calls(path, "ExecuteProcess")
    cmd = next(k.value for k in process.keywords if k.arg == "cmd")
    words = [ast.literal_eval(e) for e in cmd.elts if isinstance(e, ast.Constant)]
    assert words[:5] == ["ros2", "run", "spatial_vqa_ros", "spatial-vqa", "play"]
    assert "--loop" in words


def test_installed_executable_is_the_cli():
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert "install(PROGRAMS scripts/spatial-vqa DESTINATION lib/${PROJECT_NAME})" in cmake
    assert "install(DIRECTORY launch config" in cmake
    assert "from spatial_vqa_ros.cli import main" in (REPO / "scripts/spatial-vqa").read_text()


@pytest.mark.parametrize("name", ["spatial_vqa.launch.py", "demo.launch.py"])
def test_launch_descriptions_build_where_launch_is_installed(name, monkeypatch):
    pytest.importorskip("launch_ros", reason="launch_ros is not installed (not on PyPI)")
    import importlib.util

    import ament_index_python.packages as index

    monkeypatch.setattr(index, "get_package_share_directory", lambda _: str(REPO))
    spec = importlib.util.spec_from_file_location("launch_file", LAUNCH / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    assert description.entities

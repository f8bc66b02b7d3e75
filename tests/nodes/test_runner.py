"""Starting a node (nodes/runner.run_node): a parameter of the wrong type, or weights
that cannot be loaded, stop it with status 2 and one line naming what was wrong."""

from __future__ import annotations

import subprocess

import pytest

pytest.importorskip("rclpy")

from ros_support import node_command


def start(*ros_args: str) -> subprocess.CompletedProcess:
    return subprocess.run(node_command("-r", "__ns:=/runner_test", *ros_args),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("param,expected", [("max_pixels:=abc", "INTEGER"),
                                            ("sync_slop_s:=fast", "DOUBLE")])
def test_a_parameter_of_the_wrong_type_exits_2_naming_it(param, expected):
    result = start("-p", param)
    assert result.returncode == 2, result.stdout + result.stderr
    name, _, value = param.partition(":=")
    assert f"spatial_vqa: Trying to set parameter '{name}' to '{value}'" in result.stderr
    assert f"expecting type '{expected}'" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_corrupt_snapshot_stops_the_node_naming_the_pull(tmp_path):
    directory = tmp_path / "owlv2_base_ensemble"
    directory.mkdir()
    (directory / "config.json").write_text("[]")
    (directory / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    result = start("-p", "detector:=owlv2", "-p", "detector_model:=owlv2_base_ensemble",
                   "-p", f"models_dir:={tmp_path}", "-p", "segmenter:=depth_box",
                   "-p", "perception_device:=cpu")
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"the snapshot at {directory} is corrupt (config.json holds a list, not a JSON "
            "object): run 'spatial-vqa models pull owlv2_base_ensemble' again"
            in result.stderr)
    assert "Traceback" not in result.stdout + result.stderr

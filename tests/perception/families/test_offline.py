"""Nothing downloads at run time and no remote code runs: every family loads from its
local snapshot and runs through the chain with every socket connection refused (and
HF_HUB_OFFLINE unset, so the libraries' own offline switch is not what saves us); no
call in the package ever passes ``trust_remote_code`` other than False."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import spatial_vqa_ros
from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain
from spatial_vqa_ros.perception.types import SensorInputs
from spatial_vqa_ros.synthetic.scoring import render_case


@pytest.fixture
def no_network(monkeypatch):
    """Every outbound connection and name lookup raises (and is recorded)."""
    attempts: list[str] = []

    def refuse(what):
        def blocked(*args, **kwargs):
            attempts.append(f"{what}{args[1:] if what.startswith('socket.') else args}")
            raise OSError(f"network blocked by the test: {what}")
        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    return attempts


def rendered_inputs() -> tuple[SensorInputs, list[str]]:
    _, rendered, _ = render_case(0)
    labels = sorted(set(rendered.id_to_label.values()))
    return SensorInputs(rendered.rgb, rendered.camera, rendered.depth_m), labels


@pytest.mark.parametrize("families", [("depth_anything", "sam"), ("depth_pro", "sam2")])
def test_every_family_loads_and_runs_with_the_network_blocked(
        request, no_network, owlv2_dir, families):
    depth, segmenter = families
    depth_dir = request.getfixturevalue("da_metric_dir" if depth == "depth_anything"
                                        else "depth_pro_dir")
    segmenter_dir = request.getfixturevalue(f"{segmenter}_dir")
    spec = PerceptionSpec(depth_estimator=depth, depth_model=str(depth_dir), detector="owlv2",
                          detector_model=str(owlv2_dir), segmenter=segmenter,
                          segmenter_model=str(segmenter_dir), detector_score_threshold=0.01)
    inputs, labels = rendered_inputs()
    result = build_chain(spec).run(inputs, labels)
    assert result.capture.depth_m.shape == inputs.rgb.shape[:2]
    assert len(result.detections) > 0
    assert result.observations.masks.shape[0] == len(result.detections)
    assert np.isfinite(result.capture.depth_m).any()
    assert no_network == [], f"network attempted: {no_network[:3]}"


def test_the_block_itself_works(no_network):
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

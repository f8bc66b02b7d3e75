"""Hints about weights: every `spatial-vqa models pull NAME` the package can print names
an entry of the model registry (config/models.yaml), whatever directory it is about."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import spatial_vqa_ros
from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.models.registry import load_registry
from spatial_vqa_ros.perception.models.snapshots import (
    choose_hint,
    corrupt_snapshot,
    pull_hint,
)

PACKAGE = Path(spatial_vqa_ros.__file__).parent
PULL = re.compile(r"models\s+pull\b", re.IGNORECASE)
NAMED = re.compile(r"models pull (\S+?)'")
#: The family modules (each names its checkpoints in its messages).
FAMILIES = ("clip", "depth_anything", "depth_pro", "florence2", "grounding_dino", "owlv2",
            "sam", "sam2")


def checkpoints_of(family: str) -> tuple[str, ...]:
    module = importlib.import_module(f"spatial_vqa_ros.perception.families.{family}.adapter")
    if hasattr(module, "HUB_ID"):
        return (module.HUB_ID,)
    return tuple(module.MODEL_TYPES.values())  # depth_anything: a checkpoint per model type


def pulled_names(text: str) -> list[str]:
    names = NAMED.findall(text)
    assert names, f"no pull named in {text!r}"
    return names


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants of a module, its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def test_every_pull_hint_of_the_package_is_written_in_one_module():
    """A string (not a docstring) saying `models pull` anywhere else could name a family
    or a directory instead of a registry entry, as "models pull sam" did."""
    writers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = docstrings(tree)
        writers += [f"{path.relative_to(PACKAGE)}:{node.lineno}" for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in skip and PULL.search(node.value)]
    assert writers and all(w.startswith("perception/models/snapshots.py:") for w in writers), \
        writers


def test_every_family_and_its_checkpoints_are_in_the_registry():
    registry = load_registry()
    families = {entry.family for entry in registry.entries.values()}
    checkpoints = {entry.checkpoint for entry in registry.entries.values()}
    for family in FAMILIES:
        assert family in families
        assert set(checkpoints_of(family)) <= checkpoints, family


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("directory", ["nowhere", "sam", "depth_anything", "sam_vit_base",
                                       "models/owlv2_base_ensemble"])
def test_each_hint_names_a_registry_entry_whatever_the_directory(family, directory):
    registry = load_registry()
    path = Path("/robot") / directory
    texts = [pull_hint(path, checkpoints=checkpoints_of(family)),
             pull_hint(path, family=family, again=True),
             str(corrupt_snapshot(path, ValueError("bad"), checkpoints=checkpoints_of(family))),
             choose_hint(family, "--x-model")]
    for text in texts:
        for name in pulled_names(text):
            assert name in registry.entries, text
    if path.name in registry.entries:  # a registered directory is pulled by its own name
        assert pulled_names(texts[0]) == [path.name]
    else:
        assert registry.get(pulled_names(texts[0])[0]).family == family


@pytest.mark.parametrize("family,cls", [
    ("clip", "ClipTagger"), ("depth_anything", "DepthAnythingDepth"),
    ("depth_pro", "DepthProDepth"), ("florence2", "Florence2Vocabulary"),
    ("grounding_dino", "GroundingDinoDetector"), ("owlv2", "Owlv2Detector"),
    ("sam", "SamSegmenter"), ("sam2", "Sam2Segmenter"),
    ("depth_anything_onnx", "DepthAnythingOnnxDepth"), ("depth_pro_onnx", "DepthProOnnxDepth"),
    ("sam_onnx", "SamOnnxSegmenter"), ("sam2_onnx", "Sam2OnnxSegmenter"),
])
def test_a_family_without_its_snapshot_names_a_registered_pull(tmp_path, family, cls):
    pytest.importorskip("transformers")
    module = family.replace("_onnx", ".onnx_adapter") if family.endswith("_onnx") \
        else f"{family}.adapter"
    adapter = getattr(importlib.import_module(
        f"spatial_vqa_ros.perception.families.{module}"), cls)
    args = (tmp_path / "onnx",) if family.endswith("_onnx") else ()
    with pytest.raises(PerceptionError, match="models pull") as raised:
        adapter.from_pretrained(tmp_path / family.removesuffix("_onnx"), *args)
    registry = load_registry()
    for name in pulled_names(str(raised.value)):
        assert registry.get(name).family == family.removesuffix("_onnx")

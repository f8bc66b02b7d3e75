"""What is generated from the descriptors is what ships: config/models.yaml, the README's
family table, the parameter YAML's comments and the CLI's help."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from spatial_vqa_ros.perception.families import descriptors, family_names
from spatial_vqa_ros.perception.families.catalog import (
    README_TABLE_HEADER,
    main,
    model_help,
    models_yaml,
    parameter_yaml,
    readme_family_table,
    role_choices,
    role_help,
)
from spatial_vqa_ros.perception.models.registry import load_registry

ROOT = Path(__file__).resolve().parents[3]
REGENERATE = "python -m spatial_vqa_ros.perception.families.catalog"


def test_the_shipped_models_yaml_is_the_one_the_descriptors_give():
    shipped = (ROOT / "config" / "models.yaml").read_text(encoding="utf-8")
    assert shipped == models_yaml(), f"regenerate it: {REGENERATE} models.yaml"


def test_the_registry_holds_every_checkpoint_of_every_descriptor(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(models_yaml(), encoding="utf-8")
    registry = load_registry(path)
    expected = {c.name: (d.name, c.hub_id, c.role, c.licence)
                for d in descriptors().values() for c in d.checkpoints}
    assert {name: (e.family, e.checkpoint, e.role, e.licence)
            for name, e in registry.entries.items()} == expected
    assert registry.get("sam3_tracker").licence == "sam-license"


def test_the_readme_family_table_is_the_one_the_descriptors_give():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(README_TABLE_HEADER)
    shipped = readme[start:readme.index("\n\n", start) + 1]
    assert shipped == readme_family_table(), f"regenerate it: {REGENERATE} readme-table"
    assert "| tracker | `depth_flow`, `sam2_video`, `sam3_tracker` |" in shipped


def test_the_parameter_yaml_comments_list_each_roles_families():
    text = (ROOT / "config" / "spatial_vqa.yaml").read_text(encoding="utf-8")
    every = set(descriptors())
    for role, parameter in (("depth", "depth_estimator"), ("detector", "detector"),
                            ("segmenter", "segmenter"), ("tracker", "tracker")):
        line = re.search(rf"^\s+{parameter}: \S+\s+#(.*)$", text, re.M)
        assert line, parameter
        named = set(re.findall(r"\w+", line.group(1))) & every
        assert named == set(family_names(role)), (parameter, line.group(1))


def test_the_parameter_yaml_family_comments_are_the_generated_ones():
    shipped = (ROOT / "config" / "spatial_vqa.yaml").read_text(encoding="utf-8")
    assert shipped == parameter_yaml(shipped), (
        f"regenerate them: {REGENERATE} spatial_vqa.yaml < config/spatial_vqa.yaml")


def test_regenerating_the_parameter_yaml_rewrites_only_the_family_lists():
    text = ("x:\n  detector: owlv2                # old list\n"
            "  tracker: depth_flow              # tracked: old\n  labels: [a]  # kept\n")
    assert parameter_yaml(text) == (
        f"x:\n  detector: owlv2                # {role_choices('detector')}\n"
        f"  tracker: depth_flow              # tracked: {role_choices('tracker')}\n"
        "  labels: [a]  # kept\n")
    assert "owlvit" in role_choices("detector")


def test_the_cli_help_lists_each_roles_families(capsys):
    from spatial_vqa_ros.cli import main as cli

    with contextlib.suppress(SystemExit):
        cli(["perceive", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for role in ("depth", "detector", "segmenter"):
        assert " ".join(role_help(role).split()) in shown
    assert role_help("depth").startswith("sensor (the depth topic as it is), depth_anything")
    assert model_help("segmenter") == "sam, sam2"
    assert role_choices("depth") == "sensor, depth_anything or depth_pro"


def test_the_catalog_prints_what_it_is_asked_for_and_refuses_the_rest(capsys):
    assert main(["models.yaml"]) == 0
    assert capsys.readouterr().out == models_yaml()
    assert main(["nothing"]) == 2
    assert "usage:" in capsys.readouterr().err

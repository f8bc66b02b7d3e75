"""Family descriptors: one per family folder, found by name, light to import, and
checked for contradictions when written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spatial_vqa_ros.perception import factories, families
from spatial_vqa_ros.perception.families import descriptors, family_names
from spatial_vqa_ros.perception.families.descriptor import (
    CHAIN_ROLES,
    Checkpoint,
    DescriptorError,
    ExportSpec,
    FamilyDescriptor,
)

HEAVY = ("torch", "transformers", "onnxruntime", "onnx", "cv2")


def test_importing_every_descriptor_imports_no_model_library():
    code = ("import sys\n"
            "from spatial_vqa_ros.perception.families import descriptors\n"
            "from spatial_vqa_ros.perception.families import catalog\n"
            "import spatial_vqa_ros.perception.factories\n"
            "found = descriptors()\n"
            "catalog.models_yaml(); catalog.readme_family_table()\n"
            f"print(len(found), [m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split(maxsplit=1)
    assert int(out[0]) == len(descriptors()) >= 15
    assert out[1].strip() == "[]"


def test_every_family_folder_has_a_descriptor_named_as_the_folder():
    found = descriptors()
    folders = {path.parent.name for path in
               Path(families.__file__).parent.glob("*/__init__.py")}
    assert set(found) == folders  # a new folder is found with no list to edit
    assert {"sensor", "simulation", "opencv_dnn", "depth_box", "depth_anything", "depth_pro",
            "owlv2", "owlvit", "grounding_dino", "sam", "sam2", "clip", "florence2",
            "depth_flow", "sam2_video", "sam3_tracker"} <= set(found)
    for name, descriptor in found.items():
        assert descriptor.name == name
        assert descriptor.package == f"spatial_vqa_ros.perception.families.{name}"


def test_the_factory_tables_are_the_descriptors_roles():
    for role, table in factories.TABLES.items():
        assert tuple(table) == family_names(role)
    assert "tracker" in descriptors()["sam3_tracker"].roles
    assert set(descriptors()["simulation"].roles) == {"detector", "segmenter"}


@pytest.mark.parametrize("name", sorted(descriptors()))
def test_each_descriptor_names_classes_that_import(name):
    """The class paths are strings until a family is built: each must resolve."""
    pytest.importorskip("numpy")
    descriptor = descriptors()[name]
    for role in descriptor.roles:
        assert isinstance(descriptor.adapter_class(role), type), role
    if descriptor.export is not None:
        assert isinstance(descriptor.resolve(descriptor.export.adapter), type)
        assert callable(descriptor.resolve(descriptor.export.exporter))
        assert descriptor.export.graphs
    if descriptor.factory:
        assert callable(descriptor.resolve(descriptor.factory))


def test_families_with_checkpoints_fill_chain_roles_through_a_model_field():
    for descriptor in descriptors().values():
        for checkpoint in descriptor.checkpoints:
            assert checkpoint.role in descriptor.roles
            assert "/" in checkpoint.hub_id and checkpoint.licence
        if set(descriptor.roles) & set(CHAIN_ROLES) and descriptor.checkpoints:
            assert descriptor.model_field in {f.name for f in
                                              factories.PerceptionSpec.__dataclass_fields__
                                              .values()}


def describe(**changes):
    values = {"name": "mine", "package": __name__, "summary": "s",
              "adapters": {"detector": ".adapter:Mine"}} | changes
    return FamilyDescriptor(**values)


def test_a_descriptor_that_contradicts_itself_is_refused():
    with pytest.raises(DescriptorError, match="must be an identifier"):
        describe(name="my-family")
    with pytest.raises(DescriptorError, match="roles must be some of"):
        describe(adapters={"classifier": ".adapter:Mine"})
    with pytest.raises(DescriptorError, match="roles must be some of"):
        describe(adapters={})
    with pytest.raises(DescriptorError, match="'adapter.Mine' is not 'module:name'"):
        describe(adapters={"detector": "adapter.Mine"})
    with pytest.raises(DescriptorError, match="for role 'depth', which the family does not"):
        describe(model_field="detector_model",
                 checkpoints=(Checkpoint("m", "o/m", "mit", "depth"),))
    with pytest.raises(DescriptorError, match="has checkpoints but no model_field"):
        describe(checkpoints=(Checkpoint("m", "o/m", "mit", "detector"),))
    with pytest.raises(DescriptorError, match="'nope' is not 'module:name'"):
        describe(export=ExportSpec(graphs=("model.onnx",), adapter="nope"))


def test_a_descriptor_is_frozen_and_its_adapters_cannot_be_edited():
    descriptor = describe()
    with pytest.raises(AttributeError):
        descriptor.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        descriptor.adapters["depth"] = ".x:Y"  # type: ignore[index]


def test_an_unknown_role_is_refused_by_name():
    with pytest.raises(DescriptorError, match="role must be one of"):
        family_names("classifier")

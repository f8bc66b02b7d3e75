"""Perception presets: each names registered checkpoints of the families it uses, fills
the spec with what was not given beside it, and loads and runs through the chain from a
models directory of tiny random snapshots of the same classes, named as the registry
names them (the released weights are too large for a test; ``bench_families --preset``
times them at real size)."""

from __future__ import annotations

import argparse
import shutil

import numpy as np
import pytest

from spatial_vqa_ros.commands.perception_options import add_perception_options, spec_from
from spatial_vqa_ros.perception.factories import PerceptionSpec
from spatial_vqa_ros.perception.families import descriptors
from spatial_vqa_ros.perception.families.presets import (
    PRESET_FIELDS,
    PRESETS,
    Preset,
    family_options,
    get_preset,
    resolve,
)
from spatial_vqa_ros.perception.models.registry import load_registry

ROLE_OF = {"depth_estimator": ("depth_model", "depth"), "detector": ("detector_model",
                                                                     "detector"),
           "segmenter": ("segmenter_model", "segmenter")}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_names_registered_checkpoints_of_its_families(name):
    preset, registry = get_preset(name), load_registry()
    assert set(preset.fields) == set(PRESET_FIELDS)
    for family_field, (model_field, role) in ROLE_OF.items():
        family, model = preset.fields[family_field], preset.fields[model_field]
        entry = registry.get(model)
        assert (entry.family, entry.role) == (family, role), (name, model)
        assert role in descriptors()[family].roles
        if preset.fields["perception_runtime"] != "torch":
            assert descriptors()[family].export is not None, (name, family)
    assert set(preset.family_options) <= {preset.fields[f] for f in ROLE_OF}
    assert set(preset.onnxruntime_options) <= {preset.fields[f] for f in ROLE_OF}
    PerceptionSpec(**preset.fields, perception_preset=name)  # a valid spec


def test_the_cpu_preset_runs_on_onnx_runtime_on_the_cpu_and_the_gpu_ones_on_cuda():
    assert {n: (p.fields["perception_runtime"], p.fields["perception_device"])
            for n, p in PRESETS.items()} == {"cpu_light": ("onnxruntime", "cpu"),
                                             "gpu_fast": ("torch", "cuda"),
                                             "gpu_quality": ("torch", "cuda")}
    light = PRESETS["cpu_light"].fields
    assert (light["detector_model"], light["segmenter_model"]) == ("owlvit_base_patch32",
                                                                   "slimsam_50_uniform")


def test_fields_given_beside_a_preset_win_and_no_preset_changes_nothing():
    values = {"detector": "owlv2", "detector_model": "mine", "models_dir": "/m"}
    resolved = resolve("cpu_light", values, explicit={"detector", "detector_model"})
    assert resolved["detector"] == "owlv2" and resolved["detector_model"] == "mine"
    assert resolved["segmenter_model"] == "slimsam_50_uniform" and resolved["models_dir"] == "/m"
    assert resolve("", values, explicit=()) == values


def test_an_unknown_preset_is_refused_naming_the_presets():
    with pytest.raises(ValueError, match=r"perception_preset must be one of \['cpu_light', "
                       r"'gpu_fast', 'gpu_quality'\] or '' \(none\), got 'fast'"):
        PerceptionSpec(perception_preset="fast")
    with pytest.raises(ValueError, match="sets \\['labels'\\], which presets do not set"):
        Preset("x", "x", {"labels": "a"})


def test_a_presets_family_options_apply_only_to_its_own_checkpoint():
    light = dict(PRESETS["cpu_light"].fields)
    assert family_options("cpu_light", "depth_anything", light) == {"input_size": 252}
    other = {**light, "depth_model": "prompt_depth_anything_vits"}
    assert family_options("cpu_light", "depth_anything", other) == {}
    assert family_options("", "depth_anything", light) == {}
    # int8 graphs only on ONNX Runtime; the input size is the model's, on every runtime
    assert family_options("cpu_light", "owlvit", light) == {"precision": "int8"}
    assert family_options("cpu_light", "sam", light) == {"input_size": 512,
                                                          "precision": "int8"}
    on_torch = {**light, "perception_runtime": "torch"}
    assert family_options("cpu_light", "owlvit", on_torch) == {}
    assert family_options("cpu_light", "sam", on_torch) == {"input_size": 512}
    assert family_options("cpu_light", "sam", {**light, "segmenter_model": "sam_vit_base"}) \
        == {}


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_perception_options(parser, detector="opencv_dnn", segmenter="depth_box")
    return parser.parse_args(list(argv))


def test_the_preset_flag_fills_the_spec_and_options_given_beside_it_win():
    spec = spec_from(parse("--preset", "gpu_fast"))
    assert (spec.detector, spec.detector_model, spec.segmenter, spec.perception_device) == (
        "owlvit", "owlvit_base_patch16", "sam2", "cuda")
    assert spec.perception_preset == "gpu_fast"
    # given beside it, even when equal to the option's default, wins
    spec = spec_from(parse("--preset", "gpu_fast", "--perception-device", "auto",
                           "--segmenter", "depth_box", "--device", "cpu"))
    assert (spec.perception_device, spec.segmenter, spec.segmenter_model) == (
        "cpu", "depth_box", "sam2_hiera_tiny")
    # without a preset, the command's own defaults stand
    assert spec_from(parse()).detector == "opencv_dnn"


def test_the_preset_flag_is_in_the_help_saying_that_given_options_win(capsys):
    with pytest.raises(SystemExit):
        parse("--help")
    shown = " ".join(capsys.readouterr().out.split())
    assert "--preset NAME, --perception-preset NAME" in shown
    assert "any of those given beside it wins" in shown and "cpu_light: OWL-ViT B/32" in shown


# --- each preset loads and runs through the chain from tiny snapshots ---------------

@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, request):
    """Every checkpoint the presets name, as a tiny random snapshot of the same class
    (the conftest fixture named beside it)."""
    transformers = pytest.importorskip("transformers")
    from test_grounding_dino import save_tiny, tiny_config

    root = tmp_path_factory.mktemp("preset-models")
    sources = {"depth_anything_v2_metric_indoor_small": "da_metric_dir",
               "owlvit_base_patch32": "owlvit_dir", "owlvit_base_patch16": "owlvit_dir",
               "slimsam_50_uniform": "slimsam_dir", "sam2_hiera_tiny": "sam2_dir",
               "sam2_hiera_large": "sam2_dir", "depth_pro": "depth_pro_dir"}
    for name, fixture in sources.items():
        shutil.copytree(request.getfixturevalue(fixture), root / name)
    save_tiny(root / "mm_grounding_dino_tiny", transformers.MMGroundingDinoForObjectDetection(
        tiny_config(transformers.MMGroundingDinoConfig)))
    return root


def rendered():
    from spatial_vqa_ros.perception.types import SensorInputs
    from spatial_vqa_ros.synthetic.scoring import render_case

    _, frame, _ = render_case(0)
    return SensorInputs(frame.rgb, frame.camera), sorted(set(frame.id_to_label.values()))


def run_preset(spec):
    from spatial_vqa_ros.perception.factories import build_chain

    chain = build_chain(spec)
    inputs, labels = rendered()
    result = chain.run(inputs, labels)
    assert result.depth.depth_m.shape == inputs.size_hw
    assert np.isfinite(result.depth.depth_m).any()  # random weights: some depth <= 0
    assert len(result.detections) > 0 and set(result.detections.labels) <= set(labels)
    assert result.observations.segmentation.shape == inputs.size_hw
    return chain


@pytest.mark.parametrize("name", ["gpu_fast", "gpu_quality"])
def test_a_gpu_preset_loads_its_families_and_runs_the_chain_on_the_cpu_when_told(
        name, models_dir):
    pytest.importorskip("torch")
    spec = spec_from(parse("--preset", name, "--perception-device", "cpu", "--models-dir",
                           str(models_dir)))
    chain = run_preset(spec)
    preset = PRESETS[name].fields
    for role, family_field in (("depth", "depth_estimator"), ("detector", "detector"),
                               ("segmenter", "segmenter")):
        adapter = getattr(chain, role)
        assert type(adapter) is descriptors()[preset[family_field]].adapter_class(role)


def test_cpu_light_loads_the_onnx_runtime_adapters_with_depth_at_its_reduced_size(
        models_dir, tmp_path):
    pytest.importorskip("onnxruntime")
    from spatial_vqa_ros.cli import main

    light = PRESETS["cpu_light"].fields
    directory = tmp_path / "models"
    shutil.copytree(models_dir, directory)
    names = [light[model] for model, _ in ROLE_OF.values()]
    assert main(["models", "export", *names, "--preset", "cpu_light", "--size", "640x480",
                 "--models-dir", str(directory)]) == 0
    chain = run_preset(spec_from(parse("--preset", "cpu_light", "--models-dir",
                                       str(directory))))
    for role, field_name in (("depth", "depth_estimator"), ("detector", "detector"),
                             ("segmenter", "segmenter")):
        descriptor = descriptors()[light[field_name]]
        assert type(getattr(chain, role)) is descriptor.resolve(descriptor.export.adapter)
    assert chain.depth.processor.size == {"height": 252, "width": 252}
    assert chain.depth.record["input_size_hw"][0] == 252  # the short side, as exported
    assert chain.segmenter.record["pixel_size_hw"] == [512, 512]  # SAM at 512 px
    assert chain.segmenter.name.endswith("@512px@onnxruntime:CPUExecutionProvider:int8")
    assert chain.segmenter.model.encoder.path.name == "image_encoder.int8.onnx"
    assert chain.detector.name.endswith(":int8")
    assert chain.detector.session.path.name == "model.int8.onnx"
    assert not chain.depth.name.endswith(":int8")  # depth runs its float graph


def test_a_depth_export_made_without_the_preset_is_refused_by_cpu_light(models_dir, tmp_path):
    pytest.importorskip("onnxruntime")
    from spatial_vqa_ros.cli import main
    from spatial_vqa_ros.perception.errors import PerceptionError
    from spatial_vqa_ros.perception.factories import build_chain

    name = PRESETS["cpu_light"].fields["depth_model"]
    shutil.copytree(models_dir / name, tmp_path / name)
    assert main(["models", "export", name, "--size", "640x480",
                 "--models-dir", str(tmp_path)]) == 0  # at the checkpoint's own 518
    depth = build_chain(PerceptionSpec(
        depth_estimator="depth_anything", depth_model=name, models_dir=str(tmp_path),
        perception_runtime="onnxruntime", perception_device="cpu",
        perception_preset="cpu_light")).depth
    with pytest.raises(PerceptionError, match="model input, the ONNX model .* takes .*export "
                       "again"):
        depth.estimate(rendered()[0])

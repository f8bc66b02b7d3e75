"""Perception presets: a whole chain (families, checkpoints, runtime, device) by one name,
from a light CPU chain to GPU quality.

Why: choosing four families, three checkpoints, a runtime and a device that go well
together takes knowing every family; a preset is that choice made once, and is one
parameter (``perception_preset``) or one flag (``--preset``). A preset fills the
perception spec's fields; every field given beside it wins (:func:`resolve`). A preset
may also carry options for one of its families (``family_options``: Depth Anything's
and SAM's reduced input sizes in ``cpu_light``), and options that apply only on ONNX
Runtime (``onnxruntime_options``: ``cpu_light``'s int8 graphs); they apply only while
that family runs the preset's own checkpoint, so an explicit model beside the preset
gets its defaults.

Every preset uses only models that load here without timm or torchvision, by their
registry names (``config/models.yaml``, pulled with ``spatial-vqa models pull``).
Importing this module imports no model library.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: What a preset fills: the spec's families, checkpoints, runtime and device.
PRESET_FIELDS = ("depth_estimator", "depth_model", "detector", "detector_model",
                 "segmenter", "segmenter_model", "perception_runtime", "perception_device")
#: The role field naming each family's model (the preset's options follow its model).
_MODEL_OF = {"depth_estimator": "depth_model", "detector": "detector_model",
             "segmenter": "segmenter_model"}


@dataclass(frozen=True)
class Preset:
    """One preset. ``fields``: spec field -> value (a subset of :data:`PRESET_FIELDS`);
    ``family_options``: family -> options its adapter is built with, while it runs the
    preset's checkpoint; ``summary``: a line for ``--help`` and the README."""

    name: str
    summary: str
    fields: Mapping[str, Any]
    family_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: family -> options added while the chain runs on ONNX Runtime (cpu_light's int8
    #: graphs: the torch and TensorRT paths have no such option).
    onnxruntime_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.fields) - set(PRESET_FIELDS)
        if unknown:
            raise ValueError(f"preset {self.name} sets {sorted(unknown)}, which presets do "
                             f"not set (they set {', '.join(PRESET_FIELDS)})")
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        for name in ("family_options", "onnxruntime_options"):
            object.__setattr__(self, name, MappingProxyType(
                {k: MappingProxyType(dict(v)) for k, v in getattr(self, name).items()}))


#: Depth Anything's short side in cpu_light: 252 px (18 patches of 14) instead of 518,
#: about 4x fewer pixels through its ViT-S.
CPU_LIGHT_DEPTH_INPUT = 252
#: SAM's input in cpu_light: 512 px instead of 1024, a quarter of the tokens through its
#: global attention, which is most of its encoder's time on a CPU (``sam.input_size``).
CPU_LIGHT_SAM_INPUT = 512

PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in (
    Preset("cpu_light",
           "OWL-ViT B/32 (int8) + SlimSAM-50 (SamModel) at "
           f"{CPU_LIGHT_SAM_INPUT} px (int8 encoder) + Depth Anything V2 metric Small at "
           f"{CPU_LIGHT_DEPTH_INPUT} px, on ONNX Runtime, CPU",
           {"depth_estimator": "depth_anything",
            "depth_model": "depth_anything_v2_metric_indoor_small",
            "detector": "owlvit", "detector_model": "owlvit_base_patch32",
            "segmenter": "sam", "segmenter_model": "slimsam_50_uniform",
            "perception_runtime": "onnxruntime", "perception_device": "cpu"},
           {"depth_anything": {"input_size": CPU_LIGHT_DEPTH_INPUT},
            "sam": {"input_size": CPU_LIGHT_SAM_INPUT}},
           {"owlvit": {"precision": "int8"}, "sam": {"precision": "int8"}}),
    Preset("gpu_fast",
           "Depth Anything V2 metric Small + OWL-ViT B/16 + SAM2.1 tiny, torch, CUDA",
           {"depth_estimator": "depth_anything",
            "depth_model": "depth_anything_v2_metric_indoor_small",
            "detector": "owlvit", "detector_model": "owlvit_base_patch16",
            "segmenter": "sam2", "segmenter_model": "sam2_hiera_tiny",
            "perception_runtime": "torch", "perception_device": "cuda"}),
    Preset("gpu_quality",
           "Depth Pro + MM Grounding DINO tiny + SAM2.1 large, torch, CUDA (Depth Pro's "
           "weights: research use only)",
           {"depth_estimator": "depth_pro", "depth_model": "depth_pro",
            "detector": "grounding_dino", "detector_model": "mm_grounding_dino_tiny",
            "segmenter": "sam2", "segmenter_model": "sam2_hiera_large",
            "perception_runtime": "torch", "perception_device": "cuda"}),
)})


def get_preset(name: str) -> Preset:
    """The preset called ``name``; ValueError listing the presets otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"perception_preset must be one of {sorted(PRESETS)} or '' (none), "
                         f"got {name!r}") from None


def resolve(name: str, values: Mapping[str, Any], explicit: Collection[str]) -> dict[str, Any]:
    """``values`` (spec fields) with the preset ``name`` filling every field it sets that
    is not in ``explicit`` (the fields the user gave: those win). ``name`` "" changes
    nothing."""
    if not name:
        return dict(values)
    preset = get_preset(name)
    return {**values, **{k: v for k, v in preset.fields.items() if k not in explicit}}


def family_options(name: str, family: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The options the preset ``name`` gives ``family``'s adapter, when the spec
    ``values`` run that family on the preset's own checkpoint; {} otherwise. On ONNX
    Runtime they include the preset's ``onnxruntime_options``."""
    options = export_options(name, family, values)
    if options is None:
        return {}
    if values.get("perception_runtime") == "onnxruntime":
        options.update(get_preset(name).onnxruntime_options.get(family, {}))
    return options


def export_options(name: str, family: str, values: Mapping[str, Any]
                   ) -> dict[str, Any] | None:
    """The options of the preset ``name`` that shape ``family``'s model (an input size:
    an export must be made with them), when ``values`` run that family on the preset's
    own checkpoint; None when they do not."""
    if not name:
        return None
    preset = get_preset(name)
    for role, model in _MODEL_OF.items():
        if values.get(role) == family == preset.fields.get(role) \
                and values.get(model) == preset.fields.get(model):
            return dict(preset.family_options.get(family, {}))
    return None


def preset_help() -> str:
    """The presets with their summaries, for ``--preset``'s help."""
    return "; ".join(f"{p.name}: {p.summary}" for p in PRESETS.values())


__all__ = ["PRESETS", "PRESET_FIELDS", "Preset", "export_options", "family_options",
           "get_preset",
           "preset_help", "resolve"]

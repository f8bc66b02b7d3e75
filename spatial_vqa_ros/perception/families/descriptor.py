"""What a model family is, in one value: :class:`FamilyDescriptor`.

Why: a family's facts (its roles, checkpoints and licences, its torch adapter, its ONNX
export and ONNX Runtime / TensorRT adapter, the words the CLI and README use for it)
used to be spread over the factory tables, the exporter tables, ``config/models.yaml``
and three hand-kept lists of names. Now each family folder
(``perception/families/<name>/__init__.py``) holds one ``DESCRIPTOR``, and everything
else reads the descriptors (:mod:`.catalog`).

A descriptor names its classes as ``"module:Class"`` strings, imported only when a
family is built: importing a descriptor imports no model library (torch,
transformers, onnxruntime, OpenCV).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

#: Every role a family may fill: the chain's seams, the tracker, and the offline
#: helpers (image tagging, per-image prompts from a caption).
ROLES = ("depth", "detector", "segmenter", "tracker", "tagger", "captioner")
#: The roles a :class:`~..factories.PerceptionSpec` chooses a family for.
CHAIN_ROLES = ("depth", "detector", "segmenter", "tracker")
#: The spec field that names the weights of each role's family.
MODEL_FIELDS = {"depth": "depth_model", "detector": "detector_model",
                "segmenter": "segmenter_model", "tracker": "tracker_model"}
_CLASS_PATH = re.compile(r"\.*[A-Za-z_][\w.]*:[A-Za-z_]\w*")


class DescriptorError(ValueError):
    """A descriptor that contradicts itself (a checkpoint of a role the family does not
    fill, a class path that is no ``module:Class``)."""


@dataclass(frozen=True)
class Checkpoint:
    """One registered model of a family: ``name`` is its name in the model registry
    (and its folder in the models directory), ``hub_id`` the Hugging Face repository
    of its weights, ``licence`` as their authors state it, ``role`` the role it is
    registered for, ``note`` the comment beside it in ``config/models.yaml``; ``gated``:
    the hub serves the weights only to accounts that accepted their licence, so pulling
    them needs a token (``HF_TOKEN``)."""

    name: str
    hub_id: str
    licence: str
    role: str
    note: str = ""
    gated: bool = False


@dataclass(frozen=True)
class ExportSpec:
    """How a family's ONNX graphs are made and run. ``graphs``: the files the exporter
    writes into ``<model>/onnx`` (``export.json`` besides); ``dynamic_inputs``: the
    inputs left dynamic, as "input: what varies"; ``sized``: the graphs are fixed to
    the camera size, so ``models export --size`` matters; ``exporter``:
    ``module:function`` called as ``export(model_dir, out_dir[, size_hw=(H, W)])``;
    ``adapter``: ``module:Class`` whose ``from_pretrained(model_dir, onnx_dir, ...)``
    runs the graphs on ONNX Runtime (and, with the native TensorRT provider, on
    TensorRT) without building the torch model; ``summary``: how it exports, for the
    README and ``models export --help``."""

    graphs: tuple[str, ...]
    adapter: str
    exporter: str = ".onnx_adapter:export"
    dynamic_inputs: tuple[str, ...] = ()
    sized: bool = False
    summary: str = ""


@dataclass(frozen=True)
class FamilyDescriptor:
    """One family. ``name``: what a spec, parameter or CLI option calls it;
    ``adapters``: role -> ``module:Class`` of its torch (or model-free) adapter, a
    module path starting with "." being inside the family's folder (``package``);
    ``summary``: a few words for ``--help`` and the parameter YAML; ``notes``: the
    README's sentence; ``model_field``: the spec field naming its weights ("" for a
    family without weights); ``thresholded``: it takes the spec's
    ``detector_score_threshold``; ``factory``: ``module:function(spec)`` when the
    family is built some other way than ``Class.from_pretrained(dir)`` or
    ``Class()``."""

    name: str
    adapters: Mapping[str, str]
    summary: str
    package: str
    notes: str = ""
    model_field: str = ""
    thresholded: bool = False
    checkpoints: tuple[Checkpoint, ...] = ()
    export: ExportSpec | None = None
    factory: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "adapters", MappingProxyType(dict(self.adapters)))
        if not self.name.isidentifier():
            raise DescriptorError(f"family name must be an identifier, got {self.name!r}")
        if not self.adapters or set(self.adapters) - set(ROLES):
            raise DescriptorError(f"family {self.name}: roles must be some of {ROLES}, got "
                                  f"{sorted(self.adapters)}")
        paths = [*self.adapters.values(), self.factory] + (
            [self.export.adapter, self.export.exporter] if self.export else [])
        for path in filter(None, paths):
            if not _CLASS_PATH.fullmatch(path):
                raise DescriptorError(f"family {self.name}: {path!r} is not 'module:name'")
        for checkpoint in self.checkpoints:
            if checkpoint.role not in self.adapters:
                raise DescriptorError(f"family {self.name}: checkpoint {checkpoint.name} is "
                                      f"for role {checkpoint.role!r}, which the family does "
                                      f"not fill ({', '.join(self.adapters)})")
        if self.checkpoints and not self.model_field:
            raise DescriptorError(f"family {self.name} has checkpoints but no model_field")

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.adapters)

    @property
    def hub_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.hub_id for c in self.checkpoints))

    def adapter_class(self, role: str) -> Any:
        """The torch (or model-free) adapter class of ``role``, imported now."""
        return self.resolve(self.adapters[role])

    def resolve(self, path: str) -> Any:
        """What ``module:name`` names, the module relative to the family's folder when
        it starts with "."."""
        module, _, name = path.partition(":")
        return getattr(importlib.import_module(module, self.package), name)


__all__ = ["CHAIN_ROLES", "MODEL_FIELDS", "ROLES", "Checkpoint", "DescriptorError",
           "ExportSpec", "FamilyDescriptor"]

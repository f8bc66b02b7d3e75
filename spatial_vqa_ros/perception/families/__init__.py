"""Model families behind the perception seams: one folder per family.

Each folder (``<name>/``) holds one :class:`~.descriptor.FamilyDescriptor` in its
``__init__.py`` (``DESCRIPTOR``) and the family's modules: ``adapter.py`` (torch, or no
model), ``onnx_adapter.py`` (ONNX export and ONNX Runtime / TensorRT) where it exports.
:func:`descriptors` finds them; the factory tables, the model registry, ``spatial-vqa
models``, the CLI's help and the README's family table read them (:mod:`.catalog`).

Adapters load from local directories only (weights never download at run time,
``trust_remote_code`` stays off). Importing this package, or any descriptor, imports no
model library: torch and transformers come when a family is loaded.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .descriptor import CHAIN_ROLES, ROLES, DescriptorError, FamilyDescriptor


@cache
def descriptors() -> dict[str, FamilyDescriptor]:
    """Every family folder's descriptor, by name: families without weights first (the
    defaults), then those with checkpoints, each group by name. DescriptorError for a folder whose
    ``__init__`` has no ``DESCRIPTOR`` or one named otherwise than the folder."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        descriptor = getattr(module, "DESCRIPTOR", None)
        if not isinstance(descriptor, FamilyDescriptor):
            raise DescriptorError(f"family folder {info.name}/ has no DESCRIPTOR in its "
                                  "__init__.py")
        if descriptor.name != info.name:
            raise DescriptorError(f"family folder {info.name}/ describes {descriptor.name!r}: "
                                  "a family's name is its folder's")
        found.append(descriptor)
    found.sort(key=lambda d: (bool(d.checkpoints), d.name))
    return {d.name: d for d in found}


def family_names(role: str) -> tuple[str, ...]:
    """The families that fill ``role``, in :func:`descriptors`' order."""
    if role not in ROLES:
        raise DescriptorError(f"role must be one of {ROLES}, got {role!r}")
    return tuple(name for name, d in descriptors().items() if role in d.adapters)


__all__ = ["CHAIN_ROLES", "ROLES", "FamilyDescriptor", "descriptors", "family_names"]

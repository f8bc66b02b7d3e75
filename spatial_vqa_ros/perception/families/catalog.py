"""What is generated from the family descriptors: the model registry file
(``config/models.yaml``), the README's family table, and the words the CLI and the
parameter YAML use for each role's families.

Why generated: these were hand-kept lists that fell behind the code (a family added in
one place and not the others). Tests compare the shipped files with what these
functions give; ``python -m spatial_vqa_ros.perception.families.catalog`` prints them.
Importing this module imports no model library.
"""

from __future__ import annotations

import re
import sys

from . import descriptors, family_names
from .descriptor import CHAIN_ROLES, MODEL_FIELDS, ROLES

#: The header of the generated ``config/models.yaml``.
MODELS_YAML_HEADER = """\
# The model registry: the checkpoints the perception families load, by name.
# GENERATED from the family descriptors (spatial_vqa_ros/perception/families/<family>/
# __init__.py): edit those, then run
#   python -m spatial_vqa_ros.perception.families.catalog models.yaml > config/models.yaml
# A node or command names a model by this name (or by a local path). Weights live in the
# models directory (parameter models_dir / --models-dir; default $SPATIAL_VQA_MODELS or
# ~/.cache/spatial_vqa_ros/models), one folder per name, fetched there by the `pull`
# action of `spatial-vqa models` on a machine with network (or copied by hand).
# Nothing downloads at run time.
#
#   role        depth | detector | segmenter | tracker | tagger (image filtering) | captioner
#               (per-image prompts from a caption: --vocabulary-model)
#   family      the adapter (spatial_vqa_ros/perception/families/<family>/)
#   checkpoint  Hugging Face repository of the weights (transformers format)
#   licence     of the weights, as their authors state it
# How a model runs is chosen where it runs, for the whole chain: parameter
# perception_runtime (torch; onnxruntime or tensorrt after `spatial-vqa models export
# NAME`) and perception_device. Older files' runtime/precision keys are ignored.
models:
"""
#: The node parameter naming each chain role's family (config/spatial_vqa.yaml).
ROLE_PARAMETERS = {"depth": "depth_estimator", "detector": "detector",
                   "segmenter": "segmenter", "tracker": "tracker"}
#: The README table's header (the table is found by it).
README_TABLE_HEADER = "| role | families here | notes |\n|---|---|---|\n"


def models_yaml() -> str:
    """``config/models.yaml`` as the descriptors give it: every checkpoint, by role
    (:data:`~.descriptor.ROLES` order), then family, then as the family lists them."""
    lines = [MODELS_YAML_HEADER.rstrip("\n")]
    for role in ROLES:
        for name in family_names(role):
            for checkpoint in descriptors()[name].checkpoints:
                if checkpoint.role != role:
                    continue
                note = f"  # {checkpoint.note}" if checkpoint.note else ""
                lines += [f"  {checkpoint.name}:{note}", f"    role: {role}",
                          f"    family: {name}", f"    checkpoint: {checkpoint.hub_id}",
                          f"    licence: {checkpoint.licence}"]
    return "\n".join(lines) + "\n"


def readme_family_table() -> str:
    """The README's table of the chain's roles and their families."""
    rows = [README_TABLE_HEADER.rstrip("\n")]
    for role in CHAIN_ROLES:
        names = family_names(role)
        notes = " ".join(f"`{name}`: {descriptors()[name].notes}." for name in names)
        rows.append(f"| {role} | {', '.join(f'`{n}`' for n in names)} | {notes} |")
    return "\n".join(rows) + "\n"


def role_choices(role: str) -> str:
    """The role's families as the parameter YAML lists them: "a, b or c"."""
    names = family_names(role)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def role_help(role: str) -> str:
    """The role's families with their summaries, for a CLI option's help."""
    return ", ".join(f"{name} ({descriptors()[name].summary})" for name in family_names(role))


def parameter_yaml(text: str) -> str:
    """``text``, the node's parameter YAML, with the comment of each role's parameter
    listing that role's families (:func:`role_choices`); a word before a colon that
    opens the comment ("tracked: ") is kept, the rest of the file is left as it is."""
    for role, parameter in ROLE_PARAMETERS.items():
        text = re.sub(rf"^(\s+{parameter}: \S+\s+# )((?:\w+: )?).*$",
                      lambda match, role=role: match[1] + match[2] + role_choices(role),
                      text, count=1, flags=re.M)
    return text


def model_help(role: str) -> str:
    """The families of ``role`` whose weights that role's ``--*-model`` option names,
    for its help (SAM 3 fills the segmenter's role with the detector's weights)."""
    field = MODEL_FIELDS.get(role)
    return ", ".join(name for name in family_names(role) if descriptors()[name].checkpoints
                     and field in (None, descriptors()[name].model_field))


def sized_exports() -> tuple[str, ...]:
    """Families whose ONNX graphs are fixed to the camera size (``--size``)."""
    return tuple(name for name, d in descriptors().items() if d.export and d.export.sized)


def exportable() -> tuple[str, ...]:
    """Families with an ONNX export."""
    return tuple(name for name, d in descriptors().items() if d.export)


def main(argv: list[str]) -> int:
    """Print a generated file: ``models.yaml``, ``readme-table``, or
    ``spatial_vqa.yaml`` (the parameter YAML read from stdin, its family comments
    regenerated)."""
    outputs = {"models.yaml": models_yaml, "readme-table": readme_family_table,
               "spatial_vqa.yaml": lambda: parameter_yaml(sys.stdin.read())}
    if len(argv) != 1 or argv[0] not in outputs:
        print(f"usage: python -m {__name__} {{{','.join(outputs)}}}", file=sys.stderr)
        return 2
    sys.stdout.write(outputs[argv[0]]())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))


__all__ = ["exportable", "model_help", "models_yaml", "parameter_yaml", "readme_family_table",
           "role_choices", "role_help", "sized_exports"]

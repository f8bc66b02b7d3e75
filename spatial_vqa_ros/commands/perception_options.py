"""The perception options shared by every command that runs the chain (perceive, scenes,
bag2dataset), so they are spelled and checked one way: as the spatial node's parameters
of the same meaning (``--perception-runtime`` sets ``perception_runtime``), which are
also the names of the PerceptionSpec fields they fill.

The spellings of before issue 20 (``--runtime``, ``--device``, ``--score-threshold``,
``--camera-height``) still work for one version, hidden from ``--help``
(:data:`OLD_FLAGS`)."""

from __future__ import annotations

import argparse
from typing import Any

#: A flag renamed in issue 20 -> its name before, still accepted with the same meaning
#: and destination but not shown in --help; to be removed in the next version.
OLD_FLAGS = {"--perception-runtime": "--runtime", "--perception-device": "--device",
             "--detector-score-threshold": "--score-threshold",
             "--camera-height-m": "--camera-height"}


#: The namespace attribute holding the perception options given on the command line
#: (those win over a --preset's values).
GIVEN = "perception_options_given"


class _Given(argparse.Action):
    """Store the value and remember that the option was given (a default is not)."""

    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, GIVEN, getattr(namespace, GIVEN, frozenset()) | {self.dest})


def add_perception_options(parser: argparse.ArgumentParser, *, detector: str = "simulation",
                           segmenter: str = "simulation") -> None:
    from ..perception.families.catalog import model_help, role_help
    from ..perception.families.presets import PRESETS, preset_help

    group = parser.add_argument_group(
        "perception", "each family is a registered name or package.module:Class")
    group.add_argument("--preset", "--perception-preset", dest="perception_preset",
                       default="", choices=["", *PRESETS], metavar="NAME",
                       help="a whole chain by one name: fills --depth-estimator, --detector, "
                       "--segmenter, their --*-model, --perception-runtime and "
                       "--perception-device; any of those given beside it wins. "
                       f"{preset_help()}")
    group.add_argument("--depth-estimator", default="sensor", action=_Given,
                       help=f"depth family: {role_help('depth')}")
    group.add_argument("--detector", default=detector, action=_Given,
                       help=f"detector family: {role_help('detector')} (default {detector})")
    group.add_argument("--segmenter", default=segmenter, action=_Given,
                       help=f"segmenter family: {role_help('segmenter')} (default "
                       f"{segmenter})")
    group.add_argument("--detector-model", default="", action=_Given,
                       help="detector weights: a registry name or a local path ("
                       f"{model_help('detector')}: needed; opencv_dnn: a .pb or .onnx, "
                       "without it the SSD MobileNet v2 COCO demo weights if installed)")
    group.add_argument("--detector-config", default="", help="the .pbtxt of a .pb graph")
    group.add_argument("--depth-model", default="", action=_Given,
                       help=f"depth model weights, needed by {model_help('depth')}: a "
                       "registry name (spatial-vqa models list) or a local path")
    group.add_argument("--segmenter-model", default="", action=_Given,
                       help=f"segmenter weights, needed by {model_help('segmenter')}: a "
                       "registry name or a local path")
    group.add_argument("--models-dir", default="",
                       help="where registry names are looked up (spatial-vqa models list)")
    _add_renamed(group, "--perception-runtime", default="torch", action=_Given,
                 choices=["torch", "onnxruntime", "tensorrt"],
                 help="how model families run (onnxruntime, tensorrt: after 'models "
                 "export'; tensorrt builds engines in the background and caches them)")
    _add_renamed(group, "--perception-device", default="auto", action=_Given,
                 help="auto (a CUDA GPU when there is one), cpu, cuda or cuda:N")
    _add_renamed(group, "--detector-score-threshold", type=float, default=0.0,
                 help="drop detections below this score (0 = the family's default)")
    group.add_argument("--labels", default="",
                       help="comma-separated text prompts, e.g. 'mug,chair,person'")
    group.add_argument("--labels-file", default="",
                       help="a vocabulary file: one prompt per line ('#' starts a comment); "
                       "added to --labels")
    _add_renamed(group, "--camera-height-m", type=float, default=0.0,
                 help="camera height above the floor [m] (scales model depth)")


def _add_renamed(group: Any, flag: str, **options: Any) -> None:
    """``flag``, and its old spelling (:data:`OLD_FLAGS`) as a hidden alias: the same
    destination, type and choices, and no default of its own (the new flag's stands)."""
    action = group.add_argument(flag, **options)
    group.add_argument(OLD_FLAGS[flag], dest=action.dest, type=action.type,
                       choices=action.choices, default=argparse.SUPPRESS,
                       help=argparse.SUPPRESS, action=options.get("action", "store"))


def add_vocabulary_options(parser: argparse.ArgumentParser) -> None:
    """--vocabulary-model / --vocabulary-max-phrases (the image commands)."""
    group = parser.add_argument_group(
        "vocabulary", "prompts from each image's caption, for open-vocabulary detectors")
    group.add_argument("--vocabulary-model", default="", metavar="NAME_OR_PATH",
                       help="a captioner (registry name, e.g. florence2_base, or a local "
                       "path): each image's prompts are --labels/--labels-file plus the "
                       "noun phrases of its Florence-2 caption, recorded in the record's "
                       "provenance; an image left without a prompt is skipped "
                       "(no_vocabulary). Use with --detector owlv2 or grounding_dino")
    group.add_argument("--vocabulary-max-phrases", type=int, default=8,
                       help="the most caption phrases an image adds (default 8)")


def vocabulary_from(args: argparse.Namespace) -> dict:
    """The Bag2DatasetConfig field of the vocabulary options (DataIOError for a bad
    value)."""
    from ..offline.bag2dataset.vocabulary import VocabularySpec

    return {"vocabulary": VocabularySpec(args.vocabulary_model,
                                         args.vocabulary_max_phrases)}


def spec_from(args: argparse.Namespace, *, assumed_hfov_deg: float = 0.0):
    """The PerceptionSpec of the parsed options (ValueError names a bad one): a --preset's
    values, with every perception option given beside it winning."""
    from ..perception.factories import PerceptionSpec
    from ..perception.families.presets import PRESET_FIELDS, resolve

    preset = getattr(args, "perception_preset", "")
    values = resolve(preset, {name: getattr(args, name) for name in PRESET_FIELDS},
                     getattr(args, GIVEN, frozenset()))
    model, config = values.pop("detector_model"), args.detector_config
    if values["detector"] == "opencv_dnn" and not model:
        from ..perception.opencv_dnn import find_ssd_mobilenet_v2_coco

        found = find_ssd_mobilenet_v2_coco()
        if found is not None:
            model, config = str(found[0]), str(found[1])
    return PerceptionSpec(**values, detector_model=model, detector_config=config,
                          detector_score_threshold=args.detector_score_threshold,
                          models_dir=args.models_dir, camera_height_m=args.camera_height_m,
                          assumed_hfov_deg=assumed_hfov_deg, perception_preset=preset)


def prompts_from(args: argparse.Namespace) -> list[str]:
    """--labels and the lines of --labels-file, in order, each once. PerceptionError for
    a file that cannot be read (every command reports it as bad input)."""
    prompts = [p.strip() for p in args.labels.split(",") if p.strip()]
    if getattr(args, "labels_file", ""):
        from pathlib import Path

        from ..perception.errors import PerceptionError

        try:
            lines = Path(args.labels_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise PerceptionError(f"labels file {args.labels_file} cannot be read: "
                                  f"{error}") from None
        prompts += [line.split("#", 1)[0].strip() for line in lines]
    return list(dict.fromkeys(p for p in prompts if p))

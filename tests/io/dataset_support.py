"""Dataset items shared by the dataset-writer tests and the writer they run in a
subprocess (which puts this folder on ``sys.path`` itself).

Plain helpers, not fixtures: test modules import them as ``from dataset_support import
SETTINGS, dataset_item`` (pytest puts the folder of each test module on ``sys.path``).
"""

from __future__ import annotations

import numpy as np

from spatial_vqa_ros.core.vqa import QA
from spatial_vqa_ros.io.datasets import build_record, encode_image

#: The settings every test dataset is written with.
SETTINGS = {"seed": 3, "synthesis": {"qa_per_image": 2}}
#: Stamp (ns) of item 0; item i is stamped T0 + i.
T0 = 1_700_000_000_000_000_000


def _qa(category: str = "left_predicate", value: float | None = None) -> QA:
    measure = value is not None
    return QA(category, "distance" if measure else "left_of", "Is the mug left of the box?",
              "Yes." if not measure else f"{value:.2f} m", 1, 2, "mug", "box", value,
              "m" if measure else "", None if measure else "true", "m" if measure else "")


def _scene(i: int, warnings: tuple[str, ...] = ()) -> dict:
    return {"schema": 2, "stamp_ns": T0 + i, "objects": [
        {"id": 1, "label": "mug", "center": [1.0, 0.5, 0.1]},
        {"id": 2, "label": "box", "center": [2.0, -0.5, 0.2]}], "warnings": list(warnings)}


def dataset_item(i: int, *, value: float | None = None, warnings: tuple[str, ...] = (),
                 image_format: str = "jpg") -> tuple[str, bytes, dict]:
    """Item ``i`` of a bag (key, encoded 8x6 image, record): a left-of QA, plus a distance
    QA of ``value`` m when given."""
    key = f"bag/{T0 + i}"
    rgb = np.full((6, 8, 3), i % 256, np.uint8)
    qas = [_qa(), _qa("distance", value)] if value is not None else [_qa()]
    record = build_record(key, qas, _scene(i, warnings),
                          {"kind": "test", "uri": "mem", "name": "bag", "stamp_ns": T0 + i},
                          width=8, height=6, image_format=image_format)
    return key, encode_image(rgb, image_format), record

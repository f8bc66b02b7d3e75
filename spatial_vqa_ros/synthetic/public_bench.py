"""Rendered rooms written as the public spatial benchmarks release their files, with
exact truth: SpatialRGPT-Bench's annotation JSON (regions as pixel boxes and COCO RLE
masks, answers in feet, inches, metres and centimetres, clock directions, yes/no and
which-of-two) and Q-Spatial Bench's parquet (named objects, ``answer_value`` /
``answer_unit``, embedded image bytes); beside them the depth and camera_info the
benchmarks do not ship, so ``spatial-vqa bench`` runs end to end on them.

The truth is the generator's: the objects' exact boxes through the core's own relation
functions with zero margins, and the gap between their full surfaces. Questions whose
truth is within 5 cm of turning (a predicate's difference, a vertical distance) are
not asked: their answer would be a coin toss. Used by the tests and the benchmark
``bench/bench_public.py``; nothing here is the benchmarks' data.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from itertools import combinations, permutations
from pathlib import Path

import numpy as np
from PIL import Image

from ..core.relations import direction, evaluate_measure, evaluate_predicate, gap_distance
from ..core.vqa.templates import relation_phrases
from .render import DepthNoise
from .scenes import TIDY
from .scoring import EXACT, render_case, truth_box

__all__ = ["RenderedBench", "write_rendered_benchmarks"]

#: Pixels an object shows, at least, to be asked about (whole, barely occluded).
MIN_PIXELS = 600
#: A truth closer than this to turning is not asked [m].
CLEAR_M = 0.05
#: Units the answers rotate through, as the released answers mix them.
_UNITS = (("feet", 0.3048), ("inches", 0.0254), ("meters", 1.0), ("centimeters", 0.01))
_MEASURES = {"distance_data": ("distance", "How far apart are {a} and {b}?",
                               "{a} and {b} are {v} apart."),
             "horizontal_distance_data": ("horizontal_distance",
                                          "How far is {a} from {b} horizontally?",
                                          "{a} and {b} are {v} apart horizontally."),
             "vertical_distance_data": ("vertical_distance",
                                        "How far is {a} from {b} vertically?",
                                        "{a} and {b} are {v} apart vertically."),
             "width_data": ("width", "How wide is {a}?", "{a} is {v} wide."),
             "height_data": ("height", "How tall is {a} in terms of height?",
                             "{a} is {v} in height.")}
_PREDICATES = {"left_predicate": "left_of", "behind_predicate": "behind",
               "big_predicate": "bigger", "tall_predicate": "taller"}


@dataclass(frozen=True)
class RenderedBench:
    """Where the files are, and each question's exact truth by id (metres, a clock
    hour, or "true"/"false")."""

    spatialrgpt: Path
    qspatial: Path
    depth_dir: Path
    camera_info: Path
    truth: dict[str, object]


def _rle(mask: np.ndarray) -> dict:
    import warnings

    from pycocotools import mask as coco_mask

    with warnings.catch_warnings():  # its numpy-2 copy-keyword notice, every call
        warnings.simplefilter("ignore", DeprecationWarning)
        rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _box(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def _length(metres: float, k: int) -> str:
    unit, per_unit = _UNITS[k % len(_UNITS)]
    return f"{metres / per_unit:.2f} {unit}"


def _record(qid: str, image: str, size_hw, *, kind: str, category: str, question: str,
            answer: str, masks: list[np.ndarray]) -> dict:
    marked = question
    for k in range(len(masks)):
        marked = marked.replace(f"Region [{k}]", "<mask>")
    return {"id": qid, "image_info": {"file_path": image, "height": int(size_hw[0]),
                                      "width": int(size_hw[1])},
            "text_q": question, "qa_info": {"type": kind, "category": category},
            "conversations": [{"from": "human", "value": f"<image>\n{marked}"},
                              {"from": "gpt", "value": answer}],
            "bbox": [_box(m) for m in masks], "rle": [_rle(m) for m in masks]}


def _pair_records(seed: int, image: str, rendered, pair, *, camera_true, truth: dict
                  ) -> list[dict]:
    """SpatialRGPT records about the pair's objects a (Region [0]) and b (Region [1])."""
    ta, tb = pair
    ba, bb = truth_box(ta), truth_box(tb)
    masks = [rendered.instance_ids == ta.id, rendered.instance_ids == tb.id]
    a, b = "Region [0]", "Region [1]"
    size = rendered.instance_ids.shape
    records = []
    for k, (category, (name, question, answer)) in enumerate(_MEASURES.items()):
        binary = "{b}" in question
        value = evaluate_measure(name, ba, bb if binary else None)
        if name == "vertical_distance" and value < CLEAR_M:
            continue
        qid = f"quantitative_r{seed}_{ta.id}_{tb.id}_{category}"
        truth[qid] = float(value)
        records.append(_record(qid, image, size, kind="quantitative", category=category,
                               question=question.format(a=a, b=b), answer=answer.format(
                                   a=a, b=b, v=_length(value, k + seed)),
                               masks=masks if binary else masks[:1]))
    hour = direction(ba, bb).clock
    qid = f"quantitative_r{seed}_{ta.id}_{tb.id}_direction"
    truth[qid] = float(hour)
    records.append(_record(qid, image, size, kind="quantitative", category="direction",
                           question=f"If you are at {a}, where will you find {b}?",
                           answer=f"{a} will find {b} around the {hour} o'clock direction.",
                           masks=masks))
    for category, relation in _PREDICATES.items():
        verdict, difference, _ = evaluate_predicate(relation, ba, bb, EXACT, camera_true)
        if abs(difference) < CLEAR_M:
            continue
        holds = verdict == "true"
        phrase = relation_phrases(category)[0][0]
        qid = f"qualitative_r{seed}_{ta.id}_{tb.id}_{category}"
        truth[qid] = "true" if holds else "false"
        answer = f"Yes, {a} is {phrase} {b}." if holds else f"No, {a} is not {phrase} {b}."
        records.append(_record(qid, image, size, kind="qualitative", category=category,
                               question=f"Is {a} {phrase} {b}?", answer=answer, masks=masks))
    return records


def _qspatial_rows(seed: int, image: str, image_bytes: bytes, whole, everything
                   ) -> list[dict]:
    """Q-Spatial rows about whole objects whose label no other object of the scene has
    (the question names it); ``image`` is the image's path (its depth file's too), its
    bytes are embedded as Q-Spatial++'s."""
    counts: dict[str, int] = {}
    for t in everything:
        counts[t.label] = counts.get(t.label, 0) + 1
    unique = [t for t in whole if counts[t.label] == 1]
    rows = []
    embedded = {"bytes": image_bytes, "path": Path(image).name}
    for ta, tb in combinations(unique, 2):
        gap = gap_distance(ta.surface_points_scene, tb.surface_points_scene)
        if gap < CLEAR_M or len(rows) == 2:  # touching: a ratio rule cannot judge it
            continue
        rows.append({"_truth": gap,
                     "question": f"What is the minimum distance between the {ta.label} "
                                 f"and the {tb.label} in the image?",
                     "answer_value": round(gap * 100, 1), "answer_unit": "centimeter",
                     "question_type": "horizontal_distance", "image_path": image,
                     "image": embedded})
    for t in unique[:2]:
        rows.append({"_truth": float(t.extent_scene[2]),
                     "question": f"What is the height of the {t.label} in the image?",
                     "answer_value": round(float(t.extent_scene[2]), 3),
                     "answer_unit": "meter", "question_type": "object_height",
                     "image_path": image, "image": embedded})
    return rows


def _camera_yaml(camera) -> str:
    k = [camera.fx, 0.0, camera.cx, 0.0, camera.fy, camera.cy, 0.0, 0.0, 1.0]
    return (f"image_width: {camera.width}\nimage_height: {camera.height}\n"
            f"camera_name: rendered\ncamera_matrix:\n  rows: 3\n  cols: 3\n  data: {k}\n"
            f"distortion_model: plumb_bob\ndistortion_coefficients:\n  rows: 1\n  cols: 5\n"
            f"  data: [0.0, 0.0, 0.0, 0.0, 0.0]\n")


def write_rendered_benchmarks(out: str | Path, seeds=(0, 1, 2), style=TIDY,
                              pairs_per_room: int = 3, *, noise: DepthNoise | None = None,
                              masks: bool = True) -> RenderedBench:
    """Rendered rooms (module docstring) under ``out``: ``spatialrgpt/`` (the annotation
    JSON and ``images/``), ``qspatial/data/`` (the parquet), ``depth/`` (metres, by the
    images' paths; with ``noise``, a depth sensor's) and ``camera_info.yaml``. Without
    ``masks`` the records carry boxes only (no ``rle``), as the format allows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    srgpt, depth_dir = out / "spatialrgpt", out / "depth"
    parquet = out / "qspatial" / "data" / "QSpatial_plus-00000-of-00001.parquet"
    records, rows, truth = [], [], {}
    camera = None
    for seed in seeds:
        _, rendered, scene_truth = render_case(seed, noise, style=style)
        camera = rendered.camera
        image = f"images/room_{seed}.png"
        (srgpt / image).parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        Image.fromarray(rendered.rgb).save(buffer, format="PNG")
        (srgpt / image).write_bytes(buffer.getvalue())
        (depth_dir / image).parent.mkdir(parents=True, exist_ok=True)
        np.save(depth_dir / Path(image).with_suffix(".npy"), rendered.depth_m)
        whole = [t for t in scene_truth.objects if t.visible_pixel_count >= MIN_PIXELS
                 and not t.cut_by_border and t.occluded_fraction < 0.05]
        camera_true = scene_truth.frame.camera_position_scene
        for ta, tb in list(permutations(whole, 2))[:pairs_per_room]:
            records += _pair_records(seed, image, rendered, (ta, tb), camera_true=camera_true,
                                     truth=truth)
        rows += _qspatial_rows(seed, image, buffer.getvalue(), whole, scene_truth.objects)
    if not masks:
        for record in records:
            del record["rle"]
    (srgpt / "SpatialRGPT-Bench_v1.json").write_text(json.dumps(records))
    parquet.parent.mkdir(parents=True, exist_ok=True)
    for k, row in enumerate(rows):  # the reader's ids: <file stem>:<row>
        truth[f"{parquet.stem.split('-')[0]}:{k}"] = row.pop("_truth")
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    (out / "camera_info.yaml").write_text(_camera_yaml(camera))
    return RenderedBench(srgpt, out / "qspatial", depth_dir, out / "camera_info.yaml", truth)

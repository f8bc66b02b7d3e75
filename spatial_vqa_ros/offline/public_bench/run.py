"""A benchmark answered by the chain and the core, or a model's answers scored.

Images are loaded and their depth measured once per image, however many questions ask
about it; each question then gets its own objects and scene graph. An image that
cannot be read, or whose depth fails, fails its questions alone, with the reason (they
count as failures in the headline figure, and the run reports itself partial).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ...core.camera import CameraIntrinsics
from ...core.capture import MAX_PIXELS
from ...core.cut_bounds import MAX_OBJECT_EXTENT_M
from ...core.errors import CoreError
from ...io.errors import DataIOError
from ...io.image_files import load_depth
from ...perception.chain import PerceptionChain
from ...perception.errors import PerceptionError
from ...perception.types import InputSettings
from .answering import answer_question, depth_file, load_image, measure_image, perceive_question
from .questions import BenchFormatError, BenchQuestion
from .report import QuestionResult
from .scoring import judge_answer

__all__ = ["AnswersRead", "BenchRun", "judge_answers", "read_answers", "run_chain"]

_FAILURES = (DataIOError, PerceptionError, CoreError)
#: Keys of a model's answer line: its question id, then its text (the official
#: SpatialRGPT evaluation writes question_id / pred).
ID_KEYS, TEXT_KEYS = ("id", "question_id"), ("answer", "pred", "text", "response")


@dataclass(frozen=True)
class BenchRun:
    """Where the images and depth are, the camera, and the core's settings for them."""

    root: Path
    depth_dir: Path | None = None
    camera: CameraIntrinsics | None = None
    inputs: InputSettings = field(default_factory=InputSettings)
    max_object_extent_m: float = MAX_OBJECT_EXTENT_M
    max_pixels: int = MAX_PIXELS


def _by_image(questions: Sequence[BenchQuestion]) -> dict[str, list[BenchQuestion]]:
    groups: dict[str, list[BenchQuestion]] = {}
    for q in questions:
        groups.setdefault(q.qid if q.image_bytes else q.image, []).append(q)
    return groups


def _provenance(**values: str) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in values.items() if v)


def run_chain(questions: Sequence[BenchQuestion], chain: PerceptionChain, run: BenchRun,
              progress: Callable[[int], None] | None = None) -> tuple[list[QuestionResult], int]:
    """Every question answered by ``chain`` and the core, judged; and the number of
    images that failed."""
    results: list[QuestionResult] = []
    failed_images = 0
    for group in _by_image(questions).values():
        first = group[0]
        try:
            rgb = load_image(first, run.root, run.max_pixels)
            depth = load_depth(depth_file(run.depth_dir, first.image), rgb.shape[:2],
                               run.max_pixels) if run.depth_dir is not None else None
            inputs, measured = measure_image(rgb, chain, depth_m=depth, camera=run.camera,
                                             settings=run.inputs)
        except _FAILURES as error:
            failed_images += 1
            results += [QuestionResult(q, "", False, None, f"image failed: {error}")
                        for q in group]
            if progress:
                progress(len(group))
            continue
        for q in group:
            try:
                answer = answer_question(q, perceive_question(
                    q, inputs, measured, chain, max_object_extent_m=run.max_object_extent_m))
                text, stated, reason = answer.text, answer.stated, answer.reason
                provenance = _provenance(intrinsics_source=answer.intrinsics_source,
                                         depth_source=answer.depth_source)
            except _FAILURES as error:
                text, stated, reason, provenance = "", False, str(error), ()
            judged = judge_answer(q, text) if stated else None
            results.append(QuestionResult(q, text, stated, judged, reason, provenance))
            if progress:
                progress(1)
    return results, failed_images


@dataclass(frozen=True)
class AnswersRead:
    """A model's answers by question id, and the ids that no question has."""

    texts: dict[str, str]
    unknown_ids: tuple[str, ...]


def read_answers(path: str | Path, questions: Sequence[BenchQuestion]) -> AnswersRead:
    """A JSONL of ``{"id": ..., "answer": ...}`` (or the official evaluation's
    ``question_id`` / ``pred``); BenchFormatError naming the line of one that is not."""
    path = Path(path)
    known = {q.qid for q in questions}
    texts: dict[str, str] = {}
    unknown: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise BenchFormatError(f"{path}: cannot be read ({error})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise BenchFormatError(f"{path}:{number}: not JSON ({error.msg})") from None
        qid = next((record[k] for k in ID_KEYS if isinstance(record, dict) and k in record),
                   None)
        text = next((record[k] for k in TEXT_KEYS if isinstance(record, dict) and k in record),
                    None)
        if not isinstance(qid, (str, int)) or not isinstance(text, str):
            raise BenchFormatError(f"{path}:{number}: an answer line needs an id "
                                   f"({' or '.join(ID_KEYS)}) and a text "
                                   f"({' or '.join(TEXT_KEYS)})")
        qid = str(qid)
        if qid in texts:
            raise BenchFormatError(f"{path}:{number}: a second answer to {qid!r}")
        if qid not in known:
            unknown.append(qid)
            continue
        texts[qid] = text
    return AnswersRead(texts, tuple(unknown))


def judge_answers(questions: Sequence[BenchQuestion], answers: AnswersRead
                  ) -> list[QuestionResult]:
    """A model's answers judged; a question it did not answer is a failure ("no
    answer"), one it answered with nothing readable is answered and wrong."""
    results = []
    for q in questions:
        text = answers.texts.get(q.qid)
        if text is None:
            results.append(QuestionResult(q, "", False, None, "no answer in the file"))
            continue
        judged = judge_answer(q, text)
        results.append(QuestionResult(q, text, judged.read is not None, judged,
                                      "" if judged.read is not None else "unreadable"))
    return results

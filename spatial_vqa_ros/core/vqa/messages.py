"""A record's QAs as chat ``messages`` (TRL, Qwen-VL, LLaVA-OneVision processors) and
as lettered multiple-choice questions (CV-Bench's form).

Why: TRL's SFT and GRPO trainers and the VLM chat templates take OpenAI-style turns
with typed content parts (``{"type": "image"}``, ``{"type": "text", "text": ...}``);
a benchmark-style evaluation wants lettered options, whose letter a verifier can read
without parsing language. Pure Python: the writer is ``io.datasets.trl``.

Multiple choice: a which-of-two question lists both objects (their order drawn from a
hash of the record id and the QA's index, so the right letter is not always A, and the
same on every run); a yes/no question lists (A) yes (B) no. Measures and directions
stay open questions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from .templates import CATEGORIES

__all__ = ["INSTRUCTION", "as_multiple_choice", "grpo_prompt", "sft_messages"]

#: Appended to a lettered question.
INSTRUCTION = "Answer with the option's letter."
_LETTERS = "AB"


def _flip(key: str) -> bool:
    return hashlib.sha256(key.encode()).digest()[0] & 1 == 1


def as_multiple_choice(qa: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """The QA as a lettered question: a copy of its fields with ``question`` (options
    and instruction appended), ``answer`` ("(B) the lamp"), ``options`` and ``correct``
    (index); None for a QA without a two-way form (measures, directions)."""
    form = CATEGORIES[qa["category"]].form if qa.get("category") in CATEGORIES else ""
    if form == "predicate":
        options = ["yes", "no"]
        correct = 0 if qa["truth"] == "true" else 1
    elif form == "choice":
        options = [str(qa.get("subject_text") or qa["subject_label"]),
                   str(qa.get("object_text") or qa["object_label"])]
        correct = 0 if qa["truth"] == "true" else 1
        if _flip(key):
            options.reverse()
            correct = 1 - correct
    else:
        return None
    listed = "\n".join(f"({letter}) {option}" for letter, option in zip(_LETTERS, options))
    return {**qa, "question": f"{qa['question']}\n{listed}\n{INSTRUCTION}",
            "answer": f"({_LETTERS[correct]}) {options[correct]}", "options": options,
            "correct": correct}


def _user(text: str, with_image: bool) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "image", "text": None}] if with_image else []
    return {"role": "user", "content": [*parts, {"type": "text", "text": text}]}


def _assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


def sft_messages(qas: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One conversation: the image with the first question, then every QA as a turn
    pair (what SFT trains on)."""
    messages: list[dict[str, Any]] = []
    for index, qa in enumerate(qas):
        messages += [_user(str(qa["question"]), index == 0), _assistant(str(qa["answer"]))]
    return messages


def grpo_prompt(qa: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The prompt of one QA (the image and its question): what GRPO samples answers to,
    scored by the verifier against the row's ``qa``."""
    return [_user(str(qa["question"]), True)]

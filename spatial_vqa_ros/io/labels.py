"""The instance-labels JSON that simulators publish next to an instance-id image."""

from __future__ import annotations

import json

from .errors import DataIOError


def parse_labels_json(text: str) -> dict[int, str]:
    """``'{"3": "mug"}'`` -> ``{3: "mug"}``.

    Values may also be objects with a ``"label"`` or ``"class"`` key (Isaac Sim's
    instance segmentation writes ``{"3": {"class": "mug"}}``).

    Raises:
        DataIOError: not JSON, not an object, a key that is not an integer id, or a
            label that is not a non-empty string.
    """
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise DataIOError(f"labels are not valid JSON ({exc}); expected an object like "
                          '{"1": "mug", "2": "chair"}') from None
    if not isinstance(raw, dict):
        raise DataIOError(f"labels JSON must be an object mapping id to label, got "
                          f"{type(raw).__name__}")
    labels: dict[int, str] = {}
    for key, value in raw.items():
        label = value.get("label", value.get("class")) if isinstance(value, dict) else value
        if not isinstance(label, str) or not label.strip():
            raise DataIOError(f"labels JSON value for id {key} is not a non-empty string: "
                              f"{value!r}")
        try:
            labels[int(key)] = label.strip()
        except ValueError:
            raise DataIOError(f"labels JSON key {key!r} is not an integer id") from None
    return labels

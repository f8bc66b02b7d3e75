from __future__ import annotations

import pytest

from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.io.labels import parse_labels_json


def test_plain_and_isaac_style_labels():
    assert parse_labels_json('{"3": "mug", "7": " chair "}') == {3: "mug", 7: "chair"}
    assert parse_labels_json('{"2": {"class": "box"}, "4": {"label": "cup"}}') == {
        2: "box", 4: "cup"}


@pytest.mark.parametrize("text,match", [
    ("{not json", "not valid JSON"),
    ('["mug"]', "must be an object"),
    ('{"x": "mug"}', "'x' is not an integer id"),
    ('{"1": 5}', "not a non-empty string"),
    ('{"1": ""}', "not a non-empty string"),
])
def test_malformed_labels_are_refused_clearly(text, match):
    with pytest.raises(DataIOError, match=match):
        parse_labels_json(text)

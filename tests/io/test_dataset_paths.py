"""Paths read from a record are confined to the dataset directory: by their spelling
(relative, no '..') and once resolved (no symlink out), one rule for every reader."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.io.datasets.card import examples_section
from spatial_vqa_ros.io.datasets.layout import confined_path, relative_data_path
from spatial_vqa_ros.io.errors import DataIOError


def test_a_path_inside_the_dataset_resolves_there(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"x")
    assert confined_path(tmp_path, "images/a.jpg") == (tmp_path / "images" / "a.jpg").resolve()


@pytest.mark.parametrize(("relpath", "message"), [
    ("../../../../../../etc/hostname", "outside the dataset directory"),
    ("/etc/hostname", "outside the dataset directory"),
    ("images/../../x.jpg", "outside the dataset directory"),
    ("", "is not a file path"),
    ("images/a\0.jpg", "is not a file path"),
    (None, "is not a file path"),
    (["images/a.jpg"], "is not a file path"),
])
def test_paths_that_leave_the_dataset_by_their_spelling_are_refused(tmp_path, relpath,
                                                                     message):
    with pytest.raises(DataIOError, match=message):
        confined_path(tmp_path, relpath)


def test_a_symlink_out_of_the_dataset_is_refused(tmp_path):
    root = tmp_path / "dataset"
    (root / "images").mkdir(parents=True)
    (tmp_path / "secret").write_text("s")
    (root / "images" / "a.jpg").symlink_to(tmp_path / "secret")
    with pytest.raises(DataIOError, match="resolves outside the dataset directory"):
        confined_path(root, "images/a.jpg")
    assert relative_data_path("images/a.jpg").as_posix() == "images/a.jpg"


def test_a_symlink_loop_is_refused(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(DataIOError, match="cannot be resolved \\(Symlink loop"):
        confined_path(tmp_path, "loop")


def test_the_card_never_links_an_image_outside_the_dataset():
    records = [{"id": "a", "image": "../../etc/hostname", "qa": []},
               {"id": "b", "image": "images/b.jpg", "qa": []}]
    text = examples_section(records)
    assert "etc/hostname" not in text and "`a` (its image path is outside the dataset)" in text
    assert "![b](images/b.jpg)" in text

"""One writer per directory: a second lock is refused by path, an unlocked one is free."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.io.dir_lock import lock_directory, unlock_directory
from spatial_vqa_ros.io.errors import DataIOError


def test_a_second_writer_is_refused_and_an_unlocked_directory_is_free(tmp_path):
    held = lock_directory(tmp_path, ".lock")
    with pytest.raises(DataIOError, match=rf"another process is writing {tmp_path} \(it "
                                          rf"holds {tmp_path / '.lock'}\)"):
        lock_directory(tmp_path, ".lock")
    unlock_directory(held)
    unlock_directory(None)  # nothing held: nothing to do
    unlock_directory(lock_directory(tmp_path, ".lock"))

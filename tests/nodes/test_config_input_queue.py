"""The input queue's parameter: several frames in tracked mode, one in serial mode."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.nodes.config import SpatialNodeConfig


def test_tracked_mode_queues_input_queue_frames_and_serial_mode_keeps_the_latest_only():
    assert SpatialNodeConfig().input_queue_frames == 8
    assert SpatialNodeConfig().input_queue_capacity == 1
    tracked = SpatialNodeConfig(live_mode="tracked", input_queue_frames=5)
    assert tracked.input_queue_capacity == 5
    assert SpatialNodeConfig(input_queue_frames=5).input_queue_capacity == 1


@pytest.mark.parametrize("frames", [0, -3])
def test_an_input_queue_of_no_frames_is_refused_by_name(frames):
    with pytest.raises(ValueError, match=f"input_queue_frames must be >= 1, got {frames}"):
        SpatialNodeConfig(input_queue_frames=frames)


def test_the_input_queue_needs_a_restart():
    with pytest.raises(ValueError, match=r"^input_queue_frames cannot change while the node "
                                         r"runs .*needs a restart$"):
        SpatialNodeConfig().with_changes({"input_queue_frames": 4})

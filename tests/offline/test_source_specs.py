"""A source rebuilt from its spec (offline/bag2dataset/source_specs.py): the round trips
of each kind are tested with their sources (test_dataset_depth_range.py,
test_offline_chain.py); here, a spec that names no kind of source."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.offline.bag2dataset import source_from_spec


@pytest.mark.parametrize("spec,shown", [({"kind": "tape", "path": "x"}, "'tape'"),
                                        ({"path": "x"}, "None"),
                                        ({"kind": ["rosbag2"]}, r"\['rosbag2'\]")])
def test_a_spec_of_no_known_kind_is_refused_naming_the_kind(spec, shown):
    with pytest.raises(DataIOError, match=rf"^unknown frame source kind {shown}$"):
        source_from_spec(spec)

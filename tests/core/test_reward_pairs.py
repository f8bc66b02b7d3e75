"""The reward-pair spelling the node's parameter and the offline tools share."""

from spatial_vqa_ros.core.reward_pairs import split_pair
from spatial_vqa_ros.nodes.config import split_pair as node_split_pair


def test_a_tf_prefix_stays_on_its_end():
    assert split_pair("tf:tool0:cube") == ["tf:tool0", "cube"]
    assert split_pair("cube:tf:tool0") == ["cube", "tf:tool0"]
    assert split_pair("gripper:cube") == ["gripper", "cube"]


def test_a_malformed_pair_splits_into_other_than_two_ends():
    assert split_pair("gripper") == ["gripper"]
    assert split_pair("a:b:c") == ["a", "b", "c"]


def test_the_node_reads_pairs_with_the_same_function():
    assert node_split_pair is split_pair

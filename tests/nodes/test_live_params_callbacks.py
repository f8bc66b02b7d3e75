"""LiveParameters against the two generations of rclpy's parameter callbacks, without a
running node: Iron and later call a post-set callback once values are stored; Humble
(the Jetson image) has only the check callback, so an accepted change is applied there.
No lock outlives a callback: a change another check refused leaves nothing blocked."""

from __future__ import annotations

import pytest
from rclpy.parameter import Parameter

from spatial_vqa_ros.nodes.config import SpatialNodeConfig
from spatial_vqa_ros.nodes.live_params import LiveParameters


class Swapper:
    def __init__(self) -> None:
        self.requests: list = []

    def request(self, spec, policy) -> None:
        self.requests.append((spec, policy))


class HumbleNode:
    """The parameter-callback surface of rclpy before Iron: check callbacks only."""

    def __init__(self) -> None:
        self.checks: list = []

    def add_on_set_parameters_callback(self, callback) -> None:
        self.checks.append(callback)

    def set(self, params: list[Parameter]) -> bool:
        """What rclpy does: every check must accept; then the values are stored."""
        return all(check(params).successful for check in self.checks)


class IronNode(HumbleNode):
    def __init__(self) -> None:
        super().__init__()
        self.posts: list = []

    def add_post_set_parameters_callback(self, callback) -> None:
        self.posts.append(callback)

    def set(self, params: list[Parameter]) -> bool:
        if not super().set(params):
            return False
        for post in self.posts:
            post(params)
        return True


def live_on(node) -> tuple[LiveParameters, Swapper, list]:
    swapper, logged = Swapper(), []
    live = LiveParameters(node, SpatialNodeConfig(), swapper,
                          lambda level, message: logged.append((level, message)))
    return live, swapper, logged


@pytest.mark.parametrize("node_type", [HumbleNode, IronNode])
def test_an_accepted_change_is_applied_on_either_rclpy(node_type):
    node = node_type()
    live, swapper, logged = live_on(node)
    assert node.set([Parameter("detector_score_threshold", value=0.7)])
    assert live.config.detector_score_threshold == 0.7
    assert any("detector_score_threshold=0.7" in message for _, message in logged)
    assert len(swapper.requests) == 1  # a threshold is part of the perception spec
    assert not node.set([Parameter("rgb_topic", value="/other/image")])
    assert live.config.rgb_topic == SpatialNodeConfig().rgb_topic


def test_a_change_another_check_refused_is_not_applied_and_blocks_nothing():
    node = IronNode()
    live, _, _ = live_on(node)
    node.add_on_set_parameters_callback(
        lambda params: type("R", (), {"successful": False})())  # e.g. another component
    assert not node.set([Parameter("detector_score_threshold", value=0.7)])
    assert live.config.detector_score_threshold == SpatialNodeConfig().detector_score_threshold
    node.checks.pop()  # the next change goes through at once, nothing left locked
    assert node.set([Parameter("detector_score_threshold", value=0.6)])
    assert live.config.detector_score_threshold == 0.6


def test_a_change_that_no_longer_fits_when_applied_keeps_the_running_config():
    node = IronNode()
    live, _, logged = live_on(node)
    default = SpatialNodeConfig()
    # two clients: each change is valid against the config it was checked with, but the
    # depth range they make together is empty
    first = [Parameter("depth_min_m", value=default.depth_max_m - 0.5)]
    second = [Parameter("depth_max_m", value=default.depth_max_m - 1.0)]
    assert node.checks[0](first).successful and node.checks[0](second).successful
    node.posts[0](first)
    node.posts[0](second)
    assert live.config.depth_min_m == default.depth_max_m - 0.5
    assert live.config.depth_max_m == default.depth_max_m
    assert any(level == "error" and "depth_max_m not applied" in message
               for level, message in logged)

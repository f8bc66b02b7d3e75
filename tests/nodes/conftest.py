"""Fixtures of the node tests: an rclpy context, and a node of the test process in it.

rclpy is imported inside the fixtures: the ROS-free tests of this folder (config,
stats, sync) run without it. Plain helpers (processes, probes, service calls) are in
``ros_support.py``.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def ros():
    """rclpy initialised for one test, shut down after it."""
    rclpy = pytest.importorskip("rclpy")
    rclpy.init()
    yield
    rclpy.shutdown()


@pytest.fixture
def client_node(ros, request):
    """A node in the test process (named after the test module), for subscriptions,
    publishers and service clients; destroyed before rclpy shuts down."""
    import rclpy

    node = rclpy.create_node(f"{request.module.__name__.rsplit('.', 1)[-1]}_client")
    yield node
    node.destroy_node()

"""Test-wide set-up: DDS on loopback with a domain of this run's own.

scripts/run.sh sets these already; the defaults here keep a bare `pytest` safe
too. They must be set before any rclpy.init() in this process or its children.
"""

from __future__ import annotations

import os

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
if os.environ.get("ROS_DISTRO") == "humble":
    os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")
os.environ.setdefault("ROS_DOMAIN_ID", str(os.getpid() % 100 + 1))

"""Helpers for tests that run real nodes in separate processes over real DDS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import rclpy
from rclpy.node import Node

REPO = Path(__file__).resolve().parents[2]


def node_command(*ros_args: str) -> list[str]:
    """`spatial-vqa node` as a module call, so it runs with this interpreter."""
    return [sys.executable, "-m", "spatial_vqa_ros.cli", "node", "--ros-args", *ros_args]


@contextmanager
def running(command: list[str], log_path: Path):
    """Run a process for the duration of the block; its output goes to log_path."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                env=dict(os.environ), cwd=REPO)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def call(node: Node, client, request, timeout_s: float = 10.0):
    """Call a service and spin until the answer arrives (or fail the test)."""
    future = client.call_async(request)
    rclpy.spin_until_future_complete(node, future, timeout_sec=timeout_s)
    if not future.done():
        raise AssertionError(f"no answer from {client.srv_name} within {timeout_s} s")
    return future.result()


def wait_for_service(client, log_path: Path, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.wait_for_service(timeout_sec=0.5):
            return
    raise AssertionError(f"service {client.srv_name} did not appear within {timeout_s} s; "
                         f"node log:\n{log_path.read_text(errors='replace')[-3000:]}")

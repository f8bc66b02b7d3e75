"""Running nodes and the processes around them, one way for every entry point (the
rclpy runner; not to be confused with ``perception/runtime``, the model backends)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node

from ..io.errors import DataIOError


def run_node(factory: Callable[[], Node], args: list[str] | None, name: str,
             threads: int = 1) -> int:
    """``rclpy.init``, build the node, spin until Ctrl-C or shutdown, clean up.

    A node that refuses its parameters (ValueError, DataIOError, or rclpy's
    ParameterException: ``-p port:=abc`` for an integer) exits with status 2 and the
    reason on stderr, instead of a traceback.
    """
    rclpy.init(args=args)
    try:
        node = factory()
    except (ValueError, DataIOError, ParameterException) as error:
        print(f"{name}: {error}", file=sys.stderr, flush=True)
        if rclpy.ok():
            rclpy.shutdown()
        return 2
    executor = MultiThreadedExecutor(num_threads=threads) if threads > 1 \
        else SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        executor.shutdown()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


def stop_process(proc: subprocess.Popen | None, timeout_s: float = 10.0) -> None:
    """Terminate a child process politely (SIGTERM), then kill it if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

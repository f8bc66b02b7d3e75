"""A tracker plugin that stalls the node's worker once, for the input-queue node test.

``depth_flow`` that sleeps ``$STALL_S`` seconds in the first ``track`` on a frame stamped
at or after ``$STALL_AFTER_NS`` (once per process; a fresh tracker bringing masks
forward counts too), and says so on stderr (the node's log). The sleep holds the worker
as a descheduled thread would, while the camera's frames keep arriving.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from spatial_vqa_ros.perception.trackers.depth_flow import DepthFlowTracker

STALL_S_ENV, STALL_AFTER_ENV = "STALL_S", "STALL_AFTER_NS"
_stalled = threading.Event()


class StallingTracker(DepthFlowTracker):
    def track(self, frame):
        if (not _stalled.is_set()
                and frame.stamp_ns >= int(os.environ.get(STALL_AFTER_ENV, "0"))):
            _stalled.set()
            seconds = float(os.environ.get(STALL_S_ENV, "0"))
            print(f"stalling the worker {seconds} s at {frame.stamp_ns}", file=sys.stderr,
                  flush=True)
            time.sleep(seconds)
        return super().track(frame)

"""The node's self-report: rate, latency, counts and the status that names the problem."""

from __future__ import annotations

import math

import pytest

from spatial_vqa_ros.nodes.input_queue import QueueCounts
from spatial_vqa_ros.nodes.stats import NodeStats


def report(stats: NodeStats, now: float, **facts):
    values = {"camera_known": True, "floor_found": True, "objects_tracked": 3,
              "camera_height_m": 1.2345} | facts
    return stats.report(now_s=now, **values)


def test_rate_latency_and_counts():
    stats = NodeStats()
    for k in range(11):  # 10 Hz for one second
        received = stats.input_received(now_s=100.0 + k * 0.1)
    stats.frame_dropped()
    stats.frame_processed(received, now_s=received + 0.040)
    r = report(stats, 101.0)
    assert r.level == "ok" and r.message == "ok"
    assert r.values["input_rate_hz"] == "10.0"
    assert r.values["latency_median_ms"] == "40.0"
    assert (r.values["frames_processed"], r.values["frames_dropped"]) == ("1", "1")
    assert r.values["camera_height_m"] == "1.234" and r.values["objects_tracked"] == "3"
    assert stats.counts() == {"processed": 1, "dropped": 1, "errors": 0}


def test_old_inputs_leave_the_rate_window():
    stats = NodeStats(rate_window_s=5.0)
    stats.input_received(now_s=0.0)
    stats.input_received(now_s=0.5)
    assert stats.input_rate_hz(now_s=0.6) == 2.0
    assert stats.input_rate_hz(now_s=60.0) == 0.0
    assert math.isnan(stats.latency_median_s())


def test_status_names_the_first_thing_to_fix():
    stats = NodeStats()
    assert report(stats, 0.0, camera_known=False).message == "waiting for CameraInfo"
    assert report(stats, 0.0).message == "no frame processed yet"
    stats.frame_processed(0.0, now_s=0.1)
    no_floor = report(stats, 0.2, floor_found=False)
    assert (no_floor.level, no_floor.message) == ("warn", "no floor found")


def test_errors_keep_the_last_message_and_extra_values_are_reported():
    stats = NodeStats()
    stats.error("bad CameraInfo: K is zero")
    stats.error("labels ignored: not JSON")
    r = report(stats, 0.0, extra={"backend": "simulation"})
    assert r.values["errors"] == "2" and r.values["last_error"] == "labels ignored: not JSON"
    assert r.values["backend"] == "simulation"


def test_engine_states_are_reported_after_the_camera_and_floor():
    stats = NodeStats()
    building = {"depth_anything_v2_small/model.onnx": "building engine",
                "sam2/decoder.onnx": "ready"}
    report = stats.report(camera_known=True, floor_found=False, objects_tracked=0,
                          camera_height_m=0.0, engines=building)
    assert report.level == "warn" and report.message.startswith(
        "building engine: depth_anything_v2_small/model.onnx (frames run on the fallback")
    assert report.values["engine sam2/decoder.onnx"] == "ready"
    assert stats.report(camera_known=False, floor_found=False, objects_tracked=0,
                        camera_height_m=0.0, engines=building).message == \
        "waiting for CameraInfo"
    stats.frame_processed(stats.input_received(10.0), 10.1)
    assert stats.report(camera_known=True, floor_found=False, objects_tracked=0,
                        camera_height_m=0.0, engines=building).message == "no floor found"
    failed = {"sam2/encoder.onnx": "failed: RuntimeError: out of memory"}
    report = stats.report(camera_known=True, floor_found=True, objects_tracked=1,
                          camera_height_m=1.2, engines=failed)
    assert report.level == "warn" and "sam2/encoder.onnx failed: RuntimeError" in report.message
    assert stats.report(camera_known=True, floor_found=True, objects_tracked=1,
                        camera_height_m=1.2, engines={"a/b.onnx": "ready"}).message == "ok"


def test_the_graph_rate_is_reported_beside_the_input_rate_and_is_the_serial_detector_rate():
    stats = NodeStats()
    for k in range(31):  # 30 Hz in, a graph for every third frame: 10 Hz
        received = stats.input_received(now_s=100.0 + k / 30)
        if k % 3 == 0:
            stats.frame_processed(received, now_s=received + 0.01)
    r = report(stats, 101.1)
    assert (r.values["input_rate_hz"], r.values["graph_rate_hz"]) == ("30.0", "10.0")
    assert r.values["detector_rate_hz"] == "10.00"  # serial: detects on each graph's frame
    tracked = report(stats, 101.1, extra={"detector_rate_hz": "0.50",
                                          "tracker_latency_median_ms": "12.0"})
    assert tracked.values["detector_rate_hz"] == "0.50"  # the two-rate chain's own
    assert tracked.values["graph_rate_hz"] == "10.0"


def test_a_failing_latest_frame_is_an_error_until_a_frame_succeeds():
    stats = NodeStats()
    stats.frame_processed(0.0, now_s=0.1)
    stats.error("labels ignored: not JSON")  # an input's error fails no frame
    assert report(stats, 0.15).level == "ok"
    stats.error("tracker failed: RuntimeError: out of memory", frame_failed=True)
    failing = report(stats, 0.2, floor_found=False)  # before the floor and the engines
    assert failing.level == "error"
    assert failing.message.startswith("the latest frame failed (tracker failed: RuntimeError")
    stats.frame_processed(0.3, now_s=0.4)
    recovered = report(stats, 0.5)
    assert (recovered.level, recovered.message) == ("ok", "ok")
    assert recovered.values["errors"] == "2"  # the count stays
    stats.error("no CameraInfo received", frame_failed=True)  # a known cause says so first
    assert report(stats, 0.6, camera_known=False).message == "waiting for CameraInfo"


def test_frames_that_failed_between_two_reports_make_the_next_one_an_error_once():
    """A queue emptied after a stall runs failing and good frames within one diagnostics
    period: the failures still show as ERROR, in that report only."""
    stats = NodeStats()
    stats.frame_processed(0.0, now_s=0.1)
    assert report(stats, 0.2).level == "ok"
    for k in range(3):
        stats.error(f"tracker failed: RuntimeError: call {k}", frame_failed=True)
    stats.frame_processed(0.3, now_s=0.4)  # the latest frame succeeded again
    burst = report(stats, 0.5)
    assert burst.level == "error"
    assert burst.message == ("3 frame(s) failed since the last report (the last error: "
                             "tracker failed: RuntimeError: call 2); frames succeed again")
    assert report(stats, 0.6).level == "ok"


def test_a_model_swap_warning_does_not_hide_a_failing_frame():
    from spatial_vqa_ros.nodes.model_swap import SwapStatus

    loading = SwapStatus(state="loading detector 'b.onnx'")
    assert loading.applied_to("error", "the latest frame failed (x)") == (
        "error", "the latest frame failed (x)")
    assert loading.applied_to("ok", "ok") == ("warn", "loading detector 'b.onnx'")


def test_dropped_frames_are_reported_as_a_count_a_share_and_a_rate():
    stats = NodeStats(rate_window_s=5.0)
    for k in range(20):
        stats.input_received(now_s=100.0 + k * 0.1)
    for k in range(5):
        stats.frame_dropped(by_queue=k < 3, now_s=101.0 + k * 0.1)
    assert stats.dropped_share() == 0.25
    assert stats.dropped_rate_hz(now_s=102.0) == 1.0
    assert stats.dropped_rate_hz(now_s=102.0, by_queue=True) == pytest.approx(0.6)
    assert stats.dropped_rate_hz(now_s=200.0) == 0.0
    r = report(stats, 102.0)
    assert r.values["frames_dropped"] == "5" and r.values["frames_dropped_pct"] == "25.0"
    assert r.values["frames_dropped_rate_hz"] == "1.0"
    assert "input_queue_frames" not in r.values


def test_a_full_input_queue_of_several_frames_is_a_warning_with_its_figures():
    stats = NodeStats(rate_window_s=5.0)
    stats.frame_processed(stats.input_received(10.0), 10.05)
    stats.frame_dropped(by_queue=True, now_s=11.0)
    stats.frame_dropped(by_queue=True, now_s=11.5)
    queue = QueueCounts(capacity=8, put=30, dropped=2, waiting=8, most_waiting=8)
    r = report(stats, 12.0, queue=queue)
    assert r.level == "warn"
    assert r.message == ("the worker falls behind the camera: the input queue (8 frames) "
                         "is full and drops its oldest frame, 0.4 a second")
    assert (r.values["input_queue_frames"], r.values["input_queue_waiting"],
            r.values["input_queue_most_waiting"], r.values["input_queue_dropped"]) == (
        "8", "8", "8", "2")
    assert report(stats, 30.0, queue=queue).level == "ok"  # the drops left the window
    assert report(stats, 12.0, queue=queue, floor_found=False).message == "no floor found"


def test_a_one_frame_queue_that_drops_by_design_is_no_warning():
    stats = NodeStats()
    stats.frame_processed(stats.input_received(10.0), 10.05)
    stats.frame_dropped(by_queue=True, now_s=11.0)
    r = report(stats, 11.5, queue=QueueCounts(1, 10, 9, 1, 1))
    assert (r.level, r.message) == ("ok", "ok")
    assert r.values["input_queue_dropped"] == "9" and r.values["frames_dropped"] == "1"

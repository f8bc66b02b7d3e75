"""A real node in one process answers QuerySpatial called from this process over DDS."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("rclpy")
srv = pytest.importorskip("spatial_vqa_ros.srv", reason="interfaces not built (colcon build)")

from ros_support import call, node_command, running, wait_for_service  # noqa: E402

pytestmark = pytest.mark.ros


def test_empty_scene_answers_with_a_clear_error(tmp_path, client_node):
    log = tmp_path / "node.log"
    with running(node_command("-r", "__ns:=/smoke"), log):
        client = client_node.create_client(srv.QuerySpatial, "/smoke/spatial_vqa/query")
        wait_for_service(client, log)

        reply = call(client_node, client, srv.QuerySpatial.Request(
            question="how far is the mug from the chair?"))
        assert reply.success is False
        assert "no object called 'the mug'" in reply.error_message
        assert "known objects: none" in reply.error_message
        assert math.isnan(reply.value) and reply.unit == "" and reply.truth == ""
        assert math.isnan(reply.value_si) and reply.unit_si == ""
        assert (reply.scene_stamp.sec, reply.scene_stamp.nanosec) == (0, 0)

        reply = call(client_node, client, srv.QuerySpatial.Request(question="sing me a song"))
        assert reply.success is False and "could not understand" in reply.error_message

        reply = call(client_node, client, srv.QuerySpatial.Request(
            relation="teleport", subject="mug"))
        assert reply.success is False and "unknown relation 'teleport'" in reply.error_message

        reply = call(client_node, client, srv.QuerySpatial.Request())
        assert reply.success is False and "set either question" in reply.error_message

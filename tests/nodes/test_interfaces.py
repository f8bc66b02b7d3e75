"""The generated interfaces carry the documented fields, with the documented types."""

from __future__ import annotations

import math

import pytest

msg = pytest.importorskip("spatial_vqa_ros.msg", reason="interfaces not built (colcon build)")
srv = pytest.importorskip("spatial_vqa_ros.srv")

pytestmark = pytest.mark.ros


def _fields(cls) -> dict[str, str]:
    return dict(cls.get_fields_and_field_types())


def test_scene_object_fields():
    assert _fields(msg.SceneObject) == {
        "id": "uint32", "label": "string", "description": "string", "confidence": "float",
        "center": "geometry_msgs/Point", "size": "geometry_msgs/Vector3", "partial": "boolean",
        "roi": "sensor_msgs/RegionOfInterest", "point_count": "uint32",
        "first_seen": "builtin_interfaces/Time", "last_seen": "builtin_interfaces/Time",
        "observation_count": "uint32", "visible": "boolean", "mask_source": "string",
        "detection_age_s": "double", "hidden_directions": "sequence<geometry_msgs/Vector3>",
        "hidden_reach_min_m": "sequence<double>", "hidden_reach_max_m": "sequence<double>",
        "hidden_causes": "sequence<string>",
    }


def test_scene_graph_fields():
    fields = _fields(msg.SceneGraph)
    assert fields["header"] == "std_msgs/Header"
    assert fields["objects"] == "sequence<spatial_vqa_ros/SceneObject>"
    assert fields["floor_found"] == "boolean"
    assert fields["floor_plane_camera"] == "double[4]"
    for name in ("camera_height", "camera_pitch", "camera_roll"):
        assert fields[name] == "float"
    assert fields["camera_frame_id"] == "string"


def test_distance_reward_fields():
    assert _fields(msg.DistanceReward) == {
        "header": "std_msgs/Header", "source": "string", "target": "string",
        "distance_kind": "string", "distance": "float", "reward": "float", "valid": "boolean",
    }


def test_query_spatial_fields():
    assert _fields(srv.QuerySpatial.Request) == {
        "question": "string", "relation": "string", "subject": "string", "object": "string",
        "unit_preference": "string",
    }
    assert _fields(srv.QuerySpatial.Response) == {
        "success": "boolean", "answer": "string", "value": "double", "unit": "string",
        "truth": "string", "confidence": "float", "scene_stamp": "builtin_interfaces/Time",
        "error_message": "string", "value_si": "double", "unit_si": "string",
    }


def test_compute_reward_fields_and_defaults():
    request = srv.ComputeReward.Request()
    assert request.source_id == -1 and request.target_id == -1  # -1 = not named by id
    fields = _fields(srv.ComputeReward.Request)
    for side in ("source", "target"):
        assert fields[f"{side}_label"] == "string"
        assert fields[f"{side}_id"] == "int32"
        assert fields[f"{side}_roi"] == "sensor_msgs/RegionOfInterest"
    for name in ("distance_kind", "shaping"):
        assert fields[name] == "string"
    assert fields["scale"] == "float" and fields["success_threshold"] == "float"
    response = _fields(srv.ComputeReward.Response)
    assert set(response) == {"success", "distance", "reward", "progress", "reached",
                             "scene_stamp", "error_message"}


def test_set_labels_fields():
    assert _fields(srv.SetLabels.Request) == {"labels": "sequence<string>"}
    assert _fields(srv.SetLabels.Response) == {"success": "boolean", "message": "string"}


def test_messages_round_trip_through_serialisation():
    from rclpy.serialization import deserialize_message, serialize_message

    original = msg.SceneGraph(floor_found=True, camera_height=1.25)
    original.objects.append(msg.SceneObject(id=3, label="mug", description="the mug"))
    original.floor_plane_camera[1] = -1.0
    copy = deserialize_message(serialize_message(original), msg.SceneGraph)
    assert copy.objects[0].label == "mug" and copy.objects[0].id == 3
    assert math.isclose(copy.camera_height, 1.25)
    assert copy.floor_plane_camera[1] == -1.0

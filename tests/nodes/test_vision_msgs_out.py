"""Standard vision_msgs detections from the scene graph, with stand-in message classes
of vision_msgs' fields (the package is on ROS installs, not on PyPI): one detection per
visible object, boxes in the scene frame (3D) and in pixels (2D), label and score as the
hypothesis, track id as the id."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("geometry_msgs")

from builders import est, graph_of
from geometry_msgs.msg import Pose, PoseWithCovariance, Vector3
from std_msgs.msg import Header

from spatial_vqa_ros.nodes.vision_msgs_out import (
    detections_2d,
    detections_3d,
    vision_msgs_module,
)


def fake_vision_msgs() -> SimpleNamespace:
    """Classes with vision_msgs' (Humble+) field names and default construction."""

    class ObjectHypothesis:
        def __init__(self):
            self.class_id, self.score = "", 0.0

    class ObjectHypothesisWithPose:
        def __init__(self):
            self.hypothesis, self.pose = ObjectHypothesis(), PoseWithCovariance()

    class BoundingBox3D:
        def __init__(self):
            self.center, self.size = Pose(), Vector3()

    class Pose2D:
        def __init__(self):
            self.position, self.theta = SimpleNamespace(x=0.0, y=0.0), 0.0

    class BoundingBox2D:
        def __init__(self):
            self.center, self.size_x, self.size_y = Pose2D(), 0.0, 0.0

    class Detection3D:
        def __init__(self):
            self.header, self.results, self.bbox, self.id = Header(), [], BoundingBox3D(), ""

    class Detection2D:
        def __init__(self):
            self.header, self.results, self.bbox, self.id = Header(), [], BoundingBox2D(), ""

    class Detection3DArray:
        def __init__(self):
            self.header, self.detections = Header(), []

    class Detection2DArray:
        def __init__(self):
            self.header, self.detections = Header(), []

    return SimpleNamespace(**{c.__name__: c for c in (
        ObjectHypothesis, ObjectHypothesisWithPose, BoundingBox3D, BoundingBox2D,
        Detection3D, Detection2D, Detection3DArray, Detection2DArray)})


@pytest.fixture
def graph():
    return graph_of(est("mug", [2.0, 0.5, 0.06], (0.1, 0.12, 0.14), score=0.8),
                    est("lamp", [3.0, -0.6, 0.7], (0.3, 0.3, 1.4), score=0.6))


def test_3d_detections_are_the_floor_aligned_boxes(graph):
    m = fake_vision_msgs()
    header = Header(frame_id="camera_floor")
    out = detections_3d(m, graph, header)
    assert out.header.frame_id == "camera_floor" and len(out.detections) == 2
    by_label = {d.results[0].hypothesis.class_id: d for d in out.detections}
    mug = by_label["mug"]
    assert mug.id == str(graph.find("mug").id)
    assert mug.results[0].hypothesis.score == pytest.approx(0.8)
    assert (mug.bbox.center.position.x, mug.bbox.center.position.y,
            mug.bbox.center.position.z) == pytest.approx((2.0, 0.5, 0.06))
    assert (mug.bbox.size.x, mug.bbox.size.y, mug.bbox.size.z) == pytest.approx(
        tuple(graph.find("mug").extent_scene))
    assert mug.bbox.center.orientation.w == 1.0
    assert mug.results[0].pose.pose.position.x == pytest.approx(2.0)


def test_2d_detections_are_the_image_regions_in_the_camera_frame(graph):
    m = fake_vision_msgs()
    out = detections_2d(m, graph, Header(frame_id="camera_color_optical_frame"))
    assert out.header.frame_id == "camera_color_optical_frame"
    x0, y0, x1, y1 = graph.objects[0].roi_xyxy
    box = out.detections[0].bbox
    assert (box.center.position.x, box.center.position.y) == ((x0 + x1) / 2, (y0 + y1) / 2)
    assert (box.size_x, box.size_y) == (x1 - x0, y1 - y0)


def test_objects_out_of_view_are_not_detections(graph):
    from dataclasses import replace

    from spatial_vqa_ros.core.scene_graph import SceneGraph

    hidden = replace(graph, objects=(replace(graph.objects[0], visible=False),
                                     graph.objects[1]))
    assert isinstance(hidden, SceneGraph)
    m = fake_vision_msgs()
    assert len(detections_3d(m, hidden, Header()).detections) == 1
    assert len(detections_2d(m, hidden, Header()).detections) == 1


def test_the_module_is_used_only_where_it_imports(monkeypatch):
    import sys
    from types import ModuleType

    monkeypatch.setitem(sys.modules, "vision_msgs", None)  # import raises ImportError
    monkeypatch.setitem(sys.modules, "vision_msgs.msg", None)
    assert vision_msgs_module() is None
    package, messages = ModuleType("vision_msgs"), ModuleType("vision_msgs.msg")
    package.msg = messages
    monkeypatch.setitem(sys.modules, "vision_msgs", package)
    monkeypatch.setitem(sys.modules, "vision_msgs.msg", messages)
    assert vision_msgs_module() is messages

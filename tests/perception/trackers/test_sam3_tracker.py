"""sam3_tracker: a tiny random Sam3TrackerVideoModel through the shared video-memory
code (its snapshot loaded by the factory): state across frames, a bounded session,
one session per camera."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from video_models import save_sam3_snapshot, tiny_sam3_tracker  # noqa: E402

from spatial_vqa_ros.perception.factories import PerceptionSpec, build_tracker  # noqa: E402
from spatial_vqa_ros.perception.protocols import Tracker  # noqa: E402
from spatial_vqa_ros.perception.trackers.sam3_tracker import Sam3Tracker  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs, TrackingFrame  # noqa: E402

SIZE_HW = (48, 60)


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


@pytest.fixture(scope="module")
def tracker(tmp_path_factory):
    path = save_sam3_snapshot(tiny_sam3_tracker(), tmp_path_factory.mktemp("sam3") / "s3")
    built = build_tracker(PerceptionSpec(tracker="sam3_tracker", tracker_model=str(path)))
    assert isinstance(built, Sam3Tracker) and isinstance(built, Tracker)
    return built


def frame(k: int) -> TrackingFrame:
    rgb = np.random.default_rng(k).integers(0, 256, (*SIZE_HW, 3), dtype=np.uint8)
    return TrackingFrame(SensorInputs(rgb), None, k)


MASKS = np.zeros((2, *SIZE_HW), bool)
MASKS[0, 5:25, 5:30] = True
MASKS[1, 20:45, 30:58] = True
IDS = np.array([4, 9])


def test_the_factory_loads_the_sam3_family(tracker):
    assert tracker.name == "sam3_tracker:s3" and tracker.family.name == "sam3_tracker"
    assert tracker.processing.mean == (0.5, 0.5, 0.5)


def test_state_carries_across_frames_per_object(tracker):
    a, b = tracker.for_camera(), tracker.for_camera()
    a.init(frame(0), MASKS, IDS)
    b.init(frame(0), MASKS[::-1], IDS)
    for k in range(1, 4):
        ra, rb = a.track(frame(k)), b.track(frame(k))
        assert not np.array_equal(ra.confidence, rb.confidence)
        np.testing.assert_array_equal(ra.confidence, rb.confidence[::-1])


def test_the_session_stays_bounded_and_cameras_are_apart(tracker):
    cam_a, cam_b = tracker.for_camera(), tracker.for_camera()
    cam_a.init(frame(0), MASKS, IDS)
    cam_b.init(frame(0), MASKS[:1], IDS[:1])
    sizes = []
    for k in range(1, 61):
        cam_a.track(frame(k))
        sizes.append(cam_a.session_bytes())
    window = cam_a.window.recent_frames
    assert len(set(sizes[window + 1:])) == 1
    assert cam_b.session.obj_ids == [4] and len(cam_b.session.processed_frames) == 1

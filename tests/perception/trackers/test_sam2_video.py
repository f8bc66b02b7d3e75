"""The learned trackers (sam2_video; sam3_tracker shares its code) on a tiny random
Sam2VideoModel, through the real code: masks equal the model's own unpruned session
frame by frame, the session stays bounded over 1,000 frames, one session per camera,
the seam's update/drop contract, the processor's arithmetic, and loading errors."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from video_models import VIDEO_SIZE, save_snapshot, tiny_sam2_video  # noqa: E402

from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.factories import PerceptionSpec, build_tracker  # noqa: E402
from spatial_vqa_ros.perception.families.processing import resize_then_normalize  # noqa: E402
from spatial_vqa_ros.perception.protocols import Tracker  # noqa: E402
from spatial_vqa_ros.perception.trackers.sam2_video import (  # noqa: E402
    Sam2VideoTracker,
    prompt_masks,
    upscale_logits,
)
from spatial_vqa_ros.perception.trackers.video_session import SessionWindow  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs, TrackingFrame  # noqa: E402

SIZE_HW = (48, 60)


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    return save_snapshot(tiny_sam2_video(), tmp_path_factory.mktemp("sam2v") / "sam2v-tiny")


@pytest.fixture(scope="module")
def tracker(snapshot):
    return Sam2VideoTracker.from_pretrained(snapshot)


def frame(k: int, size_hw=SIZE_HW) -> TrackingFrame:
    rgb = np.random.default_rng(k).integers(0, 256, (*size_hw, 3), dtype=np.uint8)
    return TrackingFrame(SensorInputs(rgb), None, k * 66_666_667)


def box_masks(*boxes, size_hw=SIZE_HW) -> np.ndarray:
    masks = np.zeros((len(boxes), *size_hw), bool)
    for mask, (y0, x0, y1, x1) in zip(masks, boxes):
        mask[y0:y1, x0:x1] = True
    return masks


MASKS = box_masks((5, 5, 25, 30), (20, 30, 45, 58))
IDS = np.array([7, 3], np.int64)


def reference_logits(model, processing, frames: list[TrackingFrame]) -> list:
    """The model's own streaming path, unpruned: masks as prompts on the first frame,
    then one streamed frame at a time."""
    from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

    session = Sam2VideoInferenceSession(video_height=SIZE_HW[0], video_width=SIZE_HW[1],
                                        dtype=torch.float32)
    out = []
    with torch.inference_mode():
        pixels = resize_then_normalize(frames[0].inputs.rgb, processing)
        idx = session.add_new_frame(pixels)
        prompts = prompt_masks(MASKS, VIDEO_SIZE, "cpu")
        for obj_id, prompt in zip(IDS.tolist(), prompts):
            session.add_mask_inputs(session.obj_id_to_idx(obj_id), idx, prompt[None, None])
        session.obj_with_new_inputs = IDS.tolist()
        out.append(model(inference_session=session, frame_idx=idx).pred_masks)
        for f in frames[1:]:
            pixels = resize_then_normalize(f.inputs.rgb, processing)
            out.append(model(inference_session=session, frame=pixels[0]).pred_masks)
    return out, session


def test_masks_equal_the_models_unpruned_session_frame_by_frame(tracker):
    frames = [frame(k) for k in range(30)]
    expected, unpruned = reference_logits(tracker.model, tracker.processing, frames)
    mine = tracker.for_camera()
    assert isinstance(mine, Tracker) and mine.name == "sam2_video:sam2v-tiny"
    mine.init(frames[0], MASKS, IDS)
    results = [mine.track(f) for f in frames[1:]]
    for logits, result in zip(expected[1:], results):
        np.testing.assert_array_equal(result.ids, IDS)
        masks = upscale_logits(logits.float(), (VIDEO_SIZE, VIDEO_SIZE), SIZE_HW)
        masks[result.lost] = False
        np.testing.assert_array_equal(result.masks, masks)
    assert any(0 < r.masks.mean() < 1 for r in results), "masks should not be constant"
    # the unpruned session kept every frame; the tracker's holds one
    assert len(unpruned.processed_frames) == 30 and len(mine.session.processed_frames) == 1
    assert mine.session_bytes() < unpruned_bytes(unpruned) / 2


def unpruned_bytes(session) -> int:
    from spatial_vqa_ros.perception.trackers.video_session import session_bytes

    return session_bytes(session)


def test_state_carries_across_frames(tracker):
    """The same frames give other masks after other prompts: the memory carries them."""
    a, b = tracker.for_camera(), tracker.for_camera()
    a.init(frame(0), MASKS, IDS)
    b.init(frame(0), MASKS[::-1], IDS)
    for k in range(1, 6):
        ra, rb = a.track(frame(k)), b.track(frame(k))
        # each id's state follows its own prompt: swapping the prompts swaps the outputs
        assert not np.array_equal(ra.confidence, rb.confidence)
        np.testing.assert_array_equal(ra.confidence, rb.confidence[::-1])
        np.testing.assert_array_equal(ra.masks, rb.masks[::-1])
    assert ((ra.confidence >= 0) & (ra.confidence <= 1)).all()


def test_the_session_stays_bounded_over_1000_frames(tracker):
    mine = tracker.for_camera()
    mine.init(frame(0), MASKS, IDS)
    frames = [frame(k % 50 + 1) for k in range(1000)]
    sizes = []
    for k, f in enumerate(frames):
        mine.track(TrackingFrame(f.inputs, None, (k + 1) * 66_666_667))
        sizes.append(mine.session_bytes())
    window = mine.window.recent_frames
    assert max(sizes[window + 1:]) == min(sizes[window + 1:]) == sizes[-1]
    outputs = mine.session.output_dict_per_obj[0]
    assert len(outputs["non_cond_frame_outputs"]) == window
    assert len(outputs["cond_frame_outputs"]) == 1
    assert len(mine.session.frames_tracked_per_obj[0]) == window
    kept = [*outputs["non_cond_frame_outputs"].values(), *outputs["cond_frame_outputs"].values()]
    assert not any("high_res_masks" in out for out in kept)


def test_one_session_per_camera_and_init_resets(tracker):
    alone = tracker.for_camera()
    alone.init(frame(0), MASKS, IDS)
    expected = [alone.track(frame(k)).masks for k in range(1, 5)]
    cam_a, cam_b = tracker.for_camera(), tracker.for_camera()
    assert cam_a.model is cam_b.model and cam_a.session is None
    cam_a.init(frame(0), MASKS, IDS)
    cam_b.init(frame(100, (40, 40)), box_masks((0, 0, 10, 10), size_hw=(40, 40)),
               np.array([1]))
    for k in range(1, 5):
        cam_b.track(frame(100 + k, (40, 40)))
        np.testing.assert_array_equal(cam_a.track(frame(k)).masks, expected[k - 1])
    cam_a.init(frame(9), MASKS[:1], np.array([42]))
    assert cam_a.result().ids.tolist() == [42]
    assert cam_a.session.obj_ids == [42] and len(cam_a.session.output_dict_per_obj) == 1


def test_update_tracks_then_corrects_and_adds_in_order(tracker):
    mine = tracker.for_camera()
    mine.init(frame(0), MASKS[:1], IDS[:1])
    mine.track(frame(1))
    new = box_masks((30, 0, 48, 20))
    mine.update(frame(2), np.concatenate([MASKS[:1], new]), np.array([7, 11]))
    result = mine.result()
    assert result.ids.tolist() == [7, 11]
    # both are prompts on frame 2 now: conditioning frames of the memory
    for obj_idx in (0, 1):
        outputs = mine.session.output_dict_per_obj[obj_idx]
        assert 2 in outputs["cond_frame_outputs"] and 2 not in outputs["non_cond_frame_outputs"]
    assert mine.track(frame(3)).ids.tolist() == [7, 11]
    assert mine.track(frame(3)).masks.shape == (2, *SIZE_HW)  # same stamp: same result


def test_drop_forgets_ids_and_ignores_unknown_ones(tracker):
    mine = tracker.for_camera()
    mine.init(frame(0), MASKS, IDS)
    mine.drop(np.array([7, 999]))
    assert mine.result().ids.tolist() == [3]
    assert mine.track(frame(1)).ids.tolist() == [3]
    mine.drop(np.array([3]))
    assert len(mine.track(frame(2))) == 0
    mine.update(frame(3), MASKS[:1], np.array([5]))
    assert mine.track(frame(4)).ids.tolist() == [5]


def test_track_before_init_and_a_new_resolution_are_refused(tracker):
    mine = tracker.for_camera()
    with pytest.raises(PerceptionError, match="track\\(\\) before init"):
        mine.track(frame(0))
    mine.init(frame(0), MASKS, IDS)
    with pytest.raises(PerceptionError, match="one tracker per camera"):
        mine.track(frame(1, (40, 40)))
    with pytest.raises(PerceptionError, match="tracker masks must have shape"):
        mine.update(frame(1), MASKS[:1], IDS)


def test_prompts_are_the_processors_mask_arithmetic():
    from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession
    from transformers.models.sam2_video.processing_sam2_video import Sam2VideoProcessor

    session = Sam2VideoInferenceSession(dtype=torch.float32)
    Sam2VideoProcessor.process_new_mask_for_video_frame(
        SimpleNamespace(target_size=VIDEO_SIZE), session, 0, IDS.tolist(),
        [m for m in MASKS])
    mine = prompt_masks(MASKS, VIDEO_SIZE, "cpu")
    for k in range(len(IDS)):
        torch.testing.assert_close(session.mask_inputs_per_obj[k][0][0, 0], mine[k],
                                   rtol=0, atol=0)


def test_masks_are_the_video_processors_post_processing():
    from transformers.models.sam2_video.video_processing_sam2_video import (
        Sam2VideoVideoProcessor,
    )

    logits = torch.randn(3, 1, 16, 16)
    expected = Sam2VideoVideoProcessor.post_process_masks(
        SimpleNamespace(size={"height": VIDEO_SIZE, "width": VIDEO_SIZE}), [logits.clone()],
        [list(SIZE_HW)], [[VIDEO_SIZE, VIDEO_SIZE]])[0]
    np.testing.assert_array_equal(upscale_logits(logits, (VIDEO_SIZE, VIDEO_SIZE), SIZE_HW),
                                  expected[:, 0].numpy())


def test_the_factory_builds_it_from_tracker_model(snapshot):
    built = build_tracker(PerceptionSpec(tracker="sam2_video", tracker_model=str(snapshot)))
    assert isinstance(built, Sam2VideoTracker)


def test_loading_errors_say_what_to_do(snapshot, tmp_path):
    with pytest.raises(PerceptionError, match="sam2_video needs a model.*tracker_model.*"
                       "sam2_1_hiera_tiny_video"):
        build_tracker(PerceptionSpec(tracker="sam2_video"))
    with pytest.raises(PerceptionError, match="weights not found at .*nowhere"):
        build_tracker(PerceptionSpec(tracker="sam2_video",
                                     tracker_model=str(tmp_path / "nowhere")))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_bytes((snapshot / "config.json").read_bytes())
    (broken / "preprocessor_config.json").write_bytes(
        (snapshot / "preprocessor_config.json").read_bytes())
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(PerceptionError, match="corrupt"):
        build_tracker(PerceptionSpec(tracker="sam2_video", tracker_model=str(broken)))
    with pytest.raises(PerceptionError, match="sam2_video has no onnxruntime path"):
        build_tracker(PerceptionSpec(tracker="sam2_video", tracker_model=str(snapshot),
                                     perception_runtime="onnxruntime"))


def test_a_foreign_snapshot_is_refused(snapshot, tmp_path):
    import json
    import shutil

    foreign = tmp_path / "foreign"
    shutil.copytree(snapshot, foreign)
    config = json.loads((foreign / "config.json").read_text())
    (foreign / "config.json").write_text(json.dumps({**config, "model_type": "owlv2"}))
    with pytest.raises(PerceptionError, match="holds a 'owlv2' model"):
        Sam2VideoTracker.from_pretrained(foreign)


def test_a_session_window_keeps_at_least_one_frame():
    with pytest.raises(PerceptionError, match="at least one recent"):
        SessionWindow(0, 4)

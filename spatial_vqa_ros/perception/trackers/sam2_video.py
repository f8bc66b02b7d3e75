"""``sam2_video`` and ``sam3_tracker``: objects' masks carried between keyframes by a
learned video memory (transformers ``Sam2VideoModel`` / ``Sam3TrackerVideoModel``, one
API), fed frame by frame.

One tracker is one camera's stream: it owns one inference session (its memory of the
objects); ``init`` starts a new one. Several trackers may share one loaded model
(:meth:`VideoMemoryTracker.for_camera`), each with its own session.

How the seam maps onto the session:

- ``init`` / ``update``: the masks are the objects' prompts on that frame (a
  conditioning frame of the model's memory), ``processor.add_inputs_to_inference_session
  (input_masks=...)``'s arithmetic (bilinear, antialiased, to the model's square input,
  then >= 0.5). ``update`` on a new frame first tracks every object onto it.
- ``track``: one streamed frame through the model; each object's mask is its logits > 0
  at the original size, its confidence the sigmoid of the model's object score, and it
  is lost where the score says the object is absent (logit <= 0) or the mask is smaller
  than ``min_pixels``. The memory keeps looking for a lost object: it may come back on
  a later frame, as SAM 2 is trained to do across occlusions.
- ``drop``: the objects are removed from the session (transformers has no call for it).

The session is pruned after every step (:mod:`.video_session`), as transformers keeps
every frame's pixels and every object's outputs by default (about 12 MB a frame at
1024 px: out of memory within minutes at 15 Hz).

Pre-processing is SAM2's image processor, reproduced without torchvision
(:func:`~..families.processing.resize_then_normalize`): the transformers streaming path
feeds each frame through ``Sam2VideoProcessor(images=frame)``, which is that image
processor; its video processor (``Sam2VideoVideoProcessor``) and SAM 3's image
processor (``Sam3ImageProcessor``) are the same ``TorchvisionBackend`` resize (bilinear,
antialiased) then fused rescale + normalise, with their own size / mean / std, read
here from the snapshot's ``preprocessor_config.json``. Masks come back as
``post_process_masks`` makes them: bilinear to the square input size, then bilinear to
the original size, then > 0.

torch and transformers are imported when a model is loaded or run, not on import.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PerceptionError
from ..families.common import load_errors, load_failed, snapshot_config
from ..families.processing import ImageProcessing, read_image_processing, resize_then_normalize
from ..types import TrackedMasks, TrackingFrame
from .depth_flow import _checked
from .video_session import SessionWindow, drop_objects, prune_session, session_bytes


@dataclass(frozen=True)
class VideoFamily:
    """What differs between the two families: names, classes, checkpoint, defaults."""

    name: str
    label: str
    model_class: str
    session_module: str
    session_class: str
    model_types: tuple[str, ...]
    hub_id: str
    size_hw: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


SAM2_VIDEO = VideoFamily(
    "sam2_video", "SAM2 video", "Sam2VideoModel",
    "transformers.models.sam2_video.modeling_sam2_video", "Sam2VideoInferenceSession",
    ("sam2_video", "sam2"), "facebook/sam2.1-hiera-tiny", (1024, 1024),
    (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
SAM3_TRACKER = VideoFamily(
    "sam3_tracker", "SAM3 tracker", "Sam3TrackerVideoModel",
    "transformers.models.sam3_tracker_video.modeling_sam3_tracker_video",
    "Sam3TrackerVideoInferenceSession",
    ("sam3_tracker_video", "sam3_video", "sam3"), "facebook/sam3", (1008, 1008),
    (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


class VideoMemoryTracker:
    """A :class:`~spatial_vqa_ros.perception.protocols.Tracker` on a loaded video model.

    ``processing``: the frames' pre-processing; ``window``: how much of the session is
    kept (:class:`~.video_session.SessionWindow`); ``min_pixels``: a smaller mask is
    lost. State: the session, the last frame's stamp and size, and the last result.
    """

    def __init__(self, model: Any, processing: ImageProcessing, *,
                 family: VideoFamily = SAM2_VIDEO, name: str = "", device: str = "cpu",
                 window: SessionWindow | None = None, min_pixels: int = 20) -> None:
        if processing.size_hw[0] != processing.size_hw[1]:
            raise PerceptionError(f"{family.name}: the model's input must be square, got "
                                  f"{processing.size_hw}")
        self.model = model.to(device).eval()
        self.processing = processing
        self.family = family
        self.name = name or family.name
        self.device = device
        self.window = window or SessionWindow.for_model(model.config)
        self.min_pixels = int(min_pixels)
        self.session: Any = None
        self._stamp_ns: int | None = None
        self._size_hw: tuple[int, int] | None = None
        self._result = _empty((0, 0))

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, family: VideoFamily = SAM2_VIDEO,
                        device: str = "cpu", **options: Any) -> VideoMemoryTracker:
        """Load the model and its pre-processing from a local snapshot (never downloads,
        no remote code); errors say how to get the weights."""
        directory, config = snapshot_config(model_dir, family.label, family.hub_id)
        if config.get("model_type") not in family.model_types:
            raise PerceptionError(f"{directory} holds a {config.get('model_type')!r} model; "
                                  f"the {family.name} tracker runs {family.model_types} "
                                  "snapshots")
        processing = read_image_processing(directory, family.name,
                                           default_size_hw=family.size_hw,
                                           default_mean=family.mean, default_std=family.std)
        import transformers

        try:
            model = getattr(transformers, family.model_class).from_pretrained(
                directory, local_files_only=True)
        except load_errors() as error:
            raise load_failed(family.label, directory, family.hub_id, error) from None
        return cls(model, processing, family=family, name=f"{family.name}:{directory.name}",
                   device=device, **options)

    def for_camera(self) -> VideoMemoryTracker:
        """Another tracker on the same loaded model, with its own session (one per
        camera)."""
        return type(self)(self.model, self.processing, family=self.family, name=self.name,
                          device=self.device, window=self.window, min_pixels=self.min_pixels)

    # --- the seam -----------------------------------------------------------
    def init(self, frame: TrackingFrame, masks: np.ndarray, ids: np.ndarray) -> None:
        masks, ids = _checked(frame, masks, ids)
        session_class = getattr(importlib.import_module(self.family.session_module),
                                self.family.session_class)
        import torch

        height, width = frame.size_hw
        self.session = session_class(video_height=height, video_width=width,
                                     inference_device=self.device,
                                     inference_state_device=self.device,
                                     video_storage_device=self.device, dtype=torch.float32)
        self._size_hw = frame.size_hw
        self._stamp_ns = None
        self._result = _empty(frame.size_hw)
        self._prompt(frame, masks, ids)

    def update(self, frame: TrackingFrame, masks: np.ndarray, ids: np.ndarray) -> None:
        masks, ids = _checked(frame, masks, ids)
        if self.session is None or frame.size_hw != self._size_hw:
            self.init(frame, masks, ids)
            return
        if frame.stamp_ns != self._stamp_ns and len(self.session.obj_ids):
            self.track(frame)  # every object onto this frame first
        self._prompt(frame, masks, ids)

    def drop(self, ids: np.ndarray) -> None:
        if self.session is None:
            return
        ids = np.asarray(ids, np.int64).reshape(-1)
        drop_objects(self.session, [int(i) for i in ids])
        keep = ~np.isin(self._result.ids, ids)
        r = self._result
        self._result = TrackedMasks(r.ids[keep], r.masks[keep], r.confidence[keep],
                                    r.lost[keep])

    def track(self, frame: TrackingFrame) -> TrackedMasks:
        if self.session is None:
            raise PerceptionError(f"{self.family.name}: track() before init(): give the "
                                  "tracker its objects' masks on a first frame")
        if frame.size_hw != self._size_hw:
            raise PerceptionError(f"{self.family.name}: frame is {frame.size_hw}, the tracked "
                                  f"objects' frame {self._size_hw}: one tracker per camera, "
                                  "init() again after a resolution change")
        if frame.stamp_ns == self._stamp_ns:
            return self.result()
        if not self.session.obj_ids:
            self._stamp_ns = frame.stamp_ns
            return self.result()
        import torch

        with torch.inference_mode():
            pixels = resize_then_normalize(frame.inputs.rgb, self.processing,
                                           device=self.device)
            out = self.model(inference_session=self.session, frame=pixels[0],
                             frame_idx=self._next_frame_idx())
        self._finish(frame, out)
        return self.result()

    # --- the steps ----------------------------------------------------------
    def result(self) -> TrackedMasks:
        """Every object on the last frame seen (copies)."""
        r = self._result
        return TrackedMasks(r.ids.copy(), r.masks.copy(), r.confidence.copy(), r.lost.copy())

    def session_bytes(self) -> int:
        """Bytes of tensors the session holds (what pruning bounds)."""
        return 0 if self.session is None else session_bytes(self.session)

    def _next_frame_idx(self) -> int:
        """The index of a new frame: explicit, as the session would number it by how
        many frames it holds, which pruning keeps at one."""
        frames = self.session.processed_frames
        return max(frames) + 1 if frames else 0

    def _prompt(self, frame: TrackingFrame, masks: np.ndarray, ids: np.ndarray) -> None:
        """These masks as the objects' prompts on ``frame``, and the model run on it."""
        if not len(ids):
            self._stamp_ns = frame.stamp_ns
            return
        import torch

        session = self.session
        size = self.processing.size_hw[0]
        with torch.inference_mode():
            if frame.stamp_ns != self._stamp_ns:
                pixels = resize_then_normalize(frame.inputs.rgb, self.processing,
                                               device=self.device)
                frame_idx = session.add_new_frame(pixels, self._next_frame_idx())
            else:
                frame_idx = max(session.processed_frames)
            prompts = prompt_masks(masks, size, self.device)
            for obj_id, prompt in zip(ids.tolist(), prompts):
                obj_idx = session.obj_id_to_idx(int(obj_id))
                session.add_mask_inputs(obj_idx, frame_idx, prompt[None, None])
                session.remove_point_inputs(obj_idx, frame_idx)
                # a prompt on a frame already tracked conditions the memory too (the
                # model would store it as a tracked frame, pruned with the others)
                session.frames_tracked_per_obj[obj_idx].pop(frame_idx, None)
                session.output_dict_per_obj[obj_idx]["non_cond_frame_outputs"].pop(
                    frame_idx, None)
            session.obj_with_new_inputs = [int(i) for i in ids]
            out = self.model(inference_session=session, frame_idx=frame_idx)
        self._finish(frame, out)

    def _finish(self, frame: TrackingFrame, out: Any) -> None:
        """The model's output on ``frame`` as the result; the session pruned."""
        import torch

        logits = out.pred_masks.float()
        if logits.ndim == 3:
            logits = logits[:, None]
        masks = upscale_logits(logits, self.processing.size_hw, frame.size_hw)
        scores = out.object_score_logits.float().reshape(-1)
        confidence = torch.sigmoid(scores).cpu().numpy().astype(np.float32)
        lost = (scores.cpu().numpy() <= 0) | (
            masks.reshape(len(masks), -1).sum(axis=1) < self.min_pixels)
        masks[lost] = False
        confidence[lost] = 0.0
        ids = np.asarray(out.object_ids, np.int64).reshape(-1)
        self._result = TrackedMasks(ids, masks, confidence, lost)
        self._stamp_ns = frame.stamp_ns
        prune_session(self.session, int(out.frame_idx), self.window)


def prompt_masks(masks: np.ndarray, size: int, device: str) -> Any:
    """(N, H, W) bool -> (N, size, size) float32 0/1: the processor's mask prompts
    (``process_new_mask_for_video_frame``: bilinear, antialiased, then >= 0.5)."""
    import torch

    prompts = torch.from_numpy(np.ascontiguousarray(masks)).to(device).float()[:, None]
    if tuple(prompts.shape[-2:]) != (size, size):
        prompts = torch.nn.functional.interpolate(prompts, size=(size, size), mode="bilinear",
                                                  align_corners=False, antialias=True)
        prompts = (prompts >= 0.5).float()
    return prompts[:, 0]


def upscale_logits(logits: Any, input_hw: tuple[int, int], original_hw: tuple[int, int]
                   ) -> np.ndarray:
    """(N, 1, h, w) low-resolution logits -> (N, H, W) bool: ``post_process_masks``
    (bilinear to the square input, then bilinear to the original size, > 0)."""
    import torch

    f = torch.nn.functional
    if not len(logits):
        return np.zeros((0, *original_hw), bool)
    square = f.interpolate(logits, size=list(input_hw), mode="bilinear", align_corners=False)
    full = f.interpolate(square, size=list(original_hw), mode="bilinear", align_corners=False)
    return (full > 0)[:, 0].cpu().numpy()


def _empty(size_hw: tuple[int, int]) -> TrackedMasks:
    return TrackedMasks(np.zeros(0, np.int64), np.zeros((0, *size_hw), bool),
                        np.zeros(0, np.float32), np.zeros(0, bool))


class Sam2VideoTracker(VideoMemoryTracker):
    """``sam2_video``: SAM 2.1's video memory (``Sam2VideoModel``)."""

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu",
                        **options: Any) -> VideoMemoryTracker:
        return super().from_pretrained(model_dir, family=SAM2_VIDEO, device=device, **options)


__all__ = ["SAM2_VIDEO", "SAM3_TRACKER", "Sam2VideoTracker", "VideoFamily",
           "VideoMemoryTracker", "prompt_masks", "upscale_logits"]

"""A transformers video inference session (``Sam2VideoInferenceSession`` and SAM 3's
subclass) kept to a bounded window, and objects removed from it.

Why: the session keeps every streamed frame's pixels (3 x 1024 x 1024 float32, 12 MB a
frame) and every object's outputs on every frame, so a camera at 15 Hz runs out of
memory within minutes. What the model reads back from it is small and recent:

- the memory attention reads an object's non-conditioning outputs of the last
  ``num_maskmem - 1`` frames and its object pointers of the last
  ``max_object_pointers_in_encoder - 1`` frames;
- every conditioning frame (a prompt: ``init``/``update``) up to the current one gives
  a pointer, and ``max_cond_frame_num`` of them (all when -1) give memory;
- the current frame's pixels and features (the features are cached for one frame).

So :func:`prune_session` keeps, per object, the outputs of the last ``recent_frames``
frames and of the last ``conditioning_frames`` prompts (less their full-resolution
masks, which only the step that made them reads), and only the current frame's pixels,
features and inputs. With a fixed set of objects the session's size is then
constant from about ``recent_frames`` frames on (tested over 1,000 frames).

What changes against an unpruned session: prompts older than the last
``conditioning_frames`` no longer condition the memory (SAM 3's tracker already limits
this to 4 by default; SAM 2.1 uses all of them, which grows without bound).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..errors import PerceptionError


@dataclass(frozen=True)
class SessionWindow:
    """How much of a session is kept: each object's outputs of the last
    ``recent_frames`` frames, and of its last ``conditioning_frames`` prompts."""

    recent_frames: int = 16
    conditioning_frames: int = 4

    def __post_init__(self) -> None:
        if self.recent_frames < 1 or self.conditioning_frames < 1:
            raise PerceptionError(f"a session window keeps at least one recent and one "
                                  f"conditioning frame, got {self.recent_frames} and "
                                  f"{self.conditioning_frames}")

    @classmethod
    def for_model(cls, config: Any, conditioning_frames: int = 4) -> SessionWindow:
        """The smallest window that changes nothing the model reads on a new frame, but
        the conditioning frames beyond ``conditioning_frames`` (or the model's own
        ``max_cond_frame_num`` when smaller)."""
        recent = max(int(getattr(config, "num_maskmem", 7)),
                     int(getattr(config, "max_object_pointers_in_encoder", 16)))
        limit = int(getattr(config, "max_cond_frame_num", -1))
        keep = conditioning_frames if limit < 1 else min(limit, conditioning_frames)
        return cls(recent, keep)


def prune_session(session: Any, frame_idx: int, window: SessionWindow) -> None:
    """Drop from ``session`` what no later frame reads (module docstring), ``frame_idx``
    being the frame just processed."""
    oldest = frame_idx - window.recent_frames
    for obj_idx, outputs in session.output_dict_per_obj.items():
        recent = outputs["non_cond_frame_outputs"]
        for k in [k for k in recent if k <= oldest]:
            del recent[k]
        conditioning = outputs["cond_frame_outputs"]
        for k in sorted(conditioning)[:-window.conditioning_frames]:
            del conditioning[k]
        for kept in (*recent.values(), *conditioning.values()):
            # full-resolution masks (4 MB an object a frame at 1024 px), read only by the
            # memory encoder of the step that made them
            kept.pop("high_res_masks", None)
        tracked = session.frames_tracked_per_obj.get(obj_idx, {})
        for k in [k for k in tracked if k <= oldest]:
            del tracked[k]
        for inputs in (session.mask_inputs_per_obj.get(obj_idx, {}),
                       session.point_inputs_per_obj.get(obj_idx, {})):
            for k in [k for k in inputs if k != frame_idx]:
                del inputs[k]
    frames = session.processed_frames or {}
    for k in [k for k in frames if k != frame_idx]:
        del frames[k]
    features = session.cache._vision_features
    for k in [k for k in features if k != frame_idx]:
        del features[k]


def drop_objects(session: Any, obj_ids: list[int]) -> None:
    """Remove these object ids from ``session`` (unknown ids are ignored); the others
    keep their memory, renumbered in their order."""
    gone = set(obj_ids)
    kept = [(obj_id, session._obj_id_to_idx[obj_id]) for obj_id in session.obj_ids
            if obj_id not in gone]
    if len(kept) == len(session.obj_ids):
        return
    per_object = ("point_inputs_per_obj", "mask_inputs_per_obj", "output_dict_per_obj",
                  "frames_tracked_per_obj")
    renumbered = {name: {new: getattr(session, name)[old]
                         for new, (_, old) in enumerate(kept)} for name in per_object}
    for name, value in renumbered.items():
        setattr(session, name, value)
    session._obj_id_to_idx = OrderedDict((obj_id, new) for new, (obj_id, _) in enumerate(kept))
    session._obj_idx_to_id = OrderedDict((new, obj_id) for new, (obj_id, _) in enumerate(kept))
    session.obj_ids = [obj_id for obj_id, _ in kept]
    session.obj_with_new_inputs = [i for i in session.obj_with_new_inputs if i not in gone]


def session_bytes(session: Any) -> int:
    """Bytes of the tensors ``session`` holds (pixels, cached features, per-object
    inputs and outputs), each tensor counted once."""
    seen: set[int] = set()

    def walk(value: Any) -> int:
        if hasattr(value, "element_size") and hasattr(value, "numel"):
            if id(value) in seen:
                return 0
            seen.add(id(value))
            return int(value.numel() * value.element_size())
        if isinstance(value, dict):
            return sum(walk(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return sum(walk(v) for v in value)
        return 0

    return walk([session.processed_frames or {}, session.cache._vision_features,
                 session.output_dict_per_obj, session.mask_inputs_per_obj,
                 session.point_inputs_per_obj])


__all__ = ["SessionWindow", "drop_objects", "prune_session", "session_bytes"]

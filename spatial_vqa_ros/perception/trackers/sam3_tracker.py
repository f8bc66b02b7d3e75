"""``sam3_tracker``: SAM 3's tracker (transformers ``Sam3TrackerVideoModel``), the SAM 2
video API with SAM 3's backbone, run by the same code as ``sam2_video``
(:mod:`.sam2_video`); only its classes, checkpoint and pre-processing defaults differ
(:data:`~.sam2_video.SAM3_TRACKER`: 1008 px, mean and std 0.5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..families.processing import ImageProcessing
from .sam2_video import SAM3_TRACKER, VideoMemoryTracker


class Sam3Tracker(VideoMemoryTracker):
    """``sam3_tracker`` on a loaded ``Sam3TrackerVideoModel``."""

    def __init__(self, model: Any, processing: ImageProcessing, **options: Any) -> None:
        options.setdefault("family", SAM3_TRACKER)
        super().__init__(model, processing, **options)

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu",
                        **options: Any) -> VideoMemoryTracker:
        return super().from_pretrained(model_dir, family=SAM3_TRACKER, device=device,
                                       **options)


__all__ = ["Sam3Tracker"]

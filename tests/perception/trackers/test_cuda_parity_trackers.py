"""The learned tracker on a CUDA GPU follows the objects as it does on the CPU (issue 14's
GPU check): one tiny random Sam2VideoModel snapshot, loaded through the real code with
``device="cpu"`` and ``device="cuda"``, prompted with the same masks and streamed the
same frames. The session, prompts and memory live on the device, code no CPU machine
runs. Skipped (and reported as skipped) where torch sees no GPU; bench/gpu_check.sh
runs it on one."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA GPU (bench/gpu_check.sh runs it on one)")

from video_models import save_snapshot, tiny_sam2_video  # noqa: E402

from spatial_vqa_ros.perception.trackers.sam2_video import Sam2VideoTracker  # noqa: E402
from spatial_vqa_ros.perception.types import SensorInputs, TrackingFrame  # noqa: E402

SIZE_HW = (48, 60)
IDS = np.array([7, 3], np.int64)


def _frame(k: int) -> TrackingFrame:
    rgb = np.random.default_rng(k).integers(0, 256, (*SIZE_HW, 3), dtype=np.uint8)
    return TrackingFrame(SensorInputs(rgb), None, k * 66_666_667)


def _masks() -> np.ndarray:
    masks = np.zeros((2, *SIZE_HW), bool)
    masks[0, 5:25, 5:30] = True
    masks[1, 20:45, 30:58] = True
    return masks


def test_sam2_video_tracks_the_same_on_cuda(tmp_path):
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        snapshot = save_snapshot(tiny_sam2_video(), tmp_path / "sam2v-tiny")
        runs = []
        for device in ("cpu", "cuda"):
            tracker = Sam2VideoTracker.from_pretrained(snapshot, device=device)
            tracker.init(_frame(0), _masks(), IDS)
            runs.append([tracker.track(_frame(k)) for k in range(1, 5)])
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before
    assert any(r.masks.any() for r in runs[0]), "empty masks: parity would be vacuous"
    for cpu, gpu in zip(*runs):
        assert gpu.ids.tolist() == cpu.ids.tolist() == IDS.tolist()
        assert isinstance(gpu.masks, np.ndarray) and gpu.masks.shape == cpu.masks.shape
        assert np.count_nonzero(gpu.masks != cpu.masks) <= 0.002 * cpu.masks.size
        np.testing.assert_allclose(gpu.confidence, cpu.confidence, atol=1e-3)
        assert gpu.lost.tolist() == cpu.lost.tolist()

"""Episode videos through PyAV, encoded as lerobot encodes them, and decoded back.

lerobot's RGB default (configs/video.py, video_utils.py): AV1 by ``libsvtav1``,
``yuv420p``, GOP 2, CRF 30, preset 12, ``svtav1-params fast-decode=0``, one frame per
``1/fps`` tick (pts = frame number, time base 1/fps), MP4 container. A video is
written to a temp file beside its target and renamed over it only when complete (see
``io.atomic``), so a killed run never leaves a half video under a final name.
"""

from __future__ import annotations

import contextlib
import logging
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from ...atomic import temp_file
from ...errors import DataIOError
from .format import VIDEO_CODEC, VIDEO_ENCODER, VIDEO_PIX_FMT
from .stats import ImageStats


def _av():
    try:
        import av
    except ImportError:  # pragma: no cover - av is a pinned dependency
        raise DataIOError("LeRobot videos need PyAV: pip install av (make setup installs "
                          "it)") from None
    logging.getLogger("libav").setLevel(logging.ERROR)
    os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its settings per video else
    return av


def codec_options() -> dict[str, str]:
    """The encoder options lerobot passes (VideoEncoderConfig.get_codec_options)."""
    return {"g": str(VIDEO_ENCODER["g"]), "crf": str(VIDEO_ENCODER["crf"]),
            "preset": str(VIDEO_ENCODER["preset"]),
            "svtav1-params": f"fast-decode={VIDEO_ENCODER['fast_decode']}"}


class VideoEncoder:
    """One episode's video of one camera, frame by frame, into a temp file.

    ``finish()`` flushes the encoder and returns the temp file's path (fsynced); the
    caller renames it into place. ``abort()`` removes it. Frames are (H, W, 3) uint8
    RGB of the size given.
    """

    def __init__(self, target: Path, fps: int, height: int, width: int) -> None:
        av = _av()
        self.height, self.width = height, width
        self.stats = ImageStats()
        self.frames = 0
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, self.path = temp_file(target.parent, target.name)
        os.close(fd)
        try:
            self._container = av.open(str(self.path), "w", format="mp4")
            self._stream = self._container.add_stream(VIDEO_CODEC, rate=fps,
                                                      options=codec_options())
            self._stream.pix_fmt = VIDEO_PIX_FMT
            self._stream.width, self._stream.height = width, height
            self._stream.time_base = Fraction(1, fps)
            self._time_base = Fraction(1, fps)
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise

    def add(self, frame_rgb: np.ndarray) -> None:
        av = _av()
        frame_rgb = np.asarray(frame_rgb)
        if frame_rgb.shape != (self.height, self.width, 3) or frame_rgb.dtype != np.uint8:
            raise DataIOError(f"a video frame must be ({self.height}, {self.width}, 3) uint8 "
                              f"RGB, got {frame_rgb.shape} {frame_rgb.dtype}")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_rgb), format="rgb24")
        frame.pts = self.frames
        frame.time_base = self._time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.stats.add(frame_rgb)
        self.frames += 1

    def finish(self) -> Path:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.encode()  # end of stream, or SVT-AV1 complains on close
        with contextlib.suppress(Exception):
            self._container.close()
        self.path.unlink(missing_ok=True)


def decode_frames(path: str | Path) -> np.ndarray:
    """Every frame of a video as (N, H, W, 3) uint8 RGB, in presentation order."""
    av = _av()
    try:
        with av.open(str(path)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    except (OSError, av.FFmpegError) as error:
        raise DataIOError(f"cannot decode video {path}: {error}") from None
    if not frames:
        return np.zeros((0, 0, 0, 3), dtype=np.uint8)
    return np.stack(frames)


def decode_timed(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Every frame of a video as (N, H, W, 3) uint8 RGB and its presentation time in
    seconds (N,), in presentation order: lerobot packs several episodes into one file
    and finds each by its from/to timestamps."""
    av = _av()
    try:
        with av.open(str(path)) as container:
            decoded = [(float(f.time if f.time is not None else 0.0),
                        f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    except (OSError, av.FFmpegError) as error:
        raise DataIOError(f"cannot decode video {path}: {error}") from None
    if not decoded:
        return np.zeros((0, 0, 0, 3), dtype=np.uint8), np.zeros(0)
    decoded.sort(key=lambda item: item[0])
    return (np.stack([frame for _, frame in decoded]),
            np.array([time for time, _ in decoded], np.float64))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 images or stacks, in dB (inf if equal)."""
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0 ** 2 / error))


__all__ = ["VideoEncoder", "codec_options", "decode_frames", "decode_timed", "psnr"]

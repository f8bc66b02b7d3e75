"""LeRobot v3.0 datasets, written with pyarrow and PyAV (no run-time lerobot dependency).

Layout of a dataset directory (lerobot 0.6.1's, codebase_version "v3.0")::

    meta/info.json                      fps, features (dtype/shape/names), paths, totals
    meta/stats.json                     per-feature min/max/mean/std/count/q01..q99
    meta/tasks.parquet                  task text -> task_index
    meta/episodes/chunk-000/file-000.parquet   one row per episode: place, tasks, stats
    data/chunk-XXX/file-XXX.parquet     the frames (one file per episode here)
    videos/<camera>/chunk-XXX/file-XXX.mp4     AV1 yuv420p, one file per episode here
    meta/spatial_vqa_ros.json           ours: settings, episode keys (lerobot ignores it)

Frames carry lerobot's columns (timestamp = frame_index / fps, frame_index,
episode_index, index, task_index), the caller's features (e.g. ``reward.<pair>``,
``distance.<pair>``, ``reached.<pair>``, ``scene_graph`` JSON) and, with
``language=True``, the ``language_persistent`` / ``language_events`` columns of
lerobot's annotation tooling (spatial VQA as ``vqa``-style user/assistant rows on the
keyframe they are about).

Guarantees (as ``io.datasets``' writer): every file is replaced atomically (temp file,
fsync, rename); an episode is committed by the episodes table's rewrite, so a run
killed at any point resumes with every committed episode kept once and the killed one
written anew; the settings are recorded and a directory written with others, or one
that is not ours, is refused; one writer per directory (a lock).

Modules: ``format`` (the format's constants and schemas), ``stats``, ``video``
(PyAV encode/decode), ``episodes`` (meta/episodes, tasks), ``files`` (leftovers),
``writer`` (:class:`LeRobotWriter`).
"""

from .video import decode_frames, psnr
from .writer import LeRobotCounts, LeRobotWriter

__all__ = ["LeRobotCounts", "LeRobotWriter", "decode_frames", "psnr"]

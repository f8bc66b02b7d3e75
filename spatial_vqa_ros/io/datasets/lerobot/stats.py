"""Feature statistics as lerobot keeps them: per episode, and over the dataset.

Keys and shapes follow lerobot's compute_stats.py: ``min max mean std count q01 q10
q50 q90 q99``; ``count`` has shape (1,); vectors keep their length; a video keeps a
channel axis, shape (3, 1, 1), with values scaled to [0, 1]. Strings and language
columns have none. The numbers differ from lerobot's in two stated ways: quantiles are
exact (``numpy.quantile``; lerobot estimates them from a 5,000-bin histogram) and a
video's statistics cover every pixel of every frame (exact from a 256-bin histogram per
channel; lerobot samples up to 100 frames, subsampled to ~150 px, and counts those).
The dataset's statistics combine episodes exactly as lerobot's ``aggregate_stats``
does (count-weighted means and quantiles, pooled variance).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .format import QUANTILES

Stats = dict[str, np.ndarray]


def column_stats(values: np.ndarray) -> Stats:
    """Statistics of one numeric column, ``values`` of shape (T,) or (T, n)."""
    data = np.asarray(values, dtype=np.float64)
    scalar = data.ndim == 1
    data = data.reshape(len(data), -1)
    out: Stats = {"min": data.min(axis=0), "max": data.max(axis=0),
                  "mean": data.mean(axis=0), "std": data.std(axis=0),
                  "count": np.array([len(data)], dtype=np.int64)}
    for key, q in QUANTILES.items():
        # lerobot gives a single sample's quantiles the mean (_compute_basic_stats)
        out[key] = out["mean"].copy() if len(data) < 2 else np.quantile(data, q, axis=0)
    if scalar:
        out = {k: v.reshape(1) if k != "count" else v for k, v in out.items()}
    return out


class ImageStats:
    """Running per-channel statistics of uint8 RGB frames (exact, from histograms)."""

    def __init__(self) -> None:
        self.frames = 0
        self._hist = np.zeros((3, 256), dtype=np.int64)

    def add(self, frame_rgb: np.ndarray) -> None:
        for c in range(3):
            self._hist[c] += np.bincount(frame_rgb[..., c].ravel(), minlength=256)
        self.frames += 1

    def stats(self) -> Stats:
        levels = np.arange(256, dtype=np.float64) / 255.0
        total = self._hist.sum(axis=1)
        mean = (self._hist * levels).sum(axis=1) / total
        var = (self._hist * (levels - mean[:, None]) ** 2).sum(axis=1) / total
        present = self._hist > 0
        out: Stats = {
            "min": np.array([levels[p][0] for p in present]),
            "max": np.array([levels[p][-1] for p in present]),
            "mean": mean, "std": np.sqrt(var),
        }
        cumulative = np.cumsum(self._hist, axis=1)
        for key, q in QUANTILES.items():
            # numpy's default (linear) quantile over the pixel values, from the histogram
            position = q * (total - 1)
            lo, hi = np.floor(position), np.ceil(position)
            at = [np.searchsorted(cumulative[c], [lo[c] + 1, hi[c] + 1]) for c in range(3)]
            low = np.array([levels[a[0]] for a in at])
            high = np.array([levels[a[1]] for a in at])
            out[key] = low + (high - low) * (position - lo)
        out = {k: v.reshape(3, 1, 1) for k, v in out.items()}
        out["count"] = np.array([self.frames], dtype=np.int64)
        return out


def aggregate(stats_list: Sequence[Mapping[str, Stats]]) -> dict[str, Stats]:
    """The dataset's statistics from its episodes' (compute_stats.aggregate_stats)."""
    keys = sorted({key for stats in stats_list for key in stats})
    out: dict[str, Stats] = {}
    for key in keys:
        items = [stats[key] for stats in stats_list if key in stats]
        means = np.stack([s["mean"] for s in items])
        variances = np.stack([s["std"] ** 2 for s in items])
        counts = np.stack([s["count"] for s in items]).astype(np.float64)
        total = counts.sum(axis=0)
        while counts.ndim < means.ndim:
            counts = np.expand_dims(counts, axis=-1)
        mean = (means * counts).sum(axis=0) / total
        variance = ((variances + (means - mean) ** 2) * counts).sum(axis=0) / total
        merged: Stats = {"min": np.min(np.stack([s["min"] for s in items]), axis=0),
                         "max": np.max(np.stack([s["max"] for s in items]), axis=0),
                         "mean": mean, "std": np.sqrt(variance),
                         "count": total.astype(np.int64)}
        for q in QUANTILES:
            merged[q] = (np.stack([s[q] for s in items]) * counts).sum(axis=0) / total
        out[key] = merged
    return out


def to_json(stats: Mapping[str, Stats]) -> dict[str, dict[str, list]]:
    """meta/stats.json's form (utils.serialize_dict): arrays as nested lists."""
    return {key: {name: np.asarray(value).tolist() for name, value in entry.items()}
            for key, entry in stats.items()}


def from_json(data: Mapping[str, Mapping[str, list]]) -> dict[str, Stats]:
    """Stats read back from an episodes row or stats.json."""
    return {key: {name: np.asarray(value) for name, value in entry.items()}
            for key, entry in data.items()}


__all__ = ["ImageStats", "aggregate", "column_stats", "from_json", "to_json"]

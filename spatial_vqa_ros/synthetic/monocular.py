"""Depth as a monocular model gets it wrong, and sensor depth as a sparse sensor gives it.

Monocular metric depth is right up to a global scale error plus a smooth low-frequency
warp; a cheap or distant depth sensor gives a few valid pixels. These make both from
exact rendered depth, so scale alignment is measured against truth (tests, benchmarks).
"""

from __future__ import annotations

import numpy as np


def corrupt(depth_m: np.ndarray, rng: np.random.Generator, warp: float,
            scale_range: tuple[float, float] = (0.7, 1.4)) -> tuple[np.ndarray, float]:
    """(model-like depth, its true scale factor): a global scale drawn from
    ``scale_range`` times a warp 1 + ``warp`` cos(pi (a x + b y) + phi) over the image."""
    h, w = depth_m.shape
    y, x = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    a, b = rng.uniform(-1, 1, 2)
    field = 1.0 + warp * np.cos(np.pi * (a * x + b * y) + rng.uniform(0, 2 * np.pi))
    factor = float(rng.uniform(*scale_range))
    return (depth_m * factor * field).astype(np.float32), factor


def sparse(depth_m: np.ndarray, rng: np.random.Generator, fraction: float = 0.01
           ) -> np.ndarray:
    """``fraction`` of the pixels of ``depth_m`` at random, NaN elsewhere."""
    out = np.full(depth_m.shape, np.nan, np.float32)
    keep = rng.random(depth_m.shape) < fraction
    out[keep] = depth_m[keep]
    return out


__all__ = ["corrupt", "sparse"]

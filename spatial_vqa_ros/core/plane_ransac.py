"""open3d's ``PointCloud.segment_plane`` (0.20, one thread, seeded), vectorised in numpy.

Why a copy and not a new RANSAC: the floor that open3d's RANSAC picks on warped
monocular depth decides the metric scale, and every other RANSAC tried (fewer
iterations or points, another sampler, an early exit) picked other planes and made the
worst scale error worse. This one draws the *same* hypotheses in the same order from
the same random stream (``std::mt19937`` seeded as ``open3d.utility.random.seed`` does,
``std::uniform_int_distribution`` as libstdc++ computes it) and keeps the same best
plane with the same early stop, so it returns open3d's plane up to floating-point
rounding. What changes is the cost: open3d scores one hypothesis at a time, point by
point; here a block of hypotheses is scored against every point at once (about 3 times
faster on 2,000 points, which makes the floor search of a cold start fit the camera's
frame time).

One :class:`Mt19937Stream` stands for open3d's global engine: seed it once, then pass
it to every :func:`segment_plane` call of a frame, as open3d's calls share its engine.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import CoreError

__all__ = ["Mt19937Stream", "segment_plane"]

#: open3d's default ``probability`` of ``segment_plane`` (its early stop).
PROBABILITY = 0.99999999
#: Hypotheses scored per numpy block: small enough to stop soon after an early break.
_BLOCK = 64
_TWO_32 = 1 << 32


class Mt19937Stream:
    """The raw 32-bit outputs of ``std::mt19937(seed)``, consumed in order.

    numpy's legacy seeding of MT19937 is the C++ standard's, so the outputs are the
    same as open3d's engine after ``open3d.utility.random.seed(seed)``.
    """

    def __init__(self, seed: int = 0) -> None:
        self._bits = np.random.RandomState(seed)._bit_generator  # legacy seeding
        self._buffer = np.empty(0, dtype=np.uint64)
        self._pos = 0

    def peek(self, count: int) -> np.ndarray:
        """The next ``count`` outputs without consuming them (uint64 holding uint32)."""
        missing = self._pos + count - self._buffer.size
        if missing > 0:
            fresh = self._bits.random_raw(max(missing, 1024)).astype(np.uint64)
            self._buffer = np.concatenate([self._buffer[self._pos:], fresh])
            self._pos = 0
        return self._buffer[self._pos:self._pos + count]

    def consume(self, count: int) -> None:
        self._pos += count


def _peek_indices(stream: Mt19937Stream, n: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The next ``count`` draws of ``std::uniform_int_distribution<size_t>(0, n - 1)``
    on the 32-bit engine, not consumed, and how many outputs each prefix uses.

    libstdc++ (GCC >= 11) draws as Lemire: multiply by ``n`` and keep the high half,
    rejecting a draw whose low half is below ``2**32 mod n`` (rare: a few in 10**6).
    """
    threshold = np.uint64(_TWO_32 % n)
    size = count + 8
    while True:
        product = stream.peek(size) * np.uint64(n)
        positions = np.flatnonzero((product & np.uint64(_TWO_32 - 1)) >= threshold)
        if positions.size >= count:
            positions = positions[:count]
            return (product[positions] >> np.uint64(32)).astype(np.int64), positions + 1
        size *= 2


def _sample_triples(stream: Mt19937Stream, n: int, iterations: int) -> np.ndarray:
    """open3d's ``RandomSampler``, once per iteration: draws until three distinct
    indices (a repeated draw is skipped, about one sample in 700 on 2,000 points)."""
    triples = np.empty((iterations, 3), dtype=np.int64)
    row = 0
    while row < iterations:
        rows = iterations - row
        draws, used = _peek_indices(stream, n, 3 * rows)
        block = draws.reshape(rows, 3)
        bad = ((block[:, 0] == block[:, 1]) | (block[:, 0] == block[:, 2])
               | (block[:, 1] == block[:, 2]))
        good = int(np.argmax(bad)) if bad.any() else rows
        triples[row:row + good] = block[:good]
        if good:
            stream.consume(int(used[3 * good - 1]))
        row += good
        if row < iterations:  # this row repeats an index: draw it one by one
            sample: list[int] = []
            while len(sample) < 3:
                (idx,), (step,) = _peek_indices(stream, n, 1)
                stream.consume(int(step))
                if idx not in sample:
                    sample.append(int(idx))
            triples[row] = sample
            row += 1
    return triples


def _triangle_planes(points: np.ndarray, triples: np.ndarray) -> np.ndarray:
    """(H, 4) planes through the triples, open3d's ``ComputeTrianglePlane`` (zero rows
    for collinear triples)."""
    p0, p1, p2 = points[triples[:, 0]], points[triples[:, 1]], points[triples[:, 2]]
    abc = np.cross(p1 - p0, p2 - p0)
    norm = np.sqrt(np.einsum("ij,ij->i", abc, abc))
    planes = np.zeros((len(triples), 4))
    ok = norm != 0
    abc = abc[ok] / norm[ok, None]
    planes[ok, :3] = abc
    planes[ok, 3] = -np.einsum("ij,ij->i", abc, p0[ok])
    return planes


def _plane_from_points(points: np.ndarray) -> np.ndarray:
    """open3d's ``GetPlaneFromPoints``: least squares by the largest 2x2 determinant."""
    if points.shape[0] == 0:
        return np.full(4, np.nan)
    centroid = points.mean(axis=0)
    r = points - centroid
    xx, yy, zz = (r * r).sum(axis=0)
    xy, xz, yz = (r[:, 0] * r[:, 1]).sum(), (r[:, 0] * r[:, 2]).sum(), (r[:, 1] * r[:, 2]).sum()
    det_x, det_y, det_z = yy * zz - yz * yz, xx * zz - xz * xz, xx * yy - xy * xy
    if det_x > det_y and det_x > det_z:
        abc = np.array([det_x, xz * yz - xy * zz, xy * yz - xz * yy])
    elif det_y > det_z:
        abc = np.array([xz * yz - xy * zz, det_y, xy * xz - yz * xx])
    else:
        abc = np.array([xy * yz - xz * yy, xy * xz - yz * xx, det_z])
    norm = float(np.linalg.norm(abc))
    if norm == 0:
        return np.zeros(4)
    abc = abc / norm
    return np.append(abc, -abc @ centroid)


def _break_iteration(log_miss: float, fitness: float, iterations: int) -> int:
    """open3d's early stop: the iterations that find an all-inlier triple with the
    given probability at this fitness, capped at ``iterations`` (0 when every point fits)."""
    if fitness >= 1.0:
        return 0
    log_hit = math.log(1 - fitness ** 3)
    return iterations if log_hit == 0 else int(min(log_miss / log_hit, iterations))


def _distances(planes: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """(H, N) distances |n.p + d| of (3, N) points to (H, 4) planes.

    einsum, not ``@``: a BLAS product of this size runs on threads, which only wait
    for each other on a busy CPU.
    """
    distance = np.einsum("hk,kn->hn", planes[:, :3], columns)
    distance += planes[:, 3:]
    return np.abs(distance, out=distance)


def _inlier_rms(distance: np.ndarray, threshold: float) -> float:
    inliers = distance[distance < threshold]
    return math.sqrt(float(inliers @ inliers) / inliers.size) if inliers.size else 0.0


def segment_plane(points: np.ndarray, distance_threshold: float, iterations: int,
                  stream: Mt19937Stream, probability: float = PROBABILITY) -> np.ndarray:
    """open3d's ``segment_plane(distance_threshold, 3, iterations, probability)`` on
    (N, 3) float64 points: the plane (a, b, c, d), refit on its inliers; NaN when no
    triple spans a plane."""
    points = np.ascontiguousarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or points.shape[0] < 3:
        raise CoreError(f"segment_plane needs (N >= 3, 3) points, got shape {points.shape}")
    n = points.shape[0]
    planes = _triangle_planes(points, _sample_triples(stream, n, iterations))
    columns = np.ascontiguousarray(points.T)  # einsum is 5x slower on the transposed view
    best_count, best_rmse, best = 0, math.nan, None
    evaluated, stop_after = 0, math.inf
    log_miss = math.log(1 - probability)
    for start in range(0, iterations, _BLOCK):
        block = planes[start:start + _BLOCK]
        valid = np.flatnonzero(block[:, :3].any(axis=1))  # zero rows: collinear, skipped
        distance = _distances(block[valid], columns)
        counts = np.count_nonzero(distance < distance_threshold, axis=1).tolist()
        for row, (k, count) in enumerate(zip(valid.tolist(), counts)):
            if evaluated > stop_after:
                break
            better = count > best_count
            if count == best_count and count > 0:  # a tie: the lower inlier RMS wins
                if math.isnan(best_rmse):
                    best_rmse = _inlier_rms(_distances(best[None], columns)[0],
                                            distance_threshold)
                rmse = _inlier_rms(distance[row], distance_threshold)
                better = rmse < best_rmse
            if better:
                best_count, best, best_rmse = count, block[k], math.nan
                stop_after = _break_iteration(log_miss, count / n, iterations)
            evaluated += 1
        if evaluated > stop_after:
            break
    if best is None:
        return np.full(4, np.nan)
    final = _distances(best[None], columns)[0] < distance_threshold
    return _plane_from_points(points[final])

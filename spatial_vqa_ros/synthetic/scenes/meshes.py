"""Closed triangle meshes of the primitive solids, centred at the origin.

Kept apart from ``primitives`` so the solid types read as data and the triangle
bookkeeping (rings, fans, strips, winding) lives in one place. Only
``Primitive.mesh_arrays`` uses these builders; they are private to the package.
"""

from __future__ import annotations

import numpy as np


def _box_mesh(dims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    corners = np.array([[(i >> 0) & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], float)
    vertices = (corners - 0.5) * dims
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    triangles = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return vertices, np.array(triangles, np.int32)


def _ring(radius: float, z: float, segments: int) -> np.ndarray:
    angles = np.arange(segments) * (2 * np.pi / segments)
    return np.stack([radius * np.cos(angles), radius * np.sin(angles),
                     np.full(segments, z)], axis=1)


def _fan_and_strip(segments: int, rings: int) -> np.ndarray:
    """Triangles of ``rings`` stacked rings (vertex 0 = bottom apex, last = top apex)."""
    k = np.arange(segments)
    nxt = (k + 1) % segments
    top = 1 + rings * segments
    parts = [np.stack([np.zeros(segments, int), 1 + nxt, 1 + k], axis=1)]
    for r in range(rings - 1):
        a, b = 1 + r * segments, 1 + (r + 1) * segments
        parts.append(np.stack([a + k, a + nxt, b + nxt], axis=1))
        parts.append(np.stack([a + k, b + nxt, b + k], axis=1))
    parts.append(np.stack([np.full(segments, top), top - segments + k,
                           top - segments + nxt], axis=1))
    return np.concatenate(parts).astype(np.int32)


def _cylinder_mesh(radius: float, height: float, segments: int) -> tuple[np.ndarray, np.ndarray]:
    vertices = np.concatenate([[[0.0, 0.0, -height / 2]], _ring(radius, -height / 2, segments),
                               _ring(radius, height / 2, segments), [[0.0, 0.0, height / 2]]])
    return vertices, _fan_and_strip(segments, 2)


def _sphere_mesh(radius: float, segments: int) -> tuple[np.ndarray, np.ndarray]:
    n_rings = max(segments // 2, 2)
    polar = np.pi - np.arange(1, n_rings) * (np.pi / n_rings)  # from the bottom up
    rings = [_ring(radius * np.sin(p), radius * np.cos(p), segments) for p in polar]
    vertices = np.concatenate([[[0.0, 0.0, -radius]], *rings, [[0.0, 0.0, radius]]])
    return vertices, _fan_and_strip(segments, n_rings - 1)


def _orient_outward(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Flip triangles of a convex mesh centred at the origin so normals point outward."""
    v0, v1, v2 = (vertices[triangles[:, i]] for i in range(3))
    normals = np.cross(v1 - v0, v2 - v0)
    inward = np.einsum("ij,ij->i", normals, v0 + v1 + v2) < 0
    out = triangles.copy()
    out[inward] = out[inward][:, ::-1]
    return out

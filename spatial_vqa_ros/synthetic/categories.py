"""What the camera cannot see of an object, by ground truth: the benchmarks' rows.

The geometry and VQA benchmarks print each quantity per category of the objects
involved, so a rule for hidden parts (issue 22) can be judged on the cases it is for.
An object's categories come from its :class:`~.truth.ObjectTruth` alone, never from
the estimate, so every estimator is scored on the same rows:

- ``border_cut``: its projection runs past the image border;
- ``occluded``: nearer objects hide at least :data:`OCCLUDED_MIN_FRACTION` of its
  in-image silhouette (its silhouette alone vs in the scene);
- ``far_side``: at least :data:`FAR_SIDE_MIN_DEPTH_M` deep along its line of sight
  and at least :data:`FAR_SIDE_MIN_FRACTION` of that depth lies beyond its own
  camera-facing surface (``far_side_m``): a centre from the visible surface sits
  about half of that hidden depth too near;
- ``tiny``: fewer than :data:`TINY_MAX_PIXELS` pixels even when nothing hides it
  (``unoccluded_pixel_count``), so its size rests on few measured points.

A pair is in every category of either object, and ``whole`` when neither has any;
the rows overlap (a cut, occluded object is counted in both) except ``whole``.
"""

from __future__ import annotations

from .truth import ObjectTruth

#: The benchmarks' rows, in print order.
CATEGORIES = ("whole", "border_cut", "occluded", "far_side", "tiny")
OCCLUDED_MIN_FRACTION = 0.1
FAR_SIDE_MIN_DEPTH_M = 0.3
FAR_SIDE_MIN_FRACTION = 0.3
TINY_MAX_PIXELS = 400


def object_categories(t: ObjectTruth) -> tuple[str, ...]:
    """The categories of one object, in :data:`CATEGORIES` order (``("whole",)`` if
    none applies)."""
    found = {
        "border_cut": t.cut_by_border,
        "occluded": t.occluded_fraction >= OCCLUDED_MIN_FRACTION,
        "far_side": (t.depth_extent_m >= FAR_SIDE_MIN_DEPTH_M
                     and t.far_side_m >= FAR_SIDE_MIN_FRACTION * t.depth_extent_m),
        "tiny": t.unoccluded_pixel_count < TINY_MAX_PIXELS,
    }
    return tuple(c for c in CATEGORIES if found.get(c)) or ("whole",)


def pair_categories(a: ObjectTruth, b: ObjectTruth) -> tuple[str, ...]:
    """The categories of a pair: those of either object, ``("whole",)`` if neither has
    any."""
    found = (set(object_categories(a)) | set(object_categories(b))) - {"whole"}
    return tuple(c for c in CATEGORIES if c in found) or ("whole",)


__all__ = ["CATEGORIES", "FAR_SIDE_MIN_DEPTH_M", "FAR_SIDE_MIN_FRACTION",
           "OCCLUDED_MIN_FRACTION", "TINY_MAX_PIXELS", "object_categories",
           "pair_categories"]

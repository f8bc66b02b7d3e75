"""What perception hands to geometry: one RGB-D capture and the objects seen in it.

A :class:`Capture` is the images of one moment (rgb, depth in metres, intrinsics,
stamp); it is not a coordinate frame. Coordinate frames are :class:`~.scene_frame.SceneFrame`
and the ``frame_id`` strings of the robot's transforms.

Shapes (H, W = image height and width, N = number of observed objects):

- ``Capture.rgb``: (H, W, 3) uint8, RGB order
- ``Capture.depth_m``: (H, W) float32 metres along the optical axis; NaN where invalid
- ``Observations.segmentation``: (H, W) int32; 0 = no object, k = object k-1
- ``Observations.masks``: (N, H, W) bool when a segmenter gave masks; ``boxes_xyxy``: (N, 4)
- ``Observations.labels``: N strings; ``scores``: (N,) float32; ``source_ids``: (N,) int64
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .camera import CameraIntrinsics
from .errors import CoreError
from .stamps import check_stamp_ns

#: Depth encodings (sensor_msgs/Image names) and the factor that turns them into metres.
DEPTH_SCALE_TO_M = {"32FC1": 1.0, "64FC1": 1.0, "16UC1": 1e-3, "mono16": 1e-3}
#: The default valid depth range [m] of every path (node parameters, offline options,
#: ``perception.types.InputSettings``): depth outside it is invalid.
DEPTH_MIN_M = 0.05
DEPTH_MAX_M = 20.0
#: The default most pixels of a capture, live (the spatial node's ``max_pixels``) and
#: offline (``--max-pixels`` of the commands that read image files): 12 MP holds a 4K
#: camera, and a single 8K still must not grow a process by hundreds of MB. Here, not
#: with the node's config, so that offline code reads the same number without nodes/.
MAX_PIXELS = 12_000_000
#: Where an object's mask on a capture came from: the detector on this capture, or a
#: tracker carrying it since an earlier keyframe's detection (the two-rate chain).
MASK_SOURCES = ("detected", "tracked")


def depth_in_metres(depth: np.ndarray, encoding: str) -> np.ndarray:
    """A depth image in ``encoding`` as float32 metres (a new array), nothing invalidated.

    Integer millimetres are divided by 1000 in float64 and only then rounded to
    float32: the float32 product ``3000 * float32(1e-3)`` is 3.0000002, just beyond a
    3 m limit, whereas ``3000 / 1000`` is the double nearest 3.0 (as ``float("3")``
    is), so a boundary millimetre compares equal to the limit it was recorded at.
    """
    scale = DEPTH_SCALE_TO_M.get(encoding)
    if scale is None:
        raise CoreError(
            f"unsupported depth encoding {encoding!r}; expected one of "
            f"{', '.join(DEPTH_SCALE_TO_M)} (REP-118: 32FC1 metres or 16UC1 millimetres)")
    if depth.ndim != 2:
        raise CoreError(f"depth image must be 2-D (H, W), got shape {depth.shape}")
    if scale == 1.0:
        return depth.astype(np.float32, copy=True)
    return (depth.astype(np.float64) / round(1.0 / scale)).astype(np.float32)


def depth_to_metres(
    depth: np.ndarray, encoding: str, min_m: float = DEPTH_MIN_M, max_m: float = DEPTH_MAX_M
) -> np.ndarray:
    """Decode a depth image to float32 metres with every invalid value set to NaN.

    Invalid: 0 (the ROS convention for "no return"), NaN, +-inf, and anything outside
    [min_m, max_m] (sensor range; both ends valid). REP-118: 32FC1 is metres, 16UC1
    millimetres. The range is compared in float32, the decoded values' type, with the
    limits rounded to float32 too, so a value decoded from exactly ``max_m`` (see
    :func:`depth_in_metres`) stays valid when the range is applied again later.
    """
    depth_m = depth_in_metres(depth, encoding)
    with np.errstate(invalid="ignore"):  # NaN compares False: invalid
        invalid = ~((depth_m >= np.float32(min_m)) & (depth_m <= np.float32(max_m)))
    depth_m[invalid] = np.nan
    return depth_m


@dataclass(frozen=True)
class Capture:
    """One synchronised RGB-D capture: the rgb image, depth in metres aligned to it,
    the camera intrinsics and the stamp. Named so that it is never mistaken for a
    coordinate frame, which the same calls pass beside it (``frame_id``, ``SceneFrame``).
    """

    rgb: np.ndarray
    depth_m: np.ndarray
    camera: CameraIntrinsics
    #: The stamp in integer nanoseconds (ROS header stamps are exact in ns; float
    #: seconds lose ~0.1 us, enough to break exact-stamp matching downstream). The one
    #: stamp field; :attr:`stamp_s` derives seconds from it.
    stamp_ns: int = 0

    def __post_init__(self) -> None:
        h, w = self.camera.height, self.camera.width
        if self.rgb.shape != (h, w, 3):
            raise CoreError(
                f"rgb image has shape {self.rgb.shape}, expected ({h}, {w}, 3) from CameraInfo")
        if self.depth_m.shape != (h, w):
            raise CoreError(
                f"depth image has shape {self.depth_m.shape}, expected ({h}, {w}) to match "
                "the rgb image: register depth to colour (e.g. aligned_depth_to_color)")
        if self.depth_m.dtype != np.float32:
            raise CoreError(f"depth_m must be float32 metres, got {self.depth_m.dtype}; "
                            "decode it with depth_to_metres()")
        check_stamp_ns(self.stamp_ns)

    @property
    def stamp_s(self) -> float:
        return self.stamp_ns * 1e-9

    @property
    def valid_depth_fraction(self) -> float:
        """Fraction of valid depth pixels, on a 4-pixel grid (an indicator, not a count)."""
        return float(np.isfinite(self.depth_m[::4, ::4]).mean())


@dataclass(frozen=True)
class Observations:
    """Objects seen in one capture: a label image, parallel per-object arrays, and the
    per-instance masks and boxes when a segmenter gave them.

    The label image keeps per-object pixel lookup fast for lifting; ``masks`` keep
    every instance whole (an object behind another keeps its mask for overlays,
    IoU and records). Where masks overlap, the label image gives the pixel to the
    smaller mask (see :meth:`from_masks`).
    """

    segmentation: np.ndarray
    labels: tuple[str, ...]
    scores: np.ndarray
    source_ids: np.ndarray
    #: Things the caller should know but that did not stop processing
    #: (e.g. instance ids that had no label and were ignored).
    warnings: tuple[str, ...] = field(default=())
    #: (N, H, W) bool, one mask per object, or None (built from an instance image).
    masks: np.ndarray | None = None
    #: (N, 4) float32 detector boxes (x0, y0, x1, y1) in pixels, or None.
    boxes_xyxy: np.ndarray | None = None
    #: Where the numbers come from (models, depth source, scale applied): plain values,
    #: carried into the scene graph, its JSON lines and dataset records.
    provenance: Mapping[str, object] = field(default_factory=dict)
    #: Per object, where its mask came from: one of :data:`MASK_SOURCES` ("tracked":
    #: carried by a tracker since a keyframe's detection); empty: every mask detected on
    #: this capture (the serial chain, simulators).
    mask_sources: tuple[str, ...] = ()
    #: (N,) float64 stamp seconds since each object's last detection (0 when detected on
    #: this capture); None: all 0. The gate refuses objects whose age is past its limit.
    detection_age_s: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.mask_sources and (len(self.mask_sources) != n
                                  or not set(self.mask_sources) <= set(MASK_SOURCES)):
            raise CoreError(f"mask_sources must hold {n} of {', '.join(MASK_SOURCES)} (one "
                            f"per label), got {self.mask_sources!r}")
        if self.detection_age_s is not None:
            ages = np.asarray(self.detection_age_s, np.float64)
            if ages.shape != (n,) or not (np.isfinite(ages).all() and (ages >= 0).all()):
                raise CoreError(f"detection_age_s must be ({n},) finite seconds >= 0, got "
                                f"{ages.shape} {ages.tolist()}")
            object.__setattr__(self, "detection_age_s", ages)
        if self.segmentation.ndim != 2 or self.segmentation.dtype != np.int32:
            raise CoreError(
                f"segmentation must be (H, W) int32, got {self.segmentation.shape} "
                f"{self.segmentation.dtype}")
        if self.scores.shape != (n,) or self.source_ids.shape != (n,):
            raise CoreError(
                f"scores {self.scores.shape} and source_ids {self.source_ids.shape} must both "
                f"have shape ({n},) to match {n} labels")
        if self.masks is not None and self.masks.shape != (n, *self.segmentation.shape):
            raise CoreError(f"masks must have shape ({n}, {self.segmentation.shape[0]}, "
                            f"{self.segmentation.shape[1]}), got {self.masks.shape}")
        if self.boxes_xyxy is not None and self.boxes_xyxy.shape != (n, 4):
            raise CoreError(f"boxes_xyxy must have shape ({n}, 4), got "
                            f"{self.boxes_xyxy.shape}")

    def __len__(self) -> int:
        return len(self.labels)

    def origin(self, k: int) -> tuple[str, float]:
        """Object ``k``'s mask source and detection age [s] ("detected", 0.0 when the
        observations carry none)."""
        source = self.mask_sources[k] if self.mask_sources else "detected"
        age = 0.0 if self.detection_age_s is None else float(self.detection_age_s[k])
        return source, age

    @classmethod
    def empty(cls, height: int, width: int) -> Observations:
        return cls(np.zeros((height, width), np.int32), (), np.zeros(0, np.float32),
                   np.zeros(0, np.int64))

    @classmethod
    def from_instance_image(
        cls, instance_ids: np.ndarray, id_to_label: Mapping[int, str]
    ) -> Observations:
        """From a simulator's instance-id image (0 = none) and its id -> label map.

        Ids present in the image but absent from the map are ignored and reported in
        ``warnings`` (a label-less object cannot be named, so it gets no numbers).
        """
        if instance_ids.ndim != 2:
            raise CoreError(f"instance image must be 2-D (H, W), got shape {instance_ids.shape}")
        if instance_ids.dtype.kind not in "iu":
            raise CoreError(f"instance image must hold integer ids, got {instance_ids.dtype}")
        ids_flat = instance_ids.ravel()
        small_ids = ids_flat.size and int(ids_flat.min()) >= 0 and int(ids_flat.max()) < 1 << 20
        if small_ids:
            # a histogram and a lookup table are several times faster than np.unique
            present = np.flatnonzero(np.bincount(ids_flat, minlength=1))
            present = present[present > 0]
        else:  # 32-bit or hashed ids: a lookup table would take gigabytes
            present, inverse = np.unique(ids_flat, return_inverse=True)
        labelled = [int(i) for i in present if int(i) > 0 and int(i) in id_to_label]
        unlabelled = [int(i) for i in present if int(i) > 0 and int(i) not in id_to_label]
        index_of = {source_id: k for k, source_id in enumerate(labelled, start=1)}
        if small_ids:
            lut = np.zeros(int(present.max()) + 1 if present.size else 1, dtype=np.int32)
            for source_id, index in index_of.items():
                lut[source_id] = index
            segmentation = lut[ids_flat].reshape(instance_ids.shape)
        else:
            per_unique = np.array([index_of.get(int(i), 0) for i in present], dtype=np.int32)
            segmentation = per_unique[inverse].reshape(instance_ids.shape) if ids_flat.size \
                else np.zeros(instance_ids.shape, np.int32)
        warnings = ()
        if unlabelled:
            warnings = (f"instance ids {unlabelled} have no label in the labels JSON; ignored",)
        return cls(
            segmentation=segmentation,
            labels=tuple(id_to_label[i] for i in labelled),
            scores=np.ones(len(labelled), np.float32),
            source_ids=np.array(labelled, np.int64),
            warnings=warnings,
        )

    @classmethod
    def from_masks(
        cls, masks: np.ndarray, labels: tuple[str, ...] | list[str], scores: np.ndarray,
        boxes_xyxy: np.ndarray | None = None, source_ids: np.ndarray | None = None,
    ) -> Observations:
        """From N boolean masks (N, H, W), kept whole in :attr:`masks`.

        Where masks overlap, the label image gives the pixel to the smaller mask (equal
        sizes: the higher score): a thing in front of a larger region is usually the
        smaller one (a mug on a table), and a mask lying wholly inside another keeps
        its pixels instead of vanishing under a higher-scored larger one.
        """
        masks = np.asarray(masks)
        if masks.ndim != 3:
            raise CoreError(f"masks must be (N, H, W), got shape {masks.shape}")
        n = masks.shape[0]
        scores = np.asarray(scores, np.float32)
        if len(labels) != n or scores.shape != (n,):
            raise CoreError(f"{n} masks need {n} labels and scores, got {len(labels)} labels "
                            f"and scores of shape {scores.shape}")
        masks = masks.astype(bool, copy=False)
        areas = masks.reshape(n, masks.shape[1] * masks.shape[2]).sum(axis=1)
        segmentation = np.zeros(masks.shape[1:], np.int32)
        # painted largest first (ties: lowest score first), so smaller masks end on top
        for k in np.lexsort((scores, -areas)):
            segmentation[masks[k]] = k + 1
        ids = np.arange(n, dtype=np.int64) if source_ids is None else np.asarray(
            source_ids, np.int64)
        boxes = None if boxes_xyxy is None else np.asarray(boxes_xyxy, np.float32)
        return cls(segmentation, tuple(labels), scores, ids, masks=masks, boxes_xyxy=boxes)

"""Random, plausible scenes: a realistic camera, a random pose, and objects placed so
that each one stays visible.

Objects come from a catalogue of real-world sizes and colours; ``_Placer`` adds them
one at a time on the floor, on a table or stacked on a box, and keeps a placement
only when a coarse silhouette estimate says every object is still visible enough.
Deterministic under the caller's ``numpy`` generator.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from ...core.camera import CameraIntrinsics
from .hiding import (
    DEEP_CATALOGUE,
    MIN_HIDDEN_SHARE,
    TINY_CATALOGUE,
    TINY_MIN_VISIBLE_FRACTION,
    TINY_PIXELS,
    behind_position,
    room_walls,
)
from .primitives import CameraPose, Primitive, SyntheticError, SyntheticScene, _rot_z

#: label -> (kind, (low, high) per dimension in metres). Plausible real-world sizes.
CATALOGUE: dict[str, tuple[str, tuple[tuple[float, float], ...]]] = {
    "box": ("box", ((0.25, 0.6), (0.2, 0.45), (0.15, 0.45))),
    "crate": ("box", ((0.35, 0.6), (0.3, 0.45), (0.25, 0.4))),
    "book": ("box", ((0.17, 0.3), (0.12, 0.22), (0.02, 0.06))),
    "cabinet": ("box", ((0.4, 0.9), (0.35, 0.6), (0.6, 1.2))),
    "suitcase": ("box", ((0.4, 0.7), (0.2, 0.3), (0.5, 0.75))),
    "mug": ("cylinder", ((0.04, 0.05), (0.09, 0.12))),
    "bottle": ("cylinder", ((0.035, 0.045), (0.2, 0.32))),
    "can": ("cylinder", ((0.032, 0.034), (0.11, 0.125))),
    "bucket": ("cylinder", ((0.12, 0.17), (0.25, 0.35))),
    "trash can": ("cylinder", ((0.15, 0.25), (0.4, 0.7))),
    "ball": ("sphere", ((0.1, 0.15),)),
    "globe": ("sphere", ((0.15, 0.2),)),
    "orange": ("sphere", ((0.035, 0.045),)),
}
#: Tall furniture of cluttered rooms, often cut by the top of the image.
TALL_CATALOGUE: dict[str, tuple[str, tuple[tuple[float, float], ...]]] = {
    "bookshelf": ("box", ((0.6, 1.0), (0.28, 0.4), (1.5, 2.0))),
    "floor lamp": ("cylinder", ((0.1, 0.15), (1.3, 1.8))),
    "wardrobe": ("box", ((0.8, 1.2), (0.5, 0.6), (1.7, 2.1))),
}
_TABLE_DIMS = ((0.8, 1.6), (0.6, 0.9), (0.4, 0.8))
_TABLE_PROBABILITY = 0.38  # tables do not fit every view: ~30% of scenes get one
_REPEAT_LABEL_PROBABILITY = 0.1
_ON_TABLE_LABELS = ("book", "mug", "bottle", "can", "orange", "ball", "box")
_STACKABLE_LABELS = ("book", "mug", "bottle", "can", "orange", "box")
_RANGE_M = (0.5, 6.0)  # camera to object centre
_MIN_VISIBLE_PX = 500.0  # estimated, with margin over the 200 px a scene must keep
_MIN_IN_IMAGE_FRACTION = 0.6  # of the whole silhouette (the rest is cut by the border)
#: (RoomStyle.cut_probability: the share of placements allowed to be cut by the image
#: border; the others must be whole in view.)
_WHOLE_IN_IMAGE_FRACTION = 0.995
_MAX_IMAGE_FRACTION = 0.3  # no object fills the view
_ATTEMPTS_PER_OBJECT = 30
_MASK_STRIDE_PX = 2


@dataclass(frozen=True)
class RoomStyle:
    """How full a generated room is. :data:`TIDY` is the scenes' long-standing default
    (its random draws are unchanged, so seeds keep their scenes); :data:`CLUTTERED`
    is what a robot meets: 15-30 objects, more stacks, footprints allowed to touch,
    more objects half hidden, tall furniture, and about one object in three cut by the
    image border (the case a cut coordinate must be honest about).

    What the camera cannot see (issue 22), all off by default: ``walls`` around the
    room (rendered as background); ``deep_furniture`` (sofas, shelves, sideboards:
    :data:`~.hiding.DEEP_CATALOGUE`); ``hidden_probability``, the share of placements
    put behind a nearer object on the floor, whole in the image but partly hidden
    (:data:`~.hiding.MIN_HIDDEN_SHARE` at least); ``tiny_probability``, the share of
    placements that are objects of a few cm covering :data:`~.hiding.TINY_PIXELS`.
    :data:`HIDDEN_ROOMS` turns them on for tidy and cluttered rooms."""

    n_objects: tuple[int, int] = (3, 10)
    cut_probability: float = 0.1
    stack_probability: float = 0.15
    clearance_m: float = 0.03
    min_visible_fraction: float = 0.45
    tall_objects: bool = False
    walls: bool = False
    deep_furniture: bool = False
    hidden_probability: float = 0.0
    tiny_probability: float = 0.0

    def __post_init__(self) -> None:
        shares = (self.hidden_probability, self.tiny_probability)
        if min(shares) < 0 or sum(shares) > 1:
            raise SyntheticError(
                f"hidden_probability and tiny_probability must be >= 0 and sum to <= 1, "
                f"got {self.hidden_probability} and {self.tiny_probability}")

    @property
    def hides(self) -> bool:
        """Whether placements may be hidden or tiny (each such placement draws once)."""
        return self.hidden_probability > 0 or self.tiny_probability > 0


TIDY = RoomStyle()
CLUTTERED = RoomStyle(n_objects=(15, 30), cut_probability=0.35, stack_probability=0.35,
                      clearance_m=0.0, min_visible_fraction=0.3, tall_objects=True)
#: Tidy and cluttered rooms with walls, deep furniture, objects partly hidden behind
#: nearer ones and tiny objects: the rooms of issue 22's misses.
TIDY_HIDDEN = replace(TIDY, walls=True, deep_furniture=True, hidden_probability=0.4,
                      tiny_probability=0.15)
CLUTTERED_HIDDEN = replace(CLUTTERED, walls=True, deep_furniture=True,
                           hidden_probability=0.3, tiny_probability=0.1)
#: Every room style by the name the benchmarks take (``--rooms``).
ROOMS: dict[str, RoomStyle] = {"tidy": TIDY, "cluttered": CLUTTERED,
                               "tidy_hidden": TIDY_HIDDEN, "cluttered_hidden": CLUTTERED_HIDDEN}
HIDDEN_ROOMS = (TIDY_HIDDEN, CLUTTERED_HIDDEN)


def random_camera(rng: np.random.Generator, width: int = 640, height: int = 480
                  ) -> CameraIntrinsics:
    """Realistic RGB-D intrinsics: f in [525, 615] px, principal point near the centre."""
    focal = rng.uniform(525.0, 615.0) * width / 640
    return CameraIntrinsics(
        width=width, height=height, fx=focal, fy=focal * rng.uniform(0.998, 1.002),
        cx=(width - 1) / 2 + rng.uniform(-8.0, 8.0), cy=(height - 1) / 2 + rng.uniform(-6.0, 6.0),
        frame_id="synthetic_camera_optical_frame")


def random_pose(rng: np.random.Generator) -> CameraPose:
    """Height 0.3-2 m, pitch 10-45 deg down (the image centre hits the floor 1-5 m
    ahead where that range allows), roll within +-5 deg, any heading and place."""
    height = rng.uniform(0.3, 2.0)
    low = max(np.deg2rad(10.0), np.arctan(height / 5.0))
    high = min(np.deg2rad(45.0), np.arctan(height / 1.0))
    return CameraPose.from_angles(
        [rng.uniform(-3, 3), rng.uniform(-3, 3), height], yaw_rad=rng.uniform(-np.pi, np.pi),
        pitch_rad=rng.uniform(low, high), roll_rad=np.deg2rad(rng.uniform(-5.0, 5.0)))


def random_scene(rng: np.random.Generator, camera: CameraIntrinsics | None = None,
                 n_objects: tuple[int, int] | None = None, style: RoomStyle = TIDY
                 ) -> SyntheticScene:
    """A random, plausible scene; deterministic under ``rng``.

    ``n_objects``: inclusive range of the number of primitives (a table and what
    stands on it included; default the style's). ``style``: :data:`TIDY` (what
    follows) or :data:`CLUTTERED` (see :class:`RoomStyle`). Objects stand on the floor
    0.5-6 m from the camera, mostly inside the view, with disjoint footprints; about
    30% of scenes have a table with 1-3 objects on top, some objects are stacked on a
    box, labels repeat. Each object keeps an estimated >= 500 visible pixels and >= 45%
    of its in-image silhouette unoccluded when placed.
    """
    low, high = (int(n) for n in (n_objects or style.n_objects))
    if not 1 <= low <= high:
        raise SyntheticError(f"n_objects must be (low, high) with 1 <= low <= high, got "
                             f"{n_objects}")
    camera = camera if camera is not None else random_camera(rng)
    for _ in range(20):
        placer = _Placer(camera, random_pose(rng), style)
        placer.populate(rng, int(rng.integers(low, high + 1)))
        if len(placer.objects) >= low:
            objects = tuple(placer.objects)
            background = room_walls(_room_points(objects, placer.pose), len(objects) + 1,
                                    rng) if style.walls else ()
            return SyntheticScene(objects, camera, placer.pose, background)
    raise SyntheticError(f"could not place {low} objects in 20 random views; lower "
                         "n_objects or use a wider camera")


def _room_points(objects: tuple[Primitive, ...], pose: CameraPose) -> np.ndarray:
    """Floor points (N, 2) walls must enclose: every footprint's corners, the camera."""
    points = [pose.position_world[:2]]
    for o in objects:
        r = o.footprint_radius_m
        points += [o.center_world[:2] - r, o.center_world[:2] + r]
    return np.array(points)


def _lowest_height_m(kind: str, ranges: tuple[tuple[float, float], ...]) -> float:
    """The lowest height a catalogue entry can be drawn with."""
    return 2 * ranges[0][0] if kind == "sphere" else ranges[-1][0]


def _random_color(rng: np.random.Generator, saturation: tuple[float, float] = (0.45, 0.9)
                  ) -> np.ndarray:
    rgb = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*saturation), rng.uniform(0.55, 0.95))
    return np.round(np.array(rgb) * 255).astype(np.uint8)


def _random_dims(rng: np.random.Generator, ranges: tuple[tuple[float, float], ...]
                 ) -> tuple[float, ...]:
    return tuple(float(rng.uniform(lo, hi)) for lo, hi in ranges)


class _Placer:
    """Adds primitives one at a time, keeping only those that stay visible.

    Visibility is estimated from convex silhouettes rasterised on a coarse pixel grid
    and a painter's order (support relations decide who hides whom; otherwise the
    object whose centre is nearer to the camera is in front).
    """

    def __init__(self, camera: CameraIntrinsics, pose: CameraPose,
                 style: RoomStyle = TIDY) -> None:
        self.camera, self.pose, self.style = camera, pose, style
        self.catalogue = CATALOGUE | TALL_CATALOGUE if style.tall_objects else CATALOGUE
        if style.deep_furniture:
            self.catalogue = self.catalogue | DEEP_CATALOGUE
        self.objects: list[Primitive] = []
        self.supporter: list[int | None] = []  # index of the object each one stands on
        self.masks: list[np.ndarray] = []
        self.in_image_px: list[float] = []
        #: Per object: the visible pixels and share of its in-image silhouette it keeps.
        self.min_visible: list[tuple[float, float]] = []
        s = _MASK_STRIDE_PX
        self.allow_cut = True
        #: In-image pixel range the next placement must cover (tiny objects), or None.
        self.pixel_window: tuple[float, float] | None = None
        self.grid_u = np.arange(s / 2 - 0.5, camera.width, s)
        self.grid_v = np.arange(s / 2 - 0.5, camera.height, s)
        self.rays_cam = camera.rays()

    # -- population ---------------------------------------------------------------------
    def populate(self, rng: np.random.Generator, n: int) -> None:
        for _ in range(3 if self.style.deep_furniture else 0):  # a deep piece first
            label = str(rng.choice(sorted(DEEP_CATALOGUE)))
            if self._place_on_floor(rng, label, *DEEP_CATALOGUE[label],
                                    _random_color(rng)) is not None:
                break
        if n >= 2 and rng.random() < _TABLE_PROBABILITY:
            for _ in range(4):  # a table of another size, elsewhere
                if self._place_table(rng, n):
                    break
        failures = 0
        while len(self.objects) < n and failures < _ATTEMPTS_PER_OBJECT * n:
            self.allow_cut = bool(rng.random() < self.style.cut_probability)
            stackable = [i for i, o in enumerate(self.objects)
                         if o.kind == "box" and o.label != "table" and i not in self.supporter
                         and min(o.dims[:2]) >= 0.15]
            hidden_or_tiny = self._place_hidden_or_tiny(rng) if self.style.hides else None
            if hidden_or_tiny is not None:
                placed = hidden_or_tiny
            elif stackable and rng.random() < self.style.stack_probability:
                placed = self._place_on(rng, int(rng.choice(stackable)),
                                        str(rng.choice(_STACKABLE_LABELS)))
            else:
                placed = self._place_on_floor(rng, *self._pick_label(rng)) is not None
            failures += not placed

    def _place_hidden_or_tiny(self, rng: np.random.Generator) -> bool | None:
        """With the style's shares, a placement behind a nearer object or a tiny one;
        whether it was placed, or None when this placement is an ordinary one."""
        draw = rng.random()
        if draw < self.style.tiny_probability:
            return self._place_tiny(rng)
        if draw < self.style.tiny_probability + self.style.hidden_probability:
            return self._place_behind(rng)
        return None

    def _place_tiny(self, rng: np.random.Generator) -> bool:
        """A tiny object on the floor, covering :data:`TINY_PIXELS` and kept almost
        unoccluded (its few pixels are the point)."""
        label = str(rng.choice(sorted(TINY_CATALOGUE)))
        kind, ranges = TINY_CATALOGUE[label]
        self.allow_cut, self.pixel_window = False, TINY_PIXELS
        try:
            for _ in range(3):  # the pixel window is narrow: more views of the floor
                if self._place_on_floor(rng, label, kind, ranges, _random_color(rng)) is not None:
                    return True
            return False
        finally:
            self.pixel_window = None

    def _place_behind(self, rng: np.random.Generator) -> bool:
        """An object on the floor behind a nearer floor object, no taller than it, whole
        in the image with at least :data:`MIN_HIDDEN_SHARE` of its silhouette hidden by
        what is in front."""
        fronts = [i for i, o in enumerate(self.objects)
                  if self.supporter[i] is None and o.top_z_m >= 0.1]
        self.allow_cut = False
        for _ in range(_ATTEMPTS_PER_OBJECT // 3 if fronts else 0):
            front = self.objects[int(rng.choice(fronts))]
            labels = [k for k, (kind, ranges) in sorted(CATALOGUE.items())
                      if _lowest_height_m(kind, ranges) <= front.top_z_m]
            if not labels:
                continue
            label = str(rng.choice(labels))
            kind, ranges = CATALOGUE[label]
            yaw = float(rng.uniform(-np.pi, np.pi)) if kind == "box" else 0.0
            probe = Primitive(len(self.objects) + 1, label, kind, np.zeros(3),
                              _random_dims(rng, ranges), yaw, _random_color(rng))
            xy = behind_position(self.pose.position_world[:2], front,
                                 probe.footprint_radius_m, rng)
            candidate = replace(probe, center_world=np.append(xy, probe.half_height_m))
            if not self._try_add(candidate, None):
                continue
            if self._hidden_share(len(self.objects) - 1) >= MIN_HIDDEN_SHARE:
                return True
            self._pop()
        return False

    def _place_table(self, rng: np.random.Generator, n: int) -> bool:
        """A table with 1-3 objects (but at most n - 1) on top; False if none fits."""
        table = self._place_on_floor(rng, "table", "box", _TABLE_DIMS,
                                     _random_color(rng, (0.3, 0.6)))
        if table is None:
            return False
        n_on_top = int(rng.integers(1, min(3, n - 1) + 1))
        placed = [self._place_on(rng, table, str(rng.choice(_ON_TABLE_LABELS)))
                  for _ in range(n_on_top)]
        if not any(placed):  # a table is there to carry something
            self._pop()
        return any(placed)

    def _pick_label(self, rng: np.random.Generator
                    ) -> tuple[str, str, tuple[tuple[float, float], ...], np.ndarray]:
        seen = sorted({o.label for o in self.objects if o.label in self.catalogue})
        if seen and rng.random() < _REPEAT_LABEL_PROBABILITY:
            label = str(rng.choice(seen))
        else:
            label = str(rng.choice(sorted(self.catalogue)))
        kind, ranges = self.catalogue[label]
        return label, kind, ranges, _random_color(rng)

    def _place_on_floor(self, rng: np.random.Generator, label: str, kind: str,
                        ranges: tuple[tuple[float, float], ...], color: np.ndarray
                        ) -> int | None:
        """Place a new object standing on the floor; its index, or None."""
        yaw = float(rng.uniform(-np.pi, np.pi)) if kind == "box" else 0.0
        probe = Primitive(len(self.objects) + 1, label, kind, np.zeros(3),
                          _random_dims(rng, ranges), yaw, color)
        for _ in range(_ATTEMPTS_PER_OBJECT):
            u = int(rng.uniform(0.05, 0.95) * self.camera.width)
            v = int(rng.uniform(0.1, 0.95) * self.camera.height)
            ray = self.pose.rotation_world_from_cam @ self.rays_cam[v, u].astype(np.float64)
            rise = probe.half_height_m - self.pose.position_world[2]
            t = rise / ray[2] if ray[2] != 0 else -1.0
            if not np.isfinite(t) or t <= 0:
                continue
            candidate = replace(probe, center_world=self.pose.position_world + t * ray)
            if self._try_add(candidate, None):
                return len(self.objects) - 1
        return None

    def _place_on(self, rng: np.random.Generator, support: int, label: str) -> bool:
        """Place a new object standing on the top face of box ``support``."""
        base = self.objects[support]
        kind, ranges = CATALOGUE[label]
        for _ in range(_ATTEMPTS_PER_OBJECT // 3):
            dims = _random_dims(rng, ranges)
            yaw = float(rng.uniform(-np.pi, np.pi)) if kind == "box" else 0.0
            probe = Primitive(1, label, kind, np.zeros(3), dims, yaw)
            margin = np.array(base.dims[:2]) / 2 - probe.footprint_radius_m - 0.01
            if (margin <= 0).any():
                continue
            offset = np.append(rng.uniform(-margin, margin), base.half_height_m +
                               probe.half_height_m)
            center = base.center_world + _rot_z(base.yaw_rad) @ offset
            candidate = Primitive(len(self.objects) + 1, label, kind, center, dims, yaw,
                                  _random_color(rng))
            if self._try_add(candidate, support):
                return True
        return False

    # -- acceptance ---------------------------------------------------------------------
    def _try_add(self, candidate: Primitive, support: int | None) -> bool:
        distance = np.linalg.norm(candidate.center_world - self.pose.position_world)
        horizontal = np.linalg.norm(candidate.center_world[:2] - self.pose.position_world[:2])
        if not (_RANGE_M[0] <= distance <= _RANGE_M[1]
                and horizontal >= 0.3 + candidate.footprint_radius_m):
            return False
        for other, other_support in zip(self.objects, self.supporter):
            gap = np.linalg.norm(candidate.center_world[:2] - other.center_world[:2])
            if other_support == support and gap < (candidate.footprint_radius_m
                                                   + other.footprint_radius_m
                                                   + self.style.clearance_m):
                return False
        silhouette = self._silhouette(candidate)
        if silhouette is None:
            return False
        mask, area_px = silhouette
        in_image_px = float(mask.sum()) * _MASK_STRIDE_PX**2
        min_fraction = _MIN_IN_IMAGE_FRACTION if self.allow_cut else _WHOLE_IN_IMAGE_FRACTION
        low_px, high_px = self.pixel_window or (
            _MIN_VISIBLE_PX, _MAX_IMAGE_FRACTION * self.camera.width * self.camera.height)
        if not max(low_px, min_fraction * area_px) <= in_image_px <= high_px:
            return False
        self.objects.append(candidate)
        self.supporter.append(support)
        self.masks.append(mask)
        self.in_image_px.append(in_image_px)
        self.min_visible.append(
            (_MIN_VISIBLE_PX, self.style.min_visible_fraction) if self.pixel_window is None
            else (self.pixel_window[0] * TINY_MIN_VISIBLE_FRACTION, TINY_MIN_VISIBLE_FRACTION))
        if self._all_visible():
            return True
        self._pop()
        return False

    def _pop(self) -> None:
        for stack in (self.objects, self.supporter, self.masks, self.in_image_px,
                      self.min_visible):
            stack.pop()

    def _all_visible(self) -> bool:
        for i in range(len(self.masks)):
            if i in self.supporter:  # what stands on a table may hide much of it
                continue
            min_px, min_fraction = self.min_visible[i]
            if self._visible_px(i) < max(min_px, min_fraction * self.in_image_px[i]):
                return False
        return True

    def _visible_px(self, i: int) -> float:
        """Estimated pixels of object i that nothing in front of it hides."""
        front = [j for j in range(len(self.masks)) if j != i and self._in_front(j, i)]
        hidden = np.logical_or.reduce([self.masks[j] for j in front]) if front else False
        return float((self.masks[i] & ~hidden).sum()) * _MASK_STRIDE_PX**2

    def _hidden_share(self, i: int) -> float:
        """Estimated share of object i's in-image silhouette hidden by nearer objects."""
        return 1.0 - self._visible_px(i) / self.in_image_px[i] if self.in_image_px[i] else 0.0

    def _in_front(self, j: int, i: int) -> bool:
        """Whether object j (partly) hides object i."""
        camera_z = self.pose.position_world[2]
        if self.supporter[i] == j:  # i stands on j: j hides i only from below its top
            return camera_z < self.objects[j].top_z_m
        if self.supporter[j] == i:
            return camera_z >= self.objects[i].top_z_m
        position = self.pose.position_world
        return bool(np.linalg.norm(self.objects[j].center_world - position)
                    < np.linalg.norm(self.objects[i].center_world - position))

    def _silhouette(self, primitive: Primitive) -> tuple[np.ndarray, float] | None:
        """Coarse-grid mask of the projected convex hull, and the hull's area (px)."""
        vertices, _ = primitive.mesh_arrays(segments=16)
        points_cam = self.pose.world_to_cam(vertices)
        if (points_cam[:, 2] < 0.05).any():
            return None
        uv = self.camera.project(points_cam)
        try:
            hull = ConvexHull(uv)
        except QhullError:
            return None
        polygon = uv[hull.vertices]  # counter-clockwise
        edges = np.roll(polygon, -1, axis=0) - polygon
        u_sel = self.grid_u[(self.grid_u >= polygon[:, 0].min())
                            & (self.grid_u <= polygon[:, 0].max())]
        v_sel = self.grid_v[(self.grid_v >= polygon[:, 1].min())
                            & (self.grid_v <= polygon[:, 1].max())]
        mask = np.zeros((self.grid_v.size, self.grid_u.size), bool)
        if u_sel.size and v_sel.size:
            du = u_sel[None, None, :] - polygon[:, 0, None, None]
            dv = v_sel[None, :, None] - polygon[:, 1, None, None]
            cross = edges[:, 0, None, None] * dv - edges[:, 1, None, None] * du
            inside = (cross >= 0).all(axis=0)
            i0 = int(np.searchsorted(self.grid_v, v_sel[0]))
            j0 = int(np.searchsorted(self.grid_u, u_sel[0]))
            mask[i0:i0 + v_sel.size, j0:j0 + u_sel.size] = inside
        return mask, float(hull.volume)

"""The live metric scene graph: objects tracked over frames, read as immutable snapshots.

The tracker associates each frame's estimates with tracked objects by label and
3D position (Hungarian assignment, gated), averages still objects to beat noise,
snaps to moving ones, ages out what is no longer seen, and names every object
with a referring expression that is unique in the snapshot ("the left chair").

Readers (services, loggers) only ever see :class:`SceneGraph`, a frozen value:
the tracker replaces it, never mutates it, so a reader needs no lock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import pairwise

import numpy as np
from scipy.optimize import linear_sum_assignment

from .errors import UnknownObjectError, echo
from .object_surface import least_depth_m, surface_points
from .objects import ObjectEstimate
from .scene_frame import SceneFrame, camera_aligned_frame
from .stamps import check_stamp_ns


@dataclass(frozen=True)
class SceneObject:
    """One tracked object. Geometry in the graph's frame (``SceneGraph.frame_id``).

    ``center_scene``/``extent_scene``: (3,) metres, extent = (depth x, width y,
    height z). ``points_scene``: (M, 3) float32 visible points of the latest view.
    """

    id: int
    label: str
    description: str
    confidence: float
    center_scene: np.ndarray
    extent_scene: np.ndarray
    points_scene: np.ndarray
    partial: bool
    roi_xyxy: tuple[int, int, int, int]
    pixel_count: int
    point_count: int
    position_sigma_m: float
    #: Stamps [ns] of the first and latest observation (0 when unknown).
    first_seen_ns: int
    last_seen_ns: int
    observation_count: int
    #: False when the object was not observed in the latest frame.
    visible: bool = True
    #: (k, 3) unit scene axes along which a part the camera cannot see may lie (cut
    #: off by the border, behind an occluder, the far side), with (k, 2) the reach
    #: [min, max] of the box face along each [m] and each one's cause (``cut_bounds``:
    #: what bounds the statements about it); empty when seen whole.
    hidden_directions: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    hidden_reach_m: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    hidden_causes: tuple[str, ...] = ()
    #: Where the mask of the latest observation came from: "detected", "tracked" (a
    #: tracker carried it since a keyframe's detection), or "" when not visible.
    mask_source: str = "detected"
    #: Stamp seconds from the last detection to the latest observation (``last_seen``):
    #: 0 when that mask was detected. The gate refuses an object past its limit.
    detection_age_s: float = 0.0

    @property
    def box_width_m(self) -> float:
        return float(self.extent_scene[1])

    @property
    def box_height_m(self) -> float:
        return float(self.extent_scene[2])

    @property
    def box_depth_m(self) -> float:
        return float(self.extent_scene[0])


@dataclass(frozen=True)
class SceneGraph:
    """Immutable snapshot of the scene graph."""

    #: The stamp of the latest frame [ns]; :attr:`stamp_s` derives seconds from it.
    stamp_ns: int
    frame_id: str
    scene: SceneFrame
    objects: tuple[SceneObject, ...]
    camera_frame_id: str = ""
    #: Labels observed in the latest frame that could not be localised, with why.
    unlocalised: tuple[tuple[str, str], ...] = field(default=())
    #: True when objects are tracked in a fixed world frame (camera pose known): then
    #: objects out of view keep valid positions. Without it, an object not seen in the
    #: latest frame may be where it was only if the camera did not move.
    world_fixed: bool = False
    #: Where the latest frame's numbers came from (perception's provenance).
    provenance: Mapping[str, object] = field(default_factory=dict)

    @property
    def floor_found(self) -> bool:
        return self.scene.floor_found

    @property
    def stamp_s(self) -> float:
        return self.stamp_ns * 1e-9

    def names(self) -> tuple[str, ...]:
        """Every name that :meth:`find` resolves uniquely (descriptions first)."""
        names = [o.description for o in self.objects]
        labels = [o.label for o in self.objects]
        names += [label for label in dict.fromkeys(labels) if labels.count(label) == 1]
        return tuple(names)

    def surface_points(self, obj: SceneObject) -> np.ndarray:
        """(K, 3) float32: the points a gap to ``obj`` is measured to, its seen ones and
        the volume behind them within its box (:mod:`.object_surface`), computed once per
        object of this snapshot."""
        cache = self._surfaces
        if obj.id not in cache or cache[obj.id][0] is not obj:
            camera = self.scene.to_scene(np.zeros((1, 3)))[0]
            depth = least_depth_m(float(obj.extent_scene[0]), obj.hidden_directions,
                                  obj.hidden_reach_m)
            cache[obj.id] = (obj, surface_points(obj.points_scene, depth, camera,
                                                 (obj.center_scene, obj.extent_scene)))
        return cache[obj.id][1]

    @cached_property
    def _surfaces(self) -> dict[int, tuple[SceneObject, np.ndarray]]:
        return {}

    def find(self, name: str) -> SceneObject:
        """Resolve a label, a description, or ``#id``; raise UnknownObjectError otherwise."""
        key = _normalise_name(name)
        if key.startswith("#") and key[1:].isdigit():
            matches = [o for o in self.objects if o.id == int(key[1:])]
        else:
            matches = [o for o in self.objects if _normalise_name(o.description) == key]
            if not matches:
                matches = [o for o in self.objects if _normalise_name(o.label) == key]
        if len(matches) == 1:
            return matches[0]
        known = self.names()
        if not matches:
            descriptions = [o.description for o in self.objects]
            listing = ", ".join(descriptions) or "none (the scene graph is empty)"
            raise UnknownObjectError(f"no object called {echo(name)}; known objects: "
                                     f"{listing}", known)
        options = ", ".join(o.description for o in matches)
        raise UnknownObjectError(f"{echo(name)} is ambiguous: say which one ({options})",
                                 known)


def _normalise_name(name: str) -> str:
    name = " ".join(name.strip().lower().split())
    return name[4:] if name.startswith("the ") else name


@dataclass(frozen=True)
class TrackerConfig:
    #: Association gate: centres farther apart than this (plus the object's size) are
    #: different objects [m].
    gate_m: float = 0.35
    #: Running average weight floor for still objects (1 = no averaging).
    min_blend: float = 0.2
    #: A displacement beyond ``motion_sigmas`` x sigma + 2 cm counts as motion: snap.
    motion_sigmas: float = 3.0
    #: Objects not seen for this long are removed [s] (camera-relative tracking: without
    #: a pose source an object out of view cannot be placed for long).
    remove_after_s: float = 2.0
    #: With a pose source (tracks in a fixed world frame), how long an object out of
    #: view is remembered [s]; it goes sooner when the camera sees where it should be
    #: and finds empty space there.
    memory_s: float = 300.0
    #: Separation needed to tell same-label objects apart by side or range [m].
    naming_margin_m: float = 0.05


@dataclass(frozen=True)
class _Observation:
    """One frame's estimate of an object, placed in the tracker's world frame.

    The *world* frame is the fixed frame ``world_from_scene`` places each frame's scene
    frame in (the scene frame itself when no pose is known). The *view* frame is the
    scene frame of the frame that measured it: its box ``extent_view`` stays in those
    axes (a box is axis-aligned in the view it was measured in), which
    ``world_from_view`` (3x3 rotation) places in the world.
    """

    estimate: ObjectEstimate
    center_world: np.ndarray
    points_world: np.ndarray
    hidden_world: np.ndarray
    extent_view: np.ndarray
    world_from_view: np.ndarray


def _observe(e: ObjectEstimate, world_from_scene: np.ndarray) -> _Observation:
    """The estimate (in this frame's scene frame) with its centre, points and hidden
    directions in the world frame; its extent stays in the view's axes."""
    rotation, translation = world_from_scene[:3, :3], world_from_scene[:3, 3]
    if np.array_equal(world_from_scene, np.eye(4)):
        center, points = e.center_scene, e.points_scene
    else:
        center = rotation @ e.center_scene + translation
        points = (e.points_scene @ rotation.T.astype(np.float32)
                  + translation.astype(np.float32))
    return _Observation(e, center, points, e.hidden_directions @ rotation.T, e.extent_scene,
                        rotation.copy())


@dataclass(kw_only=True)
class _Track:
    """A tracked object between frames. Positions are in the world frame (see
    :class:`_Observation`); the box is kept in the axes of the view it was measured in."""

    id: int
    label: str
    confidence: float
    center_world: np.ndarray
    #: (3,) box extent along the axes of ``world_from_extent_view``'s view.
    extent_view: np.ndarray
    points_world: np.ndarray
    partial: bool
    roi: tuple[int, int, int, int]
    pixel_count: int
    point_count: int
    position_sigma_m: float
    first_seen_ns: int
    last_seen_ns: int
    count: int
    #: world_from_view rotation of the frame the extent was measured in: a box is
    #: axis-aligned in its own view's scene frame, not in later ones.
    world_from_extent_view: np.ndarray
    #: Directions a hidden part may lie along, in the world frame; their reach and
    #: causes (``SceneObject``).
    hidden_world: np.ndarray
    hidden_reach_m: np.ndarray
    hidden_causes: tuple[str, ...]
    #: The latest observation's mask source and detection age [s].
    mask_source: str = "detected"
    detection_age_s: float = 0.0

    def extent_in(self, frame_from_world: np.ndarray) -> np.ndarray:
        """The box extent along the axes of the frame whose rotation from the world is
        ``frame_from_world`` (3x3): the axis-aligned box, in that frame, of the box
        measured in its own view (the same box when the axes did not turn)."""
        return np.abs(frame_from_world @ self.world_from_extent_view) @ self.extent_view


class SceneGraphTracker:
    """Maintains the scene graph. Not thread-safe: one writer; readers use snapshots."""

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        self.config = config
        self._tracks: dict[int, _Track] = {}
        self._next_id = 1
        self._snapshot = SceneGraph(0, "", camera_aligned_frame(), ())

    @property
    def snapshot(self) -> SceneGraph:
        return self._snapshot

    def reset(self) -> None:
        self._tracks.clear()
        self._snapshot = SceneGraph(0, "", camera_aligned_frame(), ())

    def update(self, estimates: Iterable[ObjectEstimate], scene: SceneFrame, stamp_ns: int,
               frame_id: str, *, camera_frame_id: str = "",
               world_from_scene: np.ndarray | None = None,
               provenance: Mapping[str, object] | None = None,
               seen_empty: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
               ) -> SceneGraph:
        """Fold one frame's estimates (in this frame's scene frame) into the graph.

        ``world_from_scene`` (4x4), when the camera pose is known (odometry), is where
        this frame's scene frame sits in a fixed world frame: tracks then live in the
        world, so objects keep their ids and positions while the camera moves, and
        each snapshot is expressed in the *current* scene frame (relations stay
        egocentric), and an object out of view is remembered for ``memory_s``. Without
        it, tracks live in the scene frame itself and go after ``remove_after_s``.
        ``seen_empty``: ((N, 3) scene points of this frame, (N,) radii) -> (N,) True where
        the frame shows empty space there (see ``pipeline.free_space_check``); an
        unmatched track whose centre is seen empty is removed: its object is not where
        it was.
        """
        estimates = list(estimates)
        world_from_now = np.eye(4) if world_from_scene is None \
            else np.asarray(world_from_scene)
        stamp_ns = check_stamp_ns(stamp_ns)
        located = [_observe(e, world_from_now) for e in estimates if e.localised]
        unlocalised = tuple((e.label, e.reason) for e in estimates if not e.localised)
        assigned = self._associate(located)
        seen: set[int] = set()
        for observation, matched_id in zip(located, assigned):
            if matched_id is None:
                seen.add(self._new_track(observation, stamp_ns))
            else:
                self._fold(self._tracks[matched_id], observation, stamp_ns)
                seen.add(matched_id)
        keep_s = self.config.remove_after_s if world_from_scene is None \
            else self.config.memory_s
        for track_id in [t for t, tr in self._tracks.items()
                         if (stamp_ns - tr.last_seen_ns) * 1e-9 > keep_s]:
            del self._tracks[track_id]
        scene_from_world = np.linalg.inv(world_from_now)
        if seen_empty is not None:
            self._forget_seen_empty(seen, scene_from_world, seen_empty)
        objects = tuple(self._to_object(t, t.id in seen, scene_from_world) for t in
                        sorted(self._tracks.values(), key=lambda t: t.id))
        objects = assign_descriptions(objects, scene, self.config.naming_margin_m)
        self._snapshot = SceneGraph(stamp_ns, frame_id, scene, objects, camera_frame_id,
                                    unlocalised, world_from_scene is not None,
                                    dict(provenance or {}))
        return self._snapshot

    def _forget_seen_empty(self, seen: set[int], scene_from_world: np.ndarray,
                           seen_empty: Callable[[np.ndarray, np.ndarray], np.ndarray]
                           ) -> None:
        """Remove the unmatched tracks whose centre the current view shows empty."""
        unmatched = [t for t in self._tracks.values() if t.id not in seen]
        if not unmatched:
            return
        centres_world = np.array([t.center_world for t in unmatched])
        centres_scene = centres_world @ scene_from_world[:3, :3].T + scene_from_world[:3, 3]
        radii = np.array([0.5 * float(np.max(t.extent_view)) for t in unmatched])
        for track, empty in zip(unmatched,
                                np.asarray(seen_empty(centres_scene, radii), bool)):
            if empty:
                del self._tracks[track.id]

    def _associate(self, located: list[_Observation]) -> list[int | None]:
        tracks = list(self._tracks.values())
        result: list[int | None] = [None] * len(located)
        if not tracks or not located:
            return result
        cost = np.full((len(located), len(tracks)), np.inf)
        for i, o in enumerate(located):
            for j, t in enumerate(tracks):
                if t.label != o.estimate.label:
                    continue
                distance = float(np.linalg.norm(o.center_world - t.center_world))
                gate = self.config.gate_m + 0.5 * float(np.max(t.extent_view))
                if distance <= gate:
                    cost[i, j] = distance
        finite = np.where(np.isfinite(cost), cost, 1e6)
        rows, cols = linear_sum_assignment(finite)
        for i, j in zip(rows, cols):
            if np.isfinite(cost[i, j]):
                result[i] = tracks[j].id
        return result

    def _new_track(self, o: _Observation, stamp_ns: int) -> int:
        track_id = self._next_id
        self._next_id += 1
        e = o.estimate
        self._tracks[track_id] = _Track(
            id=track_id, label=e.label, confidence=e.score, center_world=o.center_world.copy(),
            extent_view=o.extent_view.copy(), points_world=o.points_world, partial=e.partial,
            roi=e.roi_xyxy, pixel_count=e.pixel_count, point_count=e.point_count,
            position_sigma_m=e.position_sigma_m, first_seen_ns=stamp_ns,
            last_seen_ns=stamp_ns, count=1, world_from_extent_view=o.world_from_view,
            hidden_world=o.hidden_world, hidden_reach_m=e.hidden_reach_m,
            hidden_causes=e.hidden_causes, mask_source=e.mask_source,
            detection_age_s=e.detection_age_s)
        return track_id

    def _fold(self, t: _Track, o: _Observation, stamp_ns: int) -> None:
        cfg, e = self.config, o.estimate
        threshold = cfg.motion_sigmas * max(t.position_sigma_m, e.position_sigma_m) + 0.02
        if e.partial:  # a cut-off view shifts the centre by up to half of what is missing
            # both boxes along this view's axes (the track's may be of a turned view)
            missing = t.extent_in(o.world_from_view.T) - o.extent_view
            threshold += 0.5 * float(np.max(np.maximum(missing, 0.0)))
        moved = float(np.linalg.norm(o.center_world - t.center_world)) > threshold
        keep_complete_view = e.partial and not t.partial and not moved
        if not keep_complete_view:
            if moved or (t.partial and not e.partial):
                blend = 1.0  # moved, or a complete view replaces a partial one
            else:
                blend = max(1.0 / (t.count + 1), cfg.min_blend)
            t.center_world = (1 - blend) * t.center_world + blend * o.center_world
            if not _same_axes(t.world_from_extent_view, o.world_from_view):
                blend_extent = 1.0  # boxes of views facing other ways do not average
                t.world_from_extent_view = o.world_from_view
            else:
                blend_extent = blend
            t.extent_view = (1 - blend_extent) * t.extent_view + blend_extent * o.extent_view
            t.position_sigma_m = (e.position_sigma_m if blend == 1.0
                                  else e.position_sigma_m * math.sqrt(blend))
            t.partial = e.partial
            t.hidden_world = o.hidden_world
            t.hidden_reach_m, t.hidden_causes = e.hidden_reach_m, e.hidden_causes
            t.points_world = o.points_world
        t.confidence = max(e.score, (1 - cfg.min_blend) * t.confidence)
        t.roi, t.pixel_count, t.point_count = e.roi_xyxy, e.pixel_count, e.point_count
        t.last_seen_ns = stamp_ns
        t.mask_source, t.detection_age_s = e.mask_source, e.detection_age_s
        t.count += 1

    @staticmethod
    def _to_object(t: _Track, visible: bool, scene_from_world: np.ndarray) -> SceneObject:
        rotation, translation = scene_from_world[:3, :3], scene_from_world[:3, 3]
        points_scene = t.points_world
        if points_scene.size and not np.array_equal(scene_from_world, np.eye(4)):
            points_scene = (points_scene @ rotation.T.astype(np.float32)
                            + translation.astype(np.float32))
        return SceneObject(
            id=t.id, label=t.label, description=t.label, confidence=float(t.confidence),
            center_scene=rotation @ t.center_world + translation,
            extent_scene=t.extent_in(rotation), points_scene=points_scene,
            partial=t.partial, roi_xyxy=t.roi, pixel_count=t.pixel_count,
            point_count=t.point_count, position_sigma_m=float(t.position_sigma_m),
            first_seen_ns=t.first_seen_ns, last_seen_ns=t.last_seen_ns,
            observation_count=t.count, visible=visible,
            hidden_directions=t.hidden_world @ rotation.T, hidden_reach_m=t.hidden_reach_m,
            hidden_causes=t.hidden_causes,
            mask_source=t.mask_source if visible else "", detection_age_s=t.detection_age_s)


def _same_axes(a: np.ndarray, b: np.ndarray, tolerance_deg: float = 5.0) -> bool:
    """Whether two rotations differ by less than ``tolerance_deg``."""
    cos = (np.trace(a.T @ b) - 1.0) / 2.0
    return bool(cos >= np.cos(np.radians(tolerance_deg)))


def visible_graph(graph: SceneGraph, naming_margin_m: float) -> SceneGraph:
    """The objects seen in the graph's latest frame, named uniquely among themselves
    (a tracked object out of view must not appear in questions about the image)."""
    visible = tuple(o for o in graph.objects if o.visible)
    if len(visible) == len(graph.objects):
        return graph
    return replace(graph, objects=assign_descriptions(visible, graph.scene, naming_margin_m))


_ORDINALS = ("", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _ordinal_names(label: str, count: int, side: str) -> list[str]:
    """Names for ``count`` objects ordered from one side ("left") or nearest first."""
    if side == "near":
        if count == 2:
            return [f"the {label} nearer the camera", f"the {label} farther from the camera"]
        first, other = f"the {label} nearest the camera", "nearest"
        return [first] + [f"the {_ORDINALS[i]} {other} {label}" if i < len(_ORDINALS)
                          else f"the {label} #{i + 1} by distance" for i in range(1, count)]
    opposite = {"left": "right", "right": "left"}[side]
    if count == 2:
        return [f"the {side} {label}", f"the {opposite} {label}"]
    names = [f"the {side}most {label}"]
    for i in range(1, count - 1):
        names.append(f"the {_ORDINALS[i]} {label} from the {side}" if i < len(_ORDINALS)
                     else f"the {label} #{i + 1} from the {side}")
    return [*names, f"the {opposite}most {label}"]


def _separated(values: list[float], margin: float) -> bool:
    ordered = sorted(values)
    return all(b - a > margin for a, b in pairwise(ordered))


def assign_descriptions(objects: tuple[SceneObject, ...], scene: SceneFrame,
                        margin_m: float) -> tuple[SceneObject, ...]:
    """Give each object a referring expression unique in this snapshot.

    A label seen once is "the <label>". Repeated labels are told apart left to
    right when their lateral positions are clearly different, else by distance
    from the camera, else by id ("the chair #7"): a name is never ambiguous.
    """
    by_label: dict[str, list[SceneObject]] = {}
    for o in objects:
        by_label.setdefault(o.label, []).append(o)
    names: dict[int, str] = {}
    camera = scene.camera_position_scene
    for label, group in by_label.items():
        if len(group) == 1:
            names[group[0].id] = f"the {label}"
            continue
        lateral = [float(o.center_scene[1]) for o in group]
        ranges = [float(np.linalg.norm(o.center_scene - camera)) for o in group]
        if _separated(lateral, margin_m):
            order = sorted(group, key=lambda o: -o.center_scene[1])  # left (+y) first
            for o, name in zip(order, _ordinal_names(label, len(group), "left")):
                names[o.id] = name
        elif _separated(ranges, margin_m):
            order = [o for _, o in sorted(zip(ranges, group), key=lambda p: p[0])]
            for o, name in zip(order, _ordinal_names(label, len(group), "near")):
                names[o.id] = name
        else:
            for o in group:
                names[o.id] = f"the {label} #{o.id}"
    return tuple(replace(o, description=names[o.id]) for o in objects)

"""Score the geometry core against exact ground truth, SpatialRGPT-Bench style.

Success = estimate within +-25% of the truth; absolute relative error reported as a
median. Computed over the objects the package states facts about (localised; not
partial for sizes), with *coverage* beside it: stated objects / objects with at
least ``min_pixels`` visible pixels. Both truth and estimate use the quantity
definitions of :mod:`spatial_vqa_ros.core.relations`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import permutations

import numpy as np

from ..core.capture import Capture, Observations
from ..core.gate import Verdict, judge
from ..core.pipeline import FrameResult, PipelineConfig, ScenePipeline
from ..core.relations import (
    MEASURES,
    PREDICATES,
    Margins,
    clock_difference,
    direction,
    evaluate_measure,
)
from .categories import object_categories, pair_categories
from .category_rows import CategoryRows
from .render import DepthNoise, RenderedFrame, render
from .scenes import TIDY, RoomStyle, SyntheticError, SyntheticScene, random_scene
from .truth import ObjectTruth, SceneTruth, ground_truth

#: Objects with fewer visible pixels are not counted in coverage.
MIN_PIXELS = 200
SIZE_MEASURES = ("width", "height")
DISTANCE_MEASURES = ("distance", "horizontal_distance", "vertical_distance")
#: The predicates about positions (sizes of partial objects are never stated).
POSITION_PREDICATES = ("left_of", "right_of", "above", "below", "behind", "in_front_of")
#: The truth is exact: predicates on it are compared with no margin at all.
EXACT = Margins(position_m=0.0, sigmas=0.0, size_m=0.0, size_rel=0.0, volume_rel=0.0)
#: Seed splits of the benchmarks: priors are calibrated on ``calibrate`` and figures
#: reported on ``report``, so no figure is measured on the seeds that tuned it.
SPLITS: dict[str, range] = {"calibrate": range(0, 10_000), "report": range(10_000, 20_000)}


def split_seeds(split: str, n: int, offset: int = 0) -> range:
    """``n`` seeds of a split, from its ``offset``-th; raises SyntheticError for an
    unknown split or one that has fewer seeds."""
    if split not in SPLITS:
        raise SyntheticError(f"unknown seed split {split!r}; expected one of "
                             f"{', '.join(SPLITS)}")
    seeds = SPLITS[split]
    if offset < 0 or n < 0 or offset + n > len(seeds):
        raise SyntheticError(f"split {split!r} has seeds {seeds.start}..{seeds.stop - 1}; "
                             f"{n} seeds from offset {offset} do not fit")
    return seeds[offset:offset + n]


@dataclass
class TruthBox:
    """ObjectTruth seen through the relations' Boxed protocol (exact: zero noise)."""

    center_scene: np.ndarray
    extent_scene: np.ndarray
    position_sigma_m: float = 0.0
    partial: bool = False


@dataclass
class GeometryScores:
    """Accumulated errors; ``summary()`` gives the figures."""

    relative_errors: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    predicate_counts: dict[str, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0]))  # correct, emitted, unclear
    direction_within_hour: list[bool] = field(default_factory=list)
    floor_normal_error_deg: list[float] = field(default_factory=list)
    camera_height_error_m: list[float] = field(default_factory=list)
    floor_missed: int = 0
    objects_visible: int = 0
    objects_stated: int = 0
    objects_localised: int = 0
    frames: int = 0
    #: Pairs with a partial object considered per distance measure (stated or not),
    #: and predicate counts [correct, emitted, unclear] over such pairs.
    partial_pairs: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    partial_predicates: list[int] = field(default_factory=lambda: [0, 0, 0])
    #: What the gate states and refuses per quantity and category of the truth.
    rows: CategoryRows = field(default_factory=CategoryRows)

    def add_measure(self, name: str, estimate: float, truth: float) -> None:
        if truth > 1e-9 and math.isfinite(estimate):
            self.relative_errors[name].append(abs(estimate - truth) / truth)

    def summary(self) -> dict[str, float]:
        out: dict[str, float] = {"frames": self.frames}
        for name, errors in sorted(self.relative_errors.items()):
            e = np.asarray(errors)
            out[f"{name}.n"] = e.size
            out[f"{name}.success"] = float((e <= 0.25).mean()) if e.size else float("nan")
            out[f"{name}.median_rel_error"] = float(np.median(e)) if e.size else float("nan")
        correct = emitted = unclear = 0
        for name, (c, n, u) in sorted(self.predicate_counts.items()):
            out[f"pred.{name}.accuracy"] = c / n if n else float("nan")
            correct, emitted, unclear = correct + c, emitted + n, unclear + u
        out["predicates.accuracy"] = correct / emitted if emitted else float("nan")
        out["predicates.emitted"] = emitted
        out["predicates.unclear_fraction"] = unclear / (emitted + unclear) if emitted else 0.0
        for name, considered in sorted(self.partial_pairs.items()):
            stated = len(self.relative_errors.get(f"partial.{name}", ()))
            out[f"partial.{name}.stated_fraction"] = stated / considered if considered \
                else float("nan")
        c, n, u = self.partial_predicates
        out["partial.predicates.accuracy"] = c / n if n else float("nan")
        out["partial.predicates.emitted"] = n
        d = np.asarray(self.direction_within_hour)
        out["direction.within_1h"] = float(d.mean()) if d.size else float("nan")
        fn = np.asarray(self.floor_normal_error_deg)
        fh = np.asarray(self.camera_height_error_m)
        out["floor.normal_error_deg.median"] = float(np.median(fn)) if fn.size else float("nan")
        out["floor.normal_error_deg.p95"] = (float(np.percentile(fn, 95)) if fn.size
                                             else float("nan"))
        out["floor.height_error_m.median"] = float(np.median(fh)) if fh.size else float("nan")
        out["floor.height_error_m.p95"] = float(np.percentile(fh, 95)) if fh.size else float("nan")
        out["floor.missed"] = self.floor_missed
        out["coverage"] = self.objects_stated / self.objects_visible if self.objects_visible \
            else float("nan")
        return out


def render_case(seed: int, noise: DepthNoise | None = None, style: RoomStyle = TIDY
                ) -> tuple[SyntheticScene, RenderedFrame, SceneTruth]:
    rng = np.random.default_rng(seed)
    scene = random_scene(rng, style=style)
    rendered = render(scene, noise, np.random.default_rng(seed + 1_000_000) if noise else None)
    return scene, rendered, ground_truth(scene, rendered)


def run_pipeline(rendered: RenderedFrame, config: PipelineConfig = PipelineConfig()
                 ) -> FrameResult:
    capture = Capture(rendered.rgb, rendered.depth_m, rendered.camera)
    obs = Observations.from_instance_image(rendered.instance_ids, rendered.id_to_label)
    return ScenePipeline(config).process(capture, obs)


def score_frame(scores: GeometryScores, result: FrameResult, truth: SceneTruth) -> None:
    """Add one processed frame's errors against its exact truth to ``scores``."""
    scores.frames += 1
    _score_floor(scores, result, truth)
    _count_coverage(scores, result, truth)
    truth_by_id = {t.id: t for t in truth.objects}
    stated = [(e, truth_by_id[e.source_id]) for e in result.estimates
              if e.localised and e.source_id in truth_by_id]
    floor_found = result.scene.floor_found
    camera = _camera_as_service(result)
    for e, t in stated:
        for name in SIZE_MEASURES:  # per category, as the one gate states sizes
            verdict = judge(name, e, floor_found=floor_found, camera_scene=camera)
            if verdict.statable:
                scores.rows.stated(name, object_categories(t), verdict.value,
                                   evaluate_measure(name, truth_box(t)))
            else:
                scores.rows.refusal(name, object_categories(t))
        if not e.partial:
            for name in SIZE_MEASURES:
                scores.add_measure(name, evaluate_measure(name, e),
                                   evaluate_measure(name, truth_box(t)))
    if result.scene.floor_found:
        _score_pairs(scores, stated, result.scene.camera_position_scene,
                     truth.frame.camera_position_scene)


def _score_floor(scores: GeometryScores, result: FrameResult, truth: SceneTruth) -> None:
    scene = result.scene
    if not scene.floor_found:
        scores.floor_missed += 1
        return
    cos = float(np.clip(scene.floor_normal_cam @ truth.frame.floor_normal_cam, -1, 1))
    scores.floor_normal_error_deg.append(math.degrees(math.acos(cos)))
    scores.camera_height_error_m.append(abs(scene.camera_height_m - truth.camera_height_m))


def _camera_as_service(result: FrameResult) -> np.ndarray:
    """The camera position the service gives the gate (``gate.judge_in_graph``): the
    scene frame's camera with a floor, the origin without one; the sizes' support reads
    the rays' lean from it, as answers do."""
    scene = result.scene
    return scene.camera_position_scene if scene.floor_found else np.zeros(3)


def _count_coverage(scores: GeometryScores, result: FrameResult, truth: SceneTruth) -> None:
    by_source = {e.source_id: e for e in result.estimates}
    floor_found = result.scene.floor_found
    camera = _camera_as_service(result)
    for t in truth.objects:
        if t.visible_pixel_count < MIN_PIXELS:
            continue
        scores.objects_visible += 1
        e = by_source.get(t.id)
        localised = e is not None and e.localised
        if localised:
            scores.objects_localised += 1
            scores.objects_stated += int(not e.partial)
        scores.rows.size_coverage(
            *(localised and judge(name, e, floor_found=floor_found,
                                  camera_scene=camera).statable
              for name in SIZE_MEASURES))


def _score_pairs(scores: GeometryScores, stated: list, camera_est: np.ndarray,
                 camera_true: np.ndarray) -> None:
    """Distances, directions and predicates of every ordered pair. Pairs of whole
    objects are scored on every distance; pairs with a partial object (cut by the
    border or occluded) on what the one gate states of them, under ``partial.<name>``,
    with the refusals counted (``partial_refused``)."""
    for (ea, ta), (eb, tb) in permutations(stated, 2):
        partial = ea.partial or eb.partial
        ba, bb = truth_box(ta), truth_box(tb)
        categories = pair_categories(ta, tb)
        _predicate_rows(scores.rows, categories, (ea, eb, camera_est), (ba, bb, camera_true))
        if ta.id < tb.id:  # symmetric measures once per pair
            for name in DISTANCE_MEASURES:
                true_value = evaluate_measure(name, ba, bb)
                verdict = judge(name, ea, eb, floor_found=True)
                if verdict.statable:  # what the package states, of any pair
                    scores.add_measure(f"stated.{name}", verdict.value, true_value)
                    scores.rows.stated(name, categories, verdict.value, true_value)
                else:
                    scores.rows.refusal(name, categories)
                if partial:
                    scores.partial_pairs[name] += 1
                    # every pair, as stated before cut objects were bounded
                    scores.add_measure(f"partial_unbounded.{name}",
                                       evaluate_measure(name, ea, eb), true_value)
                    if verdict.statable:
                        scores.add_measure(f"partial.{name}", verdict.value, true_value)
                    continue
                scores.add_measure(name, evaluate_measure(name, ea, eb), true_value)
                if name == "vertical_distance" and true_value >= 0.05:
                    # near-zero truths (two cans side by side) make relative error
                    # ill-posed; this row shows the rest
                    scores.add_measure("vertical_distance_over_5cm",
                                       evaluate_measure(name, ea, eb), true_value)
        if partial:
            for name in (*POSITION_PREDICATES, "closer_to_camera"):
                _score_predicate(scores.partial_predicates,
                                 judge(name, ea, eb, floor_found=True, camera_scene=camera_est),
                                 judge(name, ba, bb, floor_found=True, camera_scene=camera_true,
                                       margins=EXACT))
            continue
        d_est, d_true = direction(ea, eb), direction(ba, bb)
        scores.direction_within_hour.append(clock_difference(d_est.clock, d_true.clock) <= 1)
        for name in (*PREDICATES, "closer_to_camera"):
            _score_predicate(scores.predicate_counts[name],
                             judge(name, ea, eb, floor_found=True, camera_scene=camera_est),
                             judge(name, ba, bb, floor_found=True, camera_scene=camera_true,
                                   margins=EXACT))


def _predicate_rows(rows: CategoryRows, categories: tuple[str, ...], estimated: tuple,
                    true: tuple) -> None:
    """The position predicates of one ordered pair in the category rows: (a, b, camera)
    as estimated, through the one gate, against the same from the truth."""
    (ea, eb, camera_est), (ba, bb, camera_true) = estimated, true
    for name in (*POSITION_PREDICATES, "closer_to_camera"):
        estimate = judge(name, ea, eb, floor_found=True, camera_scene=camera_est)
        if estimate.statable:
            truth = judge(name, ba, bb, floor_found=True, camera_scene=camera_true,
                          margins=EXACT)
            rows.predicate(categories, estimate.truth == truth.truth)
        else:
            rows.refusal("predicates", categories)


def _score_predicate(counts: list[int], estimate: Verdict, truth: Verdict) -> None:
    """counts = [correct, emitted, unclear]; the estimate is scored as the package states
    it, through the one gate (a size comparison of a partial object is never stated)."""
    if estimate.reason == "unclear":
        counts[2] += 1
    elif estimate.statable:
        counts[1] += 1
        counts[0] += int(estimate.truth == truth.truth)


def truth_box(t: ObjectTruth) -> TruthBox:
    """The truth of an object as the relations see an object: exact, no noise."""
    return TruthBox(t.center_scene, t.extent_scene)


__all__ = ["MEASURES", "SPLITS", "GeometryScores", "TruthBox", "render_case", "run_pipeline",
           "score_frame", "split_seeds", "truth_box"]

"""One image through the perception chain and the geometry core: what the package sees.

The tool people reach for first: a photo (with its depth and intrinsics where known)
goes through the configured chain and the core, and comes out as the scene JSON line
(schema 2, with provenance) and an overlay picture of masks, boxes, labels and ranges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..core.camera import CameraIntrinsics
from ..core.export import frame_record
from ..core.pipeline import FrameResult, ScenePipeline
from ..io.atomic import atomic_write
from ..perception.chain import ChainResult
from ..perception.factories import PerceptionSpec, build_chain
from ..perception.inputs import sensor_inputs
from ..perception.types import InputSettings
from ..viz.overlay import OverlayItem, draw_overlay


@dataclass(frozen=True)
class Perceived:
    """A perceived image: the chain's output, the core's, the JSON record, the picture."""

    chain: ChainResult
    result: FrameResult
    record: dict[str, Any]
    overlay: Image.Image


def perceive(rgb: np.ndarray, spec: PerceptionSpec, prompts: list[str] | tuple[str, ...], *,
             depth_m: np.ndarray | None = None, camera: CameraIntrinsics | None = None,
             stamp_ns: int = 0, settings: InputSettings | None = None) -> Perceived:
    """Run ``spec``'s chain and the core on one image. ``depth_m`` (metres) and the
    depth a model estimates are held to ``settings``' range (default: the node's
    defaults), as in the node. Raises PerceptionError / CoreError with what was wrong
    (no intrinsics, no depth, a model that failed)."""
    chain = build_chain(spec, size_wh=(rgb.shape[1], rgb.shape[0]))
    perceived = chain.run(sensor_inputs(rgb, depth_m, camera, settings or InputSettings()),
                          prompts, stamp_ns)
    result = ScenePipeline().process(perceived.capture, perceived.observations)
    record = frame_record(result, stamp_ns)
    return Perceived(perceived, result, record, overlay_of(perceived, result))


def overlay_of(perceived: ChainResult, result: FrameResult) -> Image.Image:
    """Masks, boxes and, per object, its description, score, range and partial flag."""
    obs = perceived.observations
    camera_scene = result.scene.camera_position_scene if result.scene.floor_found \
        else np.zeros(3)
    by_index = {e.index: e for e in result.estimates}
    descriptions = {o.id: o.description for o in result.graph.objects}
    items = []
    for k in range(len(obs)):
        estimate = by_index.get(k)
        caption = f"{obs.labels[k]} {float(obs.scores[k]):.2f}"
        if estimate is not None and estimate.localised:
            track = _track_of(result, estimate)
            name = descriptions.get(track, obs.labels[k]) if track is not None else obs.labels[k]
            distance = float(np.linalg.norm(estimate.center_scene - camera_scene))
            caption = (f"{name} {float(obs.scores[k]):.2f}\n{distance:.2f} m away"
                       + (", partial" if estimate.partial else ""))
        elif estimate is not None:
            caption += f"\nnot localised: {estimate.reason}"
        box = tuple(obs.boxes_xyxy[k]) if obs.boxes_xyxy is not None else None
        mask = obs.masks[k] if obs.masks is not None else obs.segmentation == k + 1
        items.append(OverlayItem(mask, box, caption))
    provenance = perceived.provenance
    title = (f"depth: {provenance.depth_source} (scale {provenance.depth_scale:.3f}); "
             f"detector: {provenance.detector}; segmenter: {provenance.segmenter}; "
             f"floor: {'found' if result.scene.floor_found else 'not found'}")
    return draw_overlay(perceived.capture.rgb, items, title=title)


def picture_of(perceived: ChainResult, result: FrameResult) -> Image.Image:
    """The overlay beside the scene graph's plan view (same height), one picture."""
    from ..viz.topdown import draw_topdown, map_objects

    overlay = overlay_of(perceived, result)
    camera = perceived.capture.camera
    hfov = float(np.degrees(2 * np.arctan(camera.width / (2 * camera.fx))))
    plan = draw_topdown(map_objects(result.graph.objects), hfov_deg=hfov,
                        size_px=overlay.height, title=f"{result.graph.frame_id}, 1 m grid")
    picture = Image.new("RGB", (overlay.width + plan.width, overlay.height))
    picture.paste(overlay, (0, 0))
    picture.paste(plan, (overlay.width, 0))
    return picture


def _track_of(result: FrameResult, estimate) -> int | None:
    """The graph object an estimate became (same label, same centre)."""
    for o in result.graph.objects:
        if o.label == estimate.label and np.allclose(o.center_scene, estimate.center_scene):
            return o.id
    return None


def write_outputs(perceived: Perceived, out: str | Path, name: str) -> tuple[Path, Path]:
    """``<out>/<name>.jsonl`` (one scene record) and ``<out>/<name>.png`` (the overlay),
    each written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    record_path, overlay_path = out / f"{name}.jsonl", out / f"{name}.png"
    atomic_write(record_path, (json.dumps(perceived.record, separators=(",", ":"))
                               + "\n").encode("utf-8"))
    png = _png_bytes(perceived.overlay)
    atomic_write(overlay_path, png)
    return record_path, overlay_path


def _png_bytes(image: Image.Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    """An image as PNG bytes (for an atomic write)."""
    return _png_bytes(image)


__all__ = ["Perceived", "overlay_of", "perceive", "picture_of", "png_bytes", "write_outputs"]

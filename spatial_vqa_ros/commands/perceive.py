"""`spatial-vqa perceive IMAGE`: one image through the perception chain and the core."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .dataset_options import add_max_pixels_option, max_pixels_of
from .perception_options import add_perception_options, prompts_from, spec_from


def _camera(args: argparse.Namespace, rgb):
    """Intrinsics from a camera_info YAML or --fx --fy --cx --cy; None otherwise (then
    the depth model's estimate or --hfov is used)."""
    from ..core.camera import CameraIntrinsics
    from ..io.image_files import load_camera_info_yaml

    if args.camera_info:
        return load_camera_info_yaml(args.camera_info)
    given = [v for v in (args.fx, args.fy, args.cx, args.cy) if v is not None]
    if given and len(given) < 4:
        raise ValueError("give all of --fx --fy --cx --cy, or none")
    if given:
        return CameraIntrinsics(rgb.shape[1], rgb.shape[0], args.fx, args.fy, args.cx, args.cy)
    return None


def _inputs(args: argparse.Namespace):
    """(name, rgb, depth_m, camera) of the image, or of the built-in real sample."""
    from ..io.image_files import load_depth, load_rgb

    if args.sample:
        from ..io.samples import middlebury_motorcycle

        sample = middlebury_motorcycle()
        return sample.name, sample.rgb, sample.depth_m, sample.camera
    if not args.image:
        raise ValueError("give an IMAGE, or --sample motorcycle")
    max_pixels = max_pixels_of(args)
    rgb = load_rgb(args.image, max_pixels)
    depth = load_depth(args.depth, rgb.shape[:2], max_pixels) if args.depth else None
    return Path(args.image).stem, rgb, depth, _camera(args, rgb)


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..core.errors import CoreError
    from ..io.errors import DataIOError
    from ..offline.perceive import perceive, write_outputs
    from ..perception.errors import PerceptionError

    try:
        name, rgb, depth, camera = _inputs(args)
        spec = spec_from(args, assumed_hfov_deg=args.hfov)
        prompts = prompts_from(args) or (["motorcycle"] if args.sample else [])
        perceived = perceive(rgb, spec, prompts, depth_m=depth, camera=camera)
        record_path, overlay_path = write_outputs(perceived, args.out, name)
    except (ValueError, DataIOError, PerceptionError, CoreError) as error:
        print(f"spatial-vqa perceive: {error}", file=sys.stderr)
        return 2
    for o in perceived.result.graph.objects:
        size = " x ".join(f"{v:.2f}" for v in o.extent_scene)
        print(f"  {o.description}: centre {o.center_scene.round(2).tolist()} m, "
              f"size (depth x width x height) {size} m" + (" (partial)" if o.partial else ""))
    for label, reason in perceived.result.graph.unlocalised:
        print(f"  {label}: not localised ({reason})")
    for warning in perceived.record["warnings"]:
        print(f"  warning: {warning}")
    timings = ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in perceived.chain.timings_s.items())
    print(f"{len(perceived.result.graph.objects)} objects ({timings}); wrote {record_path} "
          f"and {overlay_path}")
    return 0


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "perceive", help="run one image through perception and geometry; JSON + overlay",
        description="Run one image (with its depth and intrinsics where known) through the "
        "perception chain and the geometry core, and write the scene JSON line and an "
        "overlay PNG of masks, boxes, labels and ranges to --out. An image or depth file "
        "that is damaged or declares more than --max-pixels pixels is refused before it "
        "is decoded. Exit status: 0 done, 2 bad input (the reason on stderr).")
    parser.add_argument("image", nargs="?", metavar="IMAGE", help="a JPEG or PNG")
    parser.add_argument("--sample", choices=["motorcycle"],
                        help="the built-in real RGB-D frame (Middlebury 2014 Motorcycle, "
                        "with measured depth and calibration) instead of IMAGE")
    parser.add_argument("--depth", help="depth: .npy metres or 16-bit .png millimetres")
    parser.add_argument("--camera-info", help="ROS camera_info YAML of the camera")
    for name in ("fx", "fy", "cx", "cy"):
        parser.add_argument(f"--{name}", type=float, help="intrinsics in pixels")
    parser.add_argument("--hfov", type=float, default=0.0,
                        help="assumed horizontal field of view [deg] when no intrinsics")
    parser.add_argument("--out", default="out/perceive", help="output directory")
    add_max_pixels_option(parser)
    add_perception_options(parser, detector="opencv_dnn", segmenter="depth_box")
    parser.set_defaults(run=run)

"""`spatial-vqa images2dataset FOLDER [FOLDER ...] OUT`: image folders to a spatial VQA
dataset, through the same perception chain, writer and resume as bag2dataset."""

from __future__ import annotations

import argparse

from .dataset_options import (
    add_dataset_options,
    add_max_pixels_option,
    max_pixels_of,
    run_image_command,
)
from .perception_options import add_perception_options, add_vocabulary_options


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..offline.bag2dataset import images2dataset

    return run_image_command(args, "images2dataset", lambda config: images2dataset(
        args.folders, args.out, config, depth_dir=args.depth_dir,
        instances_dir=args.instances_dir, camera_info=args.camera_info, engine=args.engine,
        workers=args.workers, progress=not args.no_progress, max_pixels=max_pixels_of(args)))


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "images2dataset", help="turn image folders into a spatial VQA dataset",
        description="Run the perception chain and the geometry core on every JPEG/PNG "
        "under each FOLDER (each image its own scene) and write templated spatial VQA "
        "like bag2dataset. Depth comes from --depth-dir files or a depth model; "
        "intrinsics from <image>.camera_info.yaml beside an image, --camera-info, the "
        "depth model (Depth Pro) or --hfov. Re-running the same command resumes, and "
        "picks up images added since. An image that cannot be read (damaged, over "
        "--max-pixels, bad side files) fails alone, counted in the summary. Exit status: "
        "0 done, 1 partial (an image failed, a folder incomplete, or no record in the "
        "dataset), 2 bad input or output (nothing done).")
    parser.add_argument("folders", nargs="+", metavar="FOLDER", help="folder of images")
    parser.add_argument("out", metavar="OUT", help="dataset directory (created or resumed)")
    parser.add_argument("--depth-dir", help="depth per image: <stem>.npy (m) or 16-bit "
                        "<stem>.png (mm); with several folders, one subfolder per folder")
    parser.add_argument("--instances-dir", help="instance ids <stem>.png + labels "
                        "<stem>.json per image (for the simulation chain)")
    parser.add_argument("--camera-info", help="camera_info YAML for images of its size")
    parser.add_argument("--hfov", type=float, default=0.0,
                        help="horizontal field of view [deg] to assume for images without "
                        "intrinsics (0: none)")
    add_max_pixels_option(parser)
    add_dataset_options(parser)
    add_perception_options(parser, detector="opencv_dnn", segmenter="depth_box")
    add_vocabulary_options(parser)
    parser.set_defaults(run=run)

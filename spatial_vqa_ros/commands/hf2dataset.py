"""`spatial-vqa hf2dataset DATASET OUT`: a Hugging Face image dataset (save_to_disk
directory, parquet, or a hub id when online) to a spatial VQA dataset."""

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
    from ..offline.bag2dataset import hf2dataset

    return run_image_command(args, "hf2dataset", lambda config: hf2dataset(
        args.dataset, args.out, config, split=args.split, image_column=args.image_column,
        id_column=args.id_column, camera_info=args.camera_info, engine=args.engine,
        workers=args.workers, progress=not args.no_progress, max_pixels=max_pixels_of(args)))


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "hf2dataset", help="turn a Hugging Face image dataset into a spatial VQA dataset",
        description="Like images2dataset, for the rows of one split of a Hugging Face "
        "dataset: a save_to_disk directory, parquet file(s), or a hub id (the only case "
        "that needs the network; a DATASET that looks like a path, or any while "
        "HF_HUB_OFFLINE / HF_DATASETS_OFFLINE is set, is never looked up on the hub). "
        "Rows carry rgb only: use a depth model. A row that cannot be read fails alone; "
        "rows whose ids collide once made key-safe get a hash suffix. Exit status: 0 "
        "done, 1 partial (a row failed, or no record in the dataset), 2 bad input or "
        "output (nothing done).")
    parser.add_argument("dataset", help="save_to_disk directory, parquet, or hub id")
    parser.add_argument("out", metavar="OUT", help="dataset directory (created or resumed)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--image-column", default="image")
    parser.add_argument("--id-column", default="",
                        help="a column naming each row (default: the row index)")
    parser.add_argument("--camera-info", help="camera_info YAML for rows of its size")
    parser.add_argument("--hfov", type=float, default=0.0,
                        help="horizontal field of view [deg] to assume without intrinsics")
    add_max_pixels_option(parser)
    add_dataset_options(parser)
    add_perception_options(parser, detector="opencv_dnn", segmenter="depth_box")
    add_vocabulary_options(parser)
    parser.set_defaults(run=run)

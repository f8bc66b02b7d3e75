"""The options and the ending shared by the commands that write datasets (bag2dataset,
images2dataset, hf2dataset): one spelling, one check, one writer."""

from __future__ import annotations

import argparse
import sys

from .input_options import add_depth_range_options, input_settings_from


def add_dataset_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="QA sampling seed (default 0)")
    parser.add_argument("--qa-per-image", type=int, default=8)
    parser.add_argument("--units", choices=("metric", "imperial", "mixed"), default="metric")
    parser.add_argument("--qualitative-fraction", type=float, default=0.0,
                        help="share of reasoning (chain-of-thought) answers, 0..1")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: one process; ray: one source per Ray task")
    parser.add_argument("--workers", type=int, default=2, help="Ray tasks at a time")
    parser.add_argument("--image-format", choices=("jpg", "png"), default="jpg")
    parser.add_argument("--jpeg-quality", type=int, default=95)
    parser.add_argument("--shard-size", type=int, default=1000, help="records per shard")
    parser.add_argument("--push-to-hub", metavar="REPO_ID",
                        help="upload the dataset to this Hugging Face dataset repo at the end")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_depth_range_options(parser)
    group = parser.add_argument_group(
        "filters", "frames that make no good data are skipped, counted by reason")
    group.add_argument("--min-side", type=int, default=0,
                       help="skip images whose shorter side is below this [px]")
    group.add_argument("--min-sharpness", type=float, default=0.0,
                       help="skip images whose Laplacian variance is below this (~100: blur)")
    group.add_argument("--min-objects", type=int, default=1,
                       help="skip frames with fewer visible objects (2: every image has a "
                       "pair to relate)")
    group.add_argument("--require-floor", action="store_true",
                       help="skip frames where no floor was found")
    group.add_argument("--clip-model", default="",
                       help="CLIP model (registry name or path) for tag filtering")
    group.add_argument("--include-tags", default="",
                       help="comma-separated: keep an image only if one of these matches")
    group.add_argument("--exclude-tags", default="",
                       help="comma-separated: skip an image when one of these matches")
    group.add_argument("--clip-threshold", type=float, default=0.5,
                       help="tag probability that counts as a match (default 0.5)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_max_pixels_option(parser: argparse.ArgumentParser) -> None:
    """``--max-pixels`` of the commands that read image files (images2dataset,
    hf2dataset, perceive); its default is resolved at run time by :func:`max_pixels_of`
    (``core.capture.MAX_PIXELS``, the node's default too; numpy is not imported here)."""
    parser.add_argument("--max-pixels", type=_positive_int, default=None, metavar="N",
                        help="refuse an image (or depth / instance file) whose header "
                        "declares more pixels than N, before decoding it (default: the "
                        "spatial node's max_pixels parameter, a 4K camera's frame)")


def max_pixels_of(args: argparse.Namespace) -> int:
    """``--max-pixels``, or the spatial node's frame limit when it is not given."""
    if getattr(args, "max_pixels", None):
        return int(args.max_pixels)
    from ..core.capture import MAX_PIXELS

    return MAX_PIXELS


def _tags(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def dataset_config(args: argparse.Namespace, perception, **extra):
    """The Bag2DatasetConfig the options describe (``extra``: topics, every_n); a bad
    depth range raises PerceptionError."""
    from ..core.vqa import SynthesisConfig
    from ..offline.bag2dataset import Bag2DatasetConfig
    from ..offline.bag2dataset.filters import FrameFilters
    from .perception_options import prompts_from

    filters = FrameFilters(
        min_side_px=args.min_side, min_sharpness=args.min_sharpness,
        min_objects=args.min_objects, require_floor=args.require_floor,
        clip_model=args.clip_model, models_dir=getattr(args, "models_dir", "") or "",
        include_tags=_tags(args.include_tags), exclude_tags=_tags(args.exclude_tags),
        clip_threshold=args.clip_threshold)
    return Bag2DatasetConfig(
        filters=filters,
        synthesis=SynthesisConfig(qa_per_image=args.qa_per_image, units=args.units,
                                  qualitative_fraction=args.qualitative_fraction,
                                  seed=args.seed),
        perception=perception, prompts=tuple(prompts_from(args)),
        inputs=input_settings_from(args),
        image_format=args.image_format, jpeg_quality=args.jpeg_quality,
        shard_size=args.shard_size, **extra)


def finish(summary, args: argparse.Namespace, prog: str, *,
           failed_frames_partial: bool = False) -> int:
    """Print the summary, push when asked; the exit status: 0 done, 1 partial (a source
    incomplete or no record; with ``failed_frames_partial``, an image that failed too:
    each image of an image command is an item), 2 the push failed."""
    print(summary.format(), file=sys.stderr)
    if args.push_to_hub:
        from ..io.datasets import push_to_hub
        from ..io.errors import DataIOError

        try:
            url = push_to_hub(args.out, args.push_to_hub)
        except DataIOError as error:
            print(f"spatial-vqa {prog}: {error}", file=sys.stderr)
            return 2
        print(f"pushed to {url}", file=sys.stderr)
    if failed_frames_partial:
        return summary.exit_status
    return 0 if summary.ok else 1


def run_image_command(args: argparse.Namespace, prog: str, build) -> int:
    """The image commands' run: the perception spec (``--hfov`` assumed without
    intrinsics), the config with its vocabulary, ``build(config)`` -> summary; bad
    input exits 2 with the reason, else :func:`finish`."""
    from ..core.vqa import VQAError
    from ..io.errors import DataIOError
    from ..perception.errors import PerceptionError
    from .perception_options import spec_from, vocabulary_from

    try:
        try:
            perception = spec_from(args, assumed_hfov_deg=args.hfov)
        except ValueError as error:
            raise PerceptionError(str(error)) from None
        summary = build(dataset_config(args, perception, **vocabulary_from(args)))
    except (DataIOError, VQAError, PerceptionError) as error:
        print(f"spatial-vqa {prog}: {error}", file=sys.stderr)
        return 2
    return finish(summary, args, prog, failed_frames_partial=True)

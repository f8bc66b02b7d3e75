"""`spatial-vqa bench spatialrgpt|qspatial DIR`: a public spatial benchmark answered by
the perception chain and the core (or a model's answers scored), its table printed
beside the published rows, every question written with its truth, answer and score."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .dataset_options import add_max_pixels_option, max_pixels_of
from .input_options import add_depth_range_options, input_settings_from
from .perception_options import add_perception_options, spec_from

#: Per benchmark: the annotation file looked for in DIR, the longest object and the
#: farthest valid depth by default (SpatialRGPT-Bench has street scenes: nuScenes, KITTI).
DEFAULTS = {"spatialrgpt": ("SpatialRGPT-Bench_v1.json", 20.0, 80.0),
            "qspatial": ("", 2.5, 20.0)}
#: The detector by default: SpatialRGPT-Bench gives its regions (no detector runs; the
#: chain's slot holds one that needs no model), Q-Spatial names its objects.
DETECTORS = {"spatialrgpt": "simulation", "qspatial": "owlv2"}


def _annotations(args: argparse.Namespace) -> Path:
    path = Path(args.dir)
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    if args.benchmark == "qspatial" or path.is_file():
        return path
    named = path / DEFAULTS["spatialrgpt"][0]
    if named.exists():
        return named
    found = sorted(path.glob("*.json")) + sorted(path.glob("*.jsonl"))
    if len(found) != 1:
        raise ValueError(f"{path} holds no {named.name} (and not exactly one .json / .jsonl "
                         f"file: {len(found)}): give the annotation file itself")
    return found[0]


def _read(args: argparse.Namespace):
    from ..offline.public_bench.qspatial import read_qspatial
    from ..offline.public_bench.spatialrgpt import read_spatialrgpt

    reader = read_spatialrgpt if args.benchmark == "spatialrgpt" else read_qspatial
    read = reader(_annotations(args))
    questions = read.questions[: args.limit] if args.limit else read.questions
    return questions, read.skipped


def _answer(args: argparse.Namespace, questions):
    """(results, failed images, unknown answer ids, what answered)."""
    from ..io.image_files import load_camera_info_yaml
    from ..offline.public_bench.run import BenchRun, judge_answers, read_answers, run_chain
    from ..perception.factories import build_chain

    if args.answers:
        answers = read_answers(args.answers, questions)
        return judge_answers(questions, answers), 0, answers.unknown_ids, \
            f"answers of {args.answers}"
    spec = spec_from(args, assumed_hfov_deg=args.hfov)
    if spec.depth_estimator == "sensor" and not args.depth_dir:
        raise ValueError("no depth: give --depth-dir (depth files for the images) or a "
                         "depth model (--depth-estimator depth_pro / depth_anything with "
                         "--depth-model)")
    chain = build_chain(spec)
    root = Path(args.images) if args.images else (
        Path(args.dir) if Path(args.dir).is_dir() else Path(args.dir).parent)
    run = BenchRun(root,
                   Path(args.depth_dir) if args.depth_dir else None,
                   load_camera_info_yaml(args.camera_info) if args.camera_info else None,
                   input_settings_from(args), args.max_object_extent_m, max_pixels_of(args))
    progress = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(questions), unit="q", file=sys.stderr)
        progress = bar.update
    results, failed = run_chain(questions, chain, run, progress)
    found_by = "regions as given" if args.benchmark == "spatialrgpt" else \
        f"detector {spec.detector}"
    depth = spec.depth_estimator + (f" {spec.depth_model}" if spec.depth_model else "")
    source = (f"the chain (depth {depth}"
              f"{' from ' + args.depth_dir if args.depth_dir else ''}, {found_by}, "
              f"segmenter {spec.segmenter} where no mask is given; intrinsics "
              f"{'from ' + args.camera_info if args.camera_info else 'per image'}"
              f"{f', else an assumed {args.hfov:g} deg field of view' if args.hfov else ''})")
    return results, failed, (), source


def _write(out: Path, results, summary, table: str) -> None:
    from ..io.atomic import atomic_write
    from ..offline.public_bench.report import result_record

    out.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(result_record(r), ensure_ascii=False) + "\n" for r in results)
    atomic_write(out / "questions.jsonl", lines.encode("utf-8"))
    atomic_write(out / "summary.json", json.dumps(summary, indent=2).encode("utf-8"))
    atomic_write(out / "table.txt", (table + "\n").encode("utf-8"))


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..core.errors import CoreError
    from ..io.errors import DataIOError
    from ..offline.public_bench.questions import BenchFormatError
    from ..offline.public_bench.report import format_table, summarise
    from ..perception.errors import PerceptionError

    name = f"spatial-vqa bench {args.benchmark}"
    try:
        questions, skipped = _read(args)
        if not questions:
            raise ValueError(f"{args.dir}: no question to answer "
                             f"({len(skipped)} skipped)")
        results, failed, unknown, source = _answer(args, questions)
    except (ValueError, OSError, BenchFormatError, DataIOError, PerceptionError,
            CoreError) as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    summary = summarise(results)
    summary.update(source=source, skipped=[list(s) for s in skipped],
                   failed_images=failed, unknown_answer_ids=list(unknown))
    table = format_table(summary, args.benchmark, source)
    try:
        _write(Path(args.out), results, summary, table)
    except OSError as error:
        print(f"{name}: cannot write {args.out}: {error}", file=sys.stderr)
        return 2
    print(table)
    for qid, reason in skipped[:20]:
        print(f"{name}: skipped {qid}: {reason}", file=sys.stderr)
    if len(skipped) > 20:
        print(f"{name}: ... and {len(skipped) - 20} more skipped (all in "
              f"{args.out}/summary.json)", file=sys.stderr)
    image_failures = [r for r in results if r.reason.startswith("image failed")]
    for r in image_failures[:5]:
        print(f"{name}: {r.question.qid}: {r.reason}", file=sys.stderr)
    if unknown:
        print(f"{len(unknown)} answer(s) for ids no question has, e.g. {unknown[0]!r}")
    print(f"{len(results)} questions, {len(skipped)} skipped, {failed} image(s) failed; "
          f"wrote {args.out}/questions.jsonl, summary.json, table.txt")
    return 1 if failed or skipped else 0


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "bench", help="score the chain (or a model's answers) on a public spatial benchmark",
        description="Answer SpatialRGPT-Bench (regions given as boxes and masks) or Q-Spatial "
        "Bench (objects named in the question, found by --detector) with the perception "
        "chain and the geometry core, or score a model's answers (--answers), and print "
        "the benchmark's table (success by its own rule over every question, a refusal "
        "counting as a failure; the share answered; success over the answered; absolute "
        "relative error; this package's verifier) beside the published rows. SpatialRGPT's "
        "GPT-4 reader is replaced by this package's answer verifier. Nothing is "
        "downloaded: DIR holds the released files (README: Public benchmarks). Exit "
        "status: 0 done, 1 partial (a record skipped or an image failed), 2 bad input "
        "(the reason on stderr, nothing written).")
    parser.add_argument("benchmark", choices=sorted(DEFAULTS))
    parser.add_argument("dir", metavar="DIR", help="spatialrgpt: the folder of "
                        "SpatialRGPT-Bench_v1.json (or the file); qspatial: the dataset "
                        "folder (its data/*.parquet) or one parquet file")
    parser.add_argument("--images", help="the images' root (spatialrgpt: Omni3D's "
                        "datasets/ folder; qspatial: the folder ScanNet's image_path is "
                        "under); default DIR")
    parser.add_argument("--answers", help="score this JSONL of a model's answers ({id, "
                        "answer} or the official question_id / pred) instead of the chain")
    parser.add_argument("--out", help="output folder (default bench_<benchmark>)")
    parser.add_argument("--limit", type=int, default=0, help="the first N questions only")
    parser.add_argument("--depth-dir", help="depth per image: <image path without suffix>"
                        ".npy (m) or .png (16-bit mm) under this folder")
    parser.add_argument("--camera-info", help="camera_info YAML for every image")
    parser.add_argument("--hfov", type=float, default=0.0,
                        help="horizontal field of view [deg] to assume when neither "
                        "--camera-info nor the depth model gives intrinsics")
    parser.add_argument("--max-object-extent-m", type=float, default=None,
                        help="the longest object [m] a hidden part is bounded by "
                        "(default 20 for spatialrgpt's streets, 2.5 indoors)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_depth_range_options(parser)
    parser.set_defaults(depth_max_m=None)  # per benchmark: filled in by _with_defaults
    add_max_pixels_option(parser)
    add_perception_options(parser, detector="", segmenter="depth_box")
    parser.set_defaults(run=_with_defaults)


def _with_defaults(args: argparse.Namespace, ros_args: list[str]) -> int:
    """The per-benchmark defaults of the options left unset, then :func:`run`."""
    _, extent, depth_max = DEFAULTS[args.benchmark]
    args.detector = args.detector or DETECTORS[args.benchmark]
    if args.max_object_extent_m is None:
        args.max_object_extent_m = extent
    if args.depth_max_m is None:
        args.depth_max_m = depth_max
    args.out = args.out or f"bench_{args.benchmark}"
    if args.limit < 0:
        print("spatial-vqa bench: --limit must be >= 0", file=sys.stderr)
        return 2
    return run(args, ros_args)

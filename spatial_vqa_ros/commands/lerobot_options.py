"""The options bag2lerobot and annotate-lerobot share: the reward pairs (as the node's
reward parameters) and the spatial VQA written as language events."""

from __future__ import annotations

import argparse


def add_reward_options(parser: argparse.ArgumentParser, example: str) -> None:
    """--reward-pairs / -distance-kind / -shaping / -scale, the node's reward_* names;
    ``example``: the pair the help shows (e.g. "tf:tool0:cube")."""
    parser.add_argument("--reward-pairs", nargs="*", default=[], metavar="PAIR",
                        help=f"'source:target' as the node's reward_pairs, e.g. {example} "
                        "or gripper:cube")
    parser.add_argument("--reward-distance-kind", choices=("gap", "center"), default="gap")
    parser.add_argument("--reward-shaping", default="negative_distance",
                        choices=("negative_distance", "exponential", "progress"))
    parser.add_argument("--reward-scale", type=float, default=1.0,
                        help="as the node's reward_scale (1/m, or m for exponential)")


def add_vqa_options(parser: argparse.ArgumentParser) -> None:
    """--vqa-every / --qa-per-image / --units / --seed, and --no-progress."""
    parser.add_argument("--vqa-every", type=int, default=10, metavar="N",
                        help="VQA on every N-th frame of an episode (0: none; default 10)")
    parser.add_argument("--qa-per-image", type=int, default=4)
    parser.add_argument("--units", choices=("metric", "imperial", "mixed"), default="metric")
    parser.add_argument("--seed", type=int, default=0, help="QA sampling seed")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def reward_fields(args: argparse.Namespace) -> dict:
    """The configs' reward fields (reward_pairs, distance_kind, shaping, scale)."""
    return {"reward_pairs": tuple(args.reward_pairs), "distance_kind": args.reward_distance_kind,
            "shaping": args.reward_shaping, "scale": args.reward_scale}


def synthesis_from(args: argparse.Namespace):
    from ..core.vqa import SynthesisConfig

    return SynthesisConfig(qa_per_image=args.qa_per_image, units=args.units, seed=args.seed)

"""`spatial-vqa models`: the model registry, the weights present, and pulling them."""

from __future__ import annotations

import argparse
import sys


def _list(args: argparse.Namespace) -> int:
    from ..perception.models.registry import is_present, load_registry

    registry = load_registry(args.registry)
    models_dir = _models_dir(args)
    print(f"registry {registry.path}; models directory {models_dir}")
    print(f"  {'name':40s} {'role':9s} {'family':15s} {'runtime':7s} present  checkpoint")
    for entry in registry.entries.values():
        present = "yes" if is_present(models_dir / entry.name) else "no"
        print(f"  {entry.name:40s} {entry.role:9s} {entry.family:15s} {entry.runtime:7s} "
              f"{present:8s} {entry.checkpoint}")
    return 0


def _pull(args: argparse.Namespace) -> int:
    from ..perception.models.pull import pull
    from ..perception.models.registry import load_registry

    registry = load_registry(args.registry)
    for name in args.names:
        target = pull(registry.get(name), _models_dir(args))
        print(f"{name}: {target}")
    return 0


def _models_dir(args: argparse.Namespace):
    from pathlib import Path

    from ..perception.models.registry import default_models_dir

    return Path(args.models_dir) if args.models_dir else default_models_dir()


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..perception.errors import PerceptionError

    try:
        return {"list": _list, "pull": _pull}[args.action](args)
    except PerceptionError as error:
        print(f"spatial-vqa models: {error}", file=sys.stderr)
        return 2


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "models", help="list the model registry and the weights present; pull weights",
        description="The models the perception families load, by name (config/models.yaml). "
        "'list' shows which are present in the models directory; 'pull' fetches snapshots "
        "from the Hugging Face hub (the only command that uses the network; nodes and "
        "tools never download). Exit status: 0 done, 2 an error said why.")
    parser.add_argument("action", choices=["list", "pull"])
    parser.add_argument("names", nargs="*", metavar="NAME", help="models to pull")
    parser.add_argument("--models-dir", help="default $SPATIAL_VQA_MODELS or "
                        "~/.cache/spatial_vqa_ros/models")
    parser.add_argument("--registry", help="registry YAML (default config/models.yaml)")
    parser.set_defaults(run=run)

"""`spatial-vqa models`: the model registry, the weights present, and pulling them."""

from __future__ import annotations

import argparse
import sys


def _list(args: argparse.Namespace) -> int:
    """The registry's models: present, exported, and how many TensorRT engines of them
    the engine cache holds (of any GPU or shapes; the node picks the one that fits)."""
    from ..perception.models.registry import is_present, load_registry
    from ..perception.models.snapshots import snapshot_problem
    from ..perception.runtime.engine_cache import EngineCache, default_engines_dir

    registry = load_registry(args.registry)
    models_dir = _models_dir(args)
    engines_dir = args.engines_dir or default_engines_dir()
    entries = EngineCache(engines_dir).entries()
    print(f"registry {registry.path}; models directory {models_dir}; engines {engines_dir}")
    print(f"  {'name':40s} {'role':9s} {'family':15s} present  onnx     engines  checkpoint")
    for entry in registry.entries.values():
        directory = models_dir / entry.name
        present = "no" if not is_present(directory) else \
            "corrupt" if snapshot_problem(directory) else "yes"
        onnx = "yes" if (models_dir / entry.name / "onnx" / "export.json").is_file() else "no"
        engines = sum(1 for e in entries if e.get("source", "").startswith(f"{entry.name}/"))
        print(f"  {entry.name:40s} {entry.role:9s} {entry.family:15s} {present:8s} "
              f"{onnx:8s} {engines:<8d} {entry.checkpoint}")
    return 0


def _pull(args: argparse.Namespace) -> int:
    from ..perception.models.pull import pull
    from ..perception.models.registry import load_registry

    registry, models_dir = load_registry(args.registry), _models_dir(args)

    def one(name: str) -> None:
        print(f"{name}: {pull(registry.get(name), models_dir)}")
    return _each(args, one)


def _export(args: argparse.Namespace) -> int:
    """ONNX graphs of registered models, into ``<model>/onnx`` of their snapshots."""
    from ..perception.errors import PerceptionError
    from ..perception.factories import ONNX_DIR
    from ..perception.families import descriptors
    from ..perception.families.catalog import exportable
    from ..perception.models.registry import load_registry
    from ..perception.models.snapshots import resolve_model_dir

    registry, models_dir = load_registry(args.registry), _models_dir(args)

    def one(name: str) -> None:
        entry = registry.get(name)
        descriptor = descriptors().get(entry.family)
        if descriptor is None or descriptor.export is None:
            raise PerceptionError(f"family {entry.family} has no ONNX export yet "
                                  f"(exportable: {', '.join(sorted(exportable()))})")
        directory = resolve_model_dir(name, models_dir=models_dir, registry=registry)
        options = {}
        if descriptor.export.sized:
            width, height = (int(v) for v in args.size.lower().split("x"))
            options["size_hw"] = (height, width)
        options.update(_preset_options(args.preset, entry.role, entry.family, name))
        export = descriptor.resolve(descriptor.export.exporter)
        written = export(directory, directory / ONNX_DIR, **options)
        paths = written if isinstance(written, list) else [written]
        print(f"{name}: " + ", ".join(str(p) for p in paths))
    return _each(args, one)


def _preset_options(preset: str, role: str, family: str, name: str) -> dict:
    """A preset's options for the family of the model ``name`` (Depth Anything's input
    size in cpu_light), when the preset runs that model: its export must match them."""
    from ..perception.factories import ROLE_FIELDS
    from ..perception.families.descriptor import MODEL_FIELDS
    from ..perception.families.presets import export_options

    if not preset or role not in MODEL_FIELDS:
        return {}
    return export_options(preset, family, {ROLE_FIELDS[role]: family,
                                           MODEL_FIELDS[role]: name}) or {}


def _build(args: argparse.Namespace) -> int:
    """Native TensorRT engines of exported models, into the engine cache (built once per
    graph, shapes, precision, TensorRT version and GPU)."""
    import onnx

    from ..perception.errors import PerceptionError
    from ..perception.factories import ONNX_DIR
    from ..perception.models.registry import load_registry
    from ..perception.models.snapshots import resolve_model_dir
    from ..perception.runtime.engine_cache import (
        EngineCache,
        default_engines_dir,
        default_max_bytes,
    )
    from ..perception.runtime.tensorrt import (
        build_engine,
        default_precision,
        engine_key,
        environment,
    )

    env = environment()  # refuses at once where TensorRT or the GPU is missing
    precision = args.precision or default_precision()
    cache = EngineCache(args.engines_dir or default_engines_dir(),
                        max_bytes=default_max_bytes(), log=print)
    registry, models_dir = load_registry(args.registry), _models_dir(args)

    def one(name: str) -> None:
        directory = resolve_model_dir(name, models_dir=models_dir, registry=registry)
        graphs = sorted((directory / ONNX_DIR).glob("*.onnx"))
        if not graphs:
            raise PerceptionError(f"{name} has no ONNX export: run 'spatial-vqa models "
                                  f"export {name}' first")
        for graph in graphs:
            inputs = onnx.load(str(graph), load_external_data=False).graph.input
            profile = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim]
                       for i in inputs}
            dynamic = [n for n, dims in profile.items() if not all(d > 0 for d in dims)]
            if dynamic:
                print(f"{name}: {graph.name} has dynamic inputs {dynamic}; not built here "
                      "(ONNX Runtime's TensorRT provider builds and caches it at run time)")
                continue
            key = engine_key(directory, graph, profile, precision, env)
            result = cache.get_or_build(key, lambda g=graph, p=profile: build_engine(
                g, p, precision), source=f"{directory.name}/{graph.name}")
            print(f"{name}: {graph.name} -> {result.path} "
                  f"({'built' if result.built else 'cached'})")
    return _each(args, one)


def _models_dir(args: argparse.Namespace):
    from ..perception.models.registry import models_dir_of

    return models_dir_of(args.models_dir)


def _each(args: argparse.Namespace, one) -> int:
    """``one(name)`` for every name given, each failure told on stderr and the rest
    still done: 0 all done, 1 some failed, 2 none done (or no name given)."""
    from ..perception.errors import PerceptionError

    if not args.names:
        raise PerceptionError(f"name the models to {args.action} (spatial-vqa models list "
                              "shows them)")
    failed = 0
    for name in args.names:
        try:
            one(name)
        except PerceptionError as error:
            failed += 1
            print(f"spatial-vqa models: {name}: {error}", file=sys.stderr)
    return 0 if not failed else 2 if failed == len(args.names) else 1


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    from ..perception.errors import PerceptionError

    try:
        return {"list": _list, "pull": _pull, "export": _export,
                "build": _build}[args.action](args)
    except PerceptionError as error:
        print(f"spatial-vqa models: {error}", file=sys.stderr)
        return 2


def add_parser(sub) -> None:
    from ..perception.families.catalog import exportable, sized_exports
    from ..perception.families.presets import PRESETS

    parser = sub.add_parser(
        "models", help="list the model registry and the weights present; pull weights",
        description="The models the perception families load, by name (config/models.yaml). "
        "'list' shows which are present in the models directory; 'pull' fetches snapshots "
        "from the Hugging Face hub (the only command that uses the network; nodes and "
        "tools never download); 'export' writes ONNX graphs into <model>/onnx for the "
        "onnxruntime runtime (families with an export: " + ", ".join(exportable()) + "); "
        "'build' makes TensorRT engines of the exported graphs "
        "ahead of time (a GPU with TensorRT needed), kept in the engine cache; 'list' "
        "says 'corrupt' for a snapshot whose config or weights file is broken (pull it "
        "again). Exit status: 0 done, 1 some of the names failed (each said why, the "
        "rest done), 2 bad input or nothing done (the reason on stderr).")
    parser.add_argument("action", choices=["list", "pull", "export", "build"])
    parser.add_argument("names", nargs="*", metavar="NAME", help="models to pull or export")
    parser.add_argument("--size", default="640x480",
                        help="camera size WxH for exports fixed to it ("
                        + ", ".join(sized_exports()) + ")")
    parser.add_argument("--preset", default="", choices=["", *PRESETS], metavar="NAME",
                        help="export as the preset NAME runs its models (cpu_light: Depth "
                        "Anything at its reduced input size)")
    parser.add_argument("--models-dir", help="default $SPATIAL_VQA_MODELS or "
                        "~/.cache/spatial_vqa_ros/models")
    parser.add_argument("--registry", help="registry YAML (default config/models.yaml)")
    parser.add_argument("--precision", default="", choices=["", "fp16", "fp32"],
                        help="TensorRT engine precision (build; default fp16, fp32 on "
                        "TensorRT 11+ whose networks are strongly typed)")
    parser.add_argument("--engines-dir", help="engine cache (default $SPATIAL_VQA_ENGINES "
                        "or ~/.cache/spatial_vqa_ros/engines)")
    parser.set_defaults(run=run)

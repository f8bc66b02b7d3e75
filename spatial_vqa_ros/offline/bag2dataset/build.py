"""Build (or resume) a dataset: :func:`write_dataset` for any sources, :func:`bag2dataset`
for bag paths.

The one place that owns the output directory: it asks the writer what is done,
starts the chosen engine on what is not, and feeds every output to the
:class:`~spatial_vqa_ros.io.datasets.DatasetWriter` with a progress bar.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from ...core.capture import MAX_PIXELS
from ...io.datasets import DatasetWriter
from ...io.datasets.layout import SCENE_GRAPHS
from ...io.errors import DataIOError
from .config import Bag2DatasetConfig, current_settings
from .engines import ENGINES, SKIP_REASONS, FrameOutput, _local_outputs
from .hf_images import HFImageSource
from .images import ImageFolderSource
from .ray_engine import ray_outputs
from .sources import FrameSource, open_bags
from .summary import Bag2DatasetSummary, SourceReport
from .vocabulary import FIXED_PROMPTS_ONLY, check_vocabulary_model

#: The default settings (a frozen dataclass, safe to share as a default argument).
DEFAULT_CONFIG = Bag2DatasetConfig()


def write_dataset(sources: Sequence[FrameSource], out: str | Path,
                  config: Bag2DatasetConfig = DEFAULT_CONFIG, *, engine: str = "local",
                  workers: int = 2, progress: bool = True,
                  title: str = "Spatial VQA from rosbag2 recordings") -> Bag2DatasetSummary:
    """Process ``sources`` into the dataset directory ``out`` (created or resumed).

    Sources complete in ``out`` already are skipped, except an image source with
    images the dataset lacks (added since): only those are read, the others' records
    and scene lines are kept (:func:`_top_up`). Partly written sources are run again
    from their start and only their missing frames are written. Raises
    DataIOError when the output cannot be written (e.g. a full disk: what was
    written stays intact, and the same call resumes).
    """
    if engine not in ENGINES:
        raise DataIOError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if workers < 1:
        raise DataIOError(f"workers must be >= 1, got {workers}")
    _check_perception(sources, config)
    start = time.perf_counter()
    summary = Bag2DatasetSummary(Path(out))
    writer = DatasetWriter(out, config.settings(), shard_size=config.shard_size,
                           image_format=config.image_format, title=title,
                           upgrade=current_settings)
    try:
        pending, topped_up = [], set()
        for source in sources:
            if not writer.source_complete(source.name):
                pending.append(source)
            elif _top_up(source, writer.done_keys(source.name), config.every_n):
                pending.append(source)
                topped_up.add(source.name)
            else:
                summary.skipped_complete.append(source.name)
        done = {s.name: writer.done_keys(s.name) for s in pending}
        for s in pending:
            writer.begin_source(s.name, {"kind": s.kind, "uri": s.uri, "topic": s.topic})
            if s.name in topped_up:
                for line in _scene_lines(Path(out), s.name):
                    writer.add_scene(s.name, line)
        outputs = (_local_outputs(pending, config, done) if engine == "local"
                   else ray_outputs(pending, config, done, workers))
        total = sum(s.total or 0 for s in pending) or None
        with closing(outputs):  # on an error too: open3d threads restored, Ray stopped
            _consume(writer, outputs, summary, total, progress)
    finally:
        summary.seconds = time.perf_counter() - start
        summary.dataset = writer.close(extra={"totals": summary.totals(),
                                              "engine": engine})
    return summary


def _top_up(source: FrameSource, done: set[str], every_n: int) -> bool:
    """Whether a complete source has selected frames (``every_n``) the dataset lacks,
    and if so set it to read only those. Only image sources can say so without reading
    (their keys are known from names); a recording complete once stays complete."""
    keys = getattr(source, "keys", None)
    if keys is None or not hasattr(source, "carrying"):
        return False
    new = {key for index, key in enumerate(keys) if index % every_n == 0 and key not in done}
    if not new:
        return False
    source.carrying(set(keys) - new)  # the unselected are not read either
    return True


def _scene_lines(root: Path, name: str) -> Iterator[dict[str, Any]]:
    """The scene-graph lines of source ``name`` the dataset holds (a complete source's,
    merged into ``scene_graphs.jsonl``): carried into its next pass, which replaces
    them."""
    path = root / SCENE_GRAPHS
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        parsed = [json.loads(line) for line in lines if line.strip()]
    except (OSError, ValueError) as error:
        raise DataIOError(f"cannot read the scene graphs {path} ({error}); it was not "
                          "written by spatial_vqa_ros") from None
    return (line for line in parsed if isinstance(line, dict) and line.get("source") == name)


def _check_perception(sources: Sequence[FrameSource], config: Bag2DatasetConfig) -> None:
    """The settings must say how the records were perceived: a source that runs a chain
    of its own must run the config's, with its prompts, input settings (depth range) and
    vocabulary model (a source without one runs none)."""
    for source in sources:
        ours = (config.perception, config.prompts)
        theirs = (getattr(source, "perception", ours[0]), getattr(source, "prompts", ours[1]))
        if theirs != ours:
            raise DataIOError(f"source {source.name} perceives with {theirs[0]} and prompts "
                              f"{list(theirs[1])}, but the settings say {ours[0]} and "
                              f"{list(ours[1])}: open it with the config's perception")
        inputs = getattr(source, "inputs", config.inputs)
        if inputs != config.inputs:
            raise DataIOError(f"source {source.name} builds its inputs with {inputs}, but "
                              f"the settings say {config.inputs}: open it with the "
                              "config's inputs")
        vocabulary = getattr(source, "vocabulary", FIXED_PROMPTS_ONLY)
        if vocabulary != config.vocabulary:
            raise DataIOError(f"source {source.name} takes its vocabulary from {vocabulary}, "
                              f"but the settings say {config.vocabulary}: only image sources "
                              "take one; open them with the config's")


def _consume(writer: DatasetWriter, outputs: Iterable[tuple[str, FrameOutput | SourceReport]],
             summary: Bag2DatasetSummary, total: int | None, progress: bool) -> None:
    from tqdm import tqdm

    with tqdm(total=total, unit="frame", file=sys.stderr, disable=not progress,
              dynamic_ncols=True) as bar:
        for name, output in outputs:
            if isinstance(output, SourceReport):
                summary.sources.append(output)
                writer.end_source(name, {"report": output.to_dict()}, output.complete)
                continue
            bar.update(1)
            if output.scene is not None:
                writer.add_scene(name, output.scene)
            if output.status == "written":
                assert output.record is not None and output.image is not None
                writer.add(output.key, output.image, output.record)
            elif output.status in SKIP_REASONS:
                writer.skip(output.key, output.status)


def bag2dataset(bags: Sequence[str | Path], out: str | Path,
                config: Bag2DatasetConfig = DEFAULT_CONFIG, *, engine: str = "local",
                workers: int = 2, progress: bool = True) -> Bag2DatasetSummary:
    """Bags (directories or .db3/.mcap files) to a dataset; see :func:`write_dataset`.

    Every frame goes through ``config.perception``'s chain looking for
    ``config.prompts``, its depth held to ``config.inputs``' range; a chain that cannot
    be built raises PerceptionError before anything is written."""
    if not bags:
        raise DataIOError("give at least one bag")
    sources = open_bags(bags, config.topics, perception=config.perception,
                        prompts=config.prompts, inputs=config.inputs)
    return write_dataset(sources, out, config, engine=engine, workers=workers,
                         progress=progress)


def images2dataset(folders: Sequence[str | Path], out: str | Path,
                   config: Bag2DatasetConfig, *, depth_dir: str | Path | None = None,
                   instances_dir: str | Path | None = None,
                   camera_info: str | Path | None = None, engine: str = "local",
                   workers: int = 2, progress: bool = True,
                   max_pixels: int = MAX_PIXELS) -> Bag2DatasetSummary:
    """Image folders to a dataset, each image its own scene; see
    :class:`~.images.ImageFolderSource` for the side files and :func:`write_dataset`
    for resuming. With several folders, each has its own side-file folders under the
    given ones (``<depth_dir>/<folder name>/...``). An image (or side file) over
    ``max_pixels`` fails alone, before it is decoded."""
    if not folders:
        raise DataIOError("give at least one image folder")
    several = len(folders) > 1

    def side(directory: str | Path | None, folder: Path) -> Path | None:
        if directory is None:
            return None
        return Path(directory) / folder.name if several else Path(directory)

    sources = [ImageFolderSource(folder, perception=config.perception,
                                 prompts=config.prompts,
                                 depth_dir=side(depth_dir, Path(folder)),
                                 instances_dir=side(instances_dir, Path(folder)),
                                 camera_info=camera_info, filters=config.filters,
                                 vocabulary=config.vocabulary, max_pixels=max_pixels,
                                 inputs=config.inputs)
               for folder in folders]
    names = [s.name for s in sources]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataIOError(f"image folders must have distinct names (they prefix every "
                          f"record id); repeated: {', '.join(repeated)}")
    from ...perception.factories import build_chain

    build_chain(config.perception)  # weights missing, a plugin that does not import: now
    check_vocabulary_model(config.vocabulary, config.perception)
    return write_dataset(sources, out, config, engine=engine, workers=workers,
                         progress=progress, title="Spatial VQA from images")


def hf2dataset(  # noqa: PLR0913 -- a dataset's reading options, all keyword-only
        location: str, out: str | Path, config: Bag2DatasetConfig, *,
        split: str = "train", image_column: str = "image", id_column: str = "",
        camera_info: str | Path | None = None, engine: str = "local",
        workers: int = 2, progress: bool = True,
        max_pixels: int = MAX_PIXELS) -> Bag2DatasetSummary:
    """One split of a Hugging Face image dataset to a dataset; see
    :class:`~.hf_images.HFImageSource` and :func:`write_dataset`."""
    source = HFImageSource(location, perception=config.perception, prompts=config.prompts,
                           split=split, image_column=image_column, id_column=id_column,
                           camera_info=camera_info, filters=config.filters,
                           vocabulary=config.vocabulary, max_pixels=max_pixels,
                           inputs=config.inputs)
    from ...perception.factories import build_chain

    build_chain(config.perception)
    check_vocabulary_model(config.vocabulary, config.perception)
    return write_dataset([source], out, config, engine=engine, workers=workers,
                         progress=progress, title="Spatial VQA from an image dataset")

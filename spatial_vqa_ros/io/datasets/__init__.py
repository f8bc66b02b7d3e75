"""Spatial VQA datasets on disk: LLaVA-style records in JSON-lines shards, images as files.

Layout of a dataset directory::

    data/shard-00000.jsonl ...  records, ``shard_size`` per shard (the last one shorter)
    images/<source>/<stamp_ns>.jpg  one image per record (``.png`` with image_format="png")
    scene_graphs.jsonl          one scene-graph line per processed frame (offline tools)
    progress.json               manifest: settings, completed sources, skipped items
    README.md                   dataset card: settings, counts, sources, how to load

One record per image (the schema is :func:`build_record`'s docstring); it loads with
``datasets.load_dataset("json", data_files="OUT/data/*.jsonl")`` or
``load_dataset("OUT")`` (the card names the data files).

Crash safety: every file is written to a temporary file in its own directory, fsynced
and renamed over its target (``os.replace``), so a killed process leaves each file
either as it was or complete. Images are written before the shard that names them.
An item (one image, key ``"<source>/<stamp_ns>"``) is *done* when a shard holds its
record, or progress.json lists it as skipped; re-opening the directory resumes: done
items are never written twice. The open shard is rewritten in place as it grows
(:meth:`DatasetWriter.flush`), so at most the records added since the last flush are
lost by a kill. A full disk raises :class:`DataIOError` and leaves every file that
was already written intact.

Type anchoring: ``datasets`` infers the column types from the start of the first
shard, and refuses a later shard that has a value where shard 0 only had nulls or
empty lists. So the first record that shows a field in a new form (the first
non-empty ``warnings`` list, the first measured ``value``) is also placed at the front
of shard 0, which may therefore hold a few records more than ``shard_size``. Records
are never duplicated or lost by this.

Modules: ``layout`` (file names, shards read back, :func:`load_records`), ``schema``
(:func:`build_record`, the record's JSON), ``writer`` (:class:`DatasetWriter`),
``card`` (README.md), ``hub`` (:func:`push_to_hub`); files are written by ``io.atomic``.
"""

from ..atomic import atomic_write
from .card import dataset_card
from .hub import push_to_hub
from .layout import IMAGE_FORMATS, load_records
from .schema import build_record, encode_image, image_relpath, qa_fields
from .writer import DatasetCounts, DatasetWriter

__all__ = [
    "IMAGE_FORMATS",
    "DatasetCounts",
    "DatasetWriter",
    "atomic_write",
    "build_record",
    "dataset_card",
    "encode_image",
    "image_relpath",
    "load_records",
    "push_to_hub",
    "qa_fields",
]

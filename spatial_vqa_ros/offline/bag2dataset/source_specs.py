"""Sources rebuilt from their specs: the one module that knows every kind of source.

A worker process (the ``ray`` engine) receives a source as the JSON-able dict of its
:meth:`~.sources.FrameSource.spec` and rebuilds it here, by the spec's ``kind``. The
factory sits above the three source modules (bags in :mod:`.sources`, image folders in
:mod:`.images`, Hugging Face datasets in :mod:`.hf_images`), which import
:mod:`.sources` for what they share: kept inside ``sources``, it had to import the
other two back from inside a function, an import cycle in all but name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...io.errors import DataIOError
from .hf_images import HFImageSource
from .images import ImageFolderSource
from .sources import BagSource, FrameSource

#: A spec's ``kind`` -> the constructor that rebuilds that kind of source from it.
_REBUILD: dict[str, Callable[[Mapping[str, Any]], FrameSource]] = {
    BagSource.kind: BagSource.from_spec,
    ImageFolderSource.kind: ImageFolderSource.from_spec,
    HFImageSource.kind: HFImageSource.from_spec,
}


def source_from_spec(spec: Mapping[str, Any]) -> FrameSource:
    """Rebuild a source from its :meth:`~.sources.FrameSource.spec` (in a worker
    process); DataIOError for a kind that no source has."""
    kind = spec.get("kind")
    rebuild = _REBUILD.get(kind) if isinstance(kind, str) else None
    if rebuild is None:
        raise DataIOError(f"unknown frame source kind {kind!r}")
    return rebuild(spec)


__all__ = ["source_from_spec"]

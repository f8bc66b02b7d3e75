"""Make lerobot 0.6.1 import on Python 3.11, for the golden side environment only.

lerobot >= 0.5 declares Python >= 3.12, and Debian 12 (this project's machines) ships
3.11 with no newer python3 in its archive. A few places use 3.12-only syntax (``type``
alias statements, PEP 695 generics); this rewrites them into their 3.11 spelling (plain
aliases, ``typing.Generic``), which changes no behaviour. Run it with the side
environment's python after ``pip install --no-deps --ignore-requires-python
lerobot==0.6.1`` (see make_goldens.py).
"""

import pathlib
import re

import lerobot

ROOT = pathlib.Path(lerobot.__file__).parent
#: file -> (3.12 line, its 3.11 spelling, names defined before the file's first import)
EDITS = {
    "datasets/streaming_dataset.py": [
        ("class Backtrackable[T]:", "class Backtrackable(_G[T]):", "T = _TV('T')")],
    "processor/pipeline.py": [
        ("class DataProcessorPipeline[TInput, TOutput](HubMixin):",
         "class DataProcessorPipeline(HubMixin, _G[TInput, TOutput]):",
         "TInput = _TV('TInput')\nTOutput = _TV('TOutput')")],
    "utils/io_utils.py": [
        ("def deserialize_json_into_object[T: JsonLike](fpath: Path, obj: T) -> T:",
         "def deserialize_json_into_object(fpath: Path, obj: T) -> T:", "T = _TV('T')")],
}
TYPE_ALIAS = re.compile(r"^type (\w+) = ", re.M)
FIRST_IMPORT = re.compile(r"^(import |from (?!__future__))", re.M)
for path in ROOT.rglob("*.py"):  # `type X = ...` statements: plain aliases
    text = path.read_text()
    if TYPE_ALIAS.search(text):
        path.write_text(TYPE_ALIAS.sub(r"\1 = ", text))
for rel, edits in EDITS.items():
    path = ROOT / rel
    text = path.read_text()
    for old, new, prelude in edits:
        if old in text:
            text = text.replace(old, new)
            at = FIRST_IMPORT.search(text).start()
            text = (text[:at] + "from typing import Generic as _G, TypeVar as _TV\n"
                    + prelude + "\n" + text[at:])
    path.write_text(text)
    compile(text, str(path), "exec")
print("patched", ", ".join(EDITS))

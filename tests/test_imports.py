"""The package's own imports: no import cycle, and every import names a real module.

Read from the source (the AST), not by importing: a cycle shows up whichever module a
user happens to import first, and an import inside a function is only run when that
function is. Only module-level imports (the ones run when the module is imported:
class bodies, ``try`` and ``if`` blocks included, ``if TYPE_CHECKING:`` not) can make
a cycle; imports inside functions run later, once every module is loaded, so they are
how a cycle is broken. Both kinds must name a module that exists. A cycle closed by an
import inside a function still ties two modules together, so there is none of those
either.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "spatial_vqa_ros"

#: The interface modules rosidl generates from the repository's msg/ and srv/ folders
#: (``spatial_vqa_ros.msg``, ...): installed by colcon, not in the source tree.
GENERATED = {f"{PACKAGE}.{folder}" for folder in ("msg", "srv", "action")
             if (REPO / folder).is_dir()}


@dataclass(frozen=True)
class Import:
    """One import of a module of the package: where, what, and when it runs."""

    module: str  # the importing module
    target: str  # the module imported (a submodule when ``from pkg import sub``)
    line: int
    #: "import": at module level, runs when ``module`` is imported; "call": inside a
    #: function, runs when it is called; "never": under ``if TYPE_CHECKING:``
    when: str

    @property
    def at_import(self) -> bool:
        return self.when == "import"


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` (a folder under ``root``): dotted name -> file."""
    names = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(body: list[ast.stmt], when: str):
    """(statement, when it runs: see :class:`Import`) for every statement, nested ones
    included."""
    for node in body:
        yield node, when
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _statements(node.body, "never" if when == "never" else "call")
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _statements(node.body, "never")
            yield from _statements(node.orelse, when)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                for child in getattr(node, field, None) or []:
                    inner = child.body if isinstance(child, (ast.ExceptHandler,
                                                             ast.match_case)) else [child]
                    yield from _statements(inner, when)


def imports_of(name: str, path: Path, modules: dict[str, Path], package: str) -> list[Import]:
    """The imports of modules of ``package`` made by module ``name`` (file ``path``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node, when in _statements(tree.body, "import"):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            # ``from pkg import sub`` imports the submodule; ``from pkg import name``
            # needs pkg (its __init__) to have run
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source
                       for a in node.names]
        else:
            continue
        found += [Import(name, target, node.lineno, when) for target in targets
                  if target == package or target.startswith(package + ".")]
    return found


def all_imports(root: Path, package: str) -> tuple[dict[str, Path], list[Import]]:
    modules = module_names(root, package)
    return modules, [i for name, path in modules.items()
                     for i in imports_of(name, path, modules, package)]


def cycles(edges: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """The strongly connected components of more than one module (Tarjan), each sorted;
    a module importing itself counts too."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(tuple(sorted(component)))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def import_cycles(root: Path, package: str, *, late_too: bool = False
                  ) -> list[tuple[str, ...]]:
    """The cycles among module-level imports of ``package`` under ``root``; with
    ``late_too``, those inside functions included (``if TYPE_CHECKING:`` never)."""
    _, found = all_imports(root, package)
    edges: dict[str, set[str]] = {}
    for i in found:
        if i.at_import or (late_too and i.when == "call"):
            edges.setdefault(i.module, set()).add(i.target)
    return cycles(edges)


def test_the_package_has_no_import_cycle() -> None:
    found = import_cycles(REPO, PACKAGE)
    assert found == [], (
        "these modules import each other at module level (an import of one runs into "
        "the other half-initialised); move one import into the function that needs it, "
        f"or the shared code into a module both import: {found}")


def test_no_module_imports_one_that_imports_it_back_even_inside_a_function() -> None:
    """Two such cycles were left before issue 20: ``offline/bag2dataset/sources`` imported
    ``images`` and ``hf_images`` in ``source_from_spec`` while both import ``sources``
    (the factory now has its own module, ``source_specs``), and the model registry
    imported the snapshot checks for ``resolve_model_dir``'s pull hint while they import
    the registry (``resolve_model_dir`` now lives with the snapshot checks)."""
    found = import_cycles(REPO, PACKAGE, late_too=True)
    assert found == [], (
        "these modules import each other (one of them inside a function): move what "
        f"both need into a module of its own: {found}")


def test_every_import_of_the_package_names_a_module_that_exists() -> None:
    modules, found = all_imports(REPO, PACKAGE)
    assert len(modules) > 100 and any(not i.at_import for i in found)  # it read them
    assert f"{PACKAGE}.msg" in GENERATED  # the interfaces were found
    missing = [f"{modules[i.module].relative_to(REPO)}:{i.line} imports {i.target}"
               for i in found if i.target not in modules and i.target not in GENERATED]
    assert missing == [], missing


# --- the checker on tiny packages it must judge right --------------------------------

def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for relpath, text in {"pkg/__init__.py": "", **files}.items():
        path = tmp_path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize("a_imports_b", [
    "from . import b", "from .b import thing", "import pkg.b", "from pkg import b as bee",
    "try:\n    from .b import thing\nexcept ImportError:\n    pass",
    "class A:\n    from .b import thing",
])
def test_a_module_level_cycle_is_found(tmp_path: Path, a_imports_b: str) -> None:
    root = _package(tmp_path, {"pkg/a.py": a_imports_b + "\n",
                               "pkg/b.py": "from .c import x\n",
                               "pkg/c.py": "from .a import y\n", "pkg/d.py": "from .a import y\n"})
    assert import_cycles(root, "pkg") == [("pkg.a", "pkg.b", "pkg.c")]


def test_a_cycle_through_a_package_init_and_a_parent_relative_import_is_found(tmp_path):
    root = _package(tmp_path, {"pkg/sub/__init__.py": "from .leaf import x\n",
                               "pkg/sub/leaf.py": "from ..top import y\n",
                               "pkg/top.py": "from .sub import x\n"})
    assert import_cycles(root, "pkg") == [("pkg.sub", "pkg.sub.leaf", "pkg.top")]


@pytest.mark.parametrize("a_imports_b", [
    "def f():\n    from .b import thing",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import thing",
    "import json",
])
def test_imports_run_later_or_never_make_no_cycle(tmp_path: Path, a_imports_b: str) -> None:
    root = _package(tmp_path, {"pkg/a.py": a_imports_b + "\n", "pkg/b.py": "from .a import y\n"})
    assert import_cycles(root, "pkg") == []
    modules, found = all_imports(root, "pkg")
    assert all(i.target in modules for i in found)
    late = [("pkg.a", "pkg.b")] if "def f" in a_imports_b else []
    assert import_cycles(root, "pkg", late_too=True) == late  # ...unless counted

"""The code's shape (issue 21): the import contracts in pyproject.toml hold (only the command
line imports the command line; the pure cores reach no bus, event loop, clock or process), and
no module takes part in an import circle."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def at_root() -> Iterator[None]:
    here = Path.cwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(here)


def test_the_import_contracts_hold(at_root: None) -> None:
    """`lint-imports` with the project's contracts exits 0: every contract kept."""
    config = str(ROOT / "pyproject.toml")
    assert lint_imports(config_filename=config, no_cache=True, no_logo=True) == 0


def import_circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), type-only imports
    included: a circle through `if TYPE_CHECKING:` still ties two modules together."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return circles


def test_no_module_is_part_of_an_import_circle(at_root: None) -> None:
    """Every import points one way: no two modules of services/ or schemas/ import each other,
    directly or through others."""
    assert import_circles(grimp.build_graph("services", "schemas", cache_dir=None)) == []


def test_the_circle_check_finds_a_circle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself: a package whose `a` imports `b` (for type hints only) while `b`
    imports `a` is reported as one circle."""
    package = tmp_path / "loopy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from loopy.b import B\n"
    )
    (package / "b.py").write_text("from loopy.a import TYPE_CHECKING\nclass B: ...\n")
    (package / "c.py").write_text("import loopy.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_circles(grimp.build_graph("loopy", cache_dir=None)) == [["loopy.a", "loopy.b"]]

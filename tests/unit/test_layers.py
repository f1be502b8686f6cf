"""The package's layers: every import of ``src/virtaddr`` (those inside functions too) goes
downward, the edges reach the rest only through the API, and no module imports itself back.

The layers are named in the README's "Developing" section exactly as :data:`LAYERS` lists them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "virtaddr"
README = SRC.parent / "README.md"

#: Bottom first; a module belongs to the first layer one of whose prefixes it starts with.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("errors", ("virtaddr.errors",)),
    ("alloc", ("virtaddr.alloc",)),
    ("kinds", ("virtaddr.kinds",)),
    ("xmldoc", ("virtaddr.xmldoc",)),
    ("libvirt", ("virtaddr.libvirt",)),
    ("passes", ("virtaddr.passes",)),
    (
        "features",
        (
            "virtaddr.checker",
            "virtaddr.hotplug",
            "virtaddr.topology",
            "virtaddr.profile",
            "virtaddr.compare",
        ),
    ),
    ("api", ("virtaddr.api",)),
    (
        "edges",
        (
            "virtaddr.live",
            "virtaddr.pytest_plugin",
            "virtaddr.cli",
            "virtaddr.commands",
            "virtaddr.__main__",
            "virtaddr",
        ),
    ),
)

#: What the edges may import: the API, libvirt-python's side, and each other.
EDGE_MAY_USE = ("virtaddr.api", "virtaddr.live", "virtaddr.cli", "virtaddr.commands", "virtaddr")
#: ``live`` reads a host and verifies against it: it sits on the features below the API.
EDGE_EXCEPTIONS = {"virtaddr.live"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def within(module: str, prefix: str) -> bool:
    """``module`` is ``prefix`` or inside it; the package ``virtaddr`` itself stands for its
    ``__init__`` alone."""
    return module == prefix or (prefix != "virtaddr" and module.startswith(prefix + "."))


def layer_of(module: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(within(module, p) for p in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and the README")


def imports_of(module: str, path: Path | None = None) -> Iterator[tuple[str, int]]:
    """Every virtaddr module ``module`` imports, with the line: top-level, in functions, and
    under ``TYPE_CHECKING`` alike (``from virtaddr.x import y`` names ``virtaddr.x.y`` when that
    is a module)."""
    path = MODULES[module] if path is None else path
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "virtaddr":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "virtaddr":
                continue
            for alias in node.names:
                name = f"{base}.{alias.name}"
                yield (name if name in MODULES else base), node.lineno


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_downward(module: str) -> None:
    own = layer_of(module)
    for imported, line in imports_of(module):
        assert imported in MODULES, f"{module}:{line} imports {imported}, which does not exist"
        theirs = layer_of(imported)
        assert theirs <= own, (
            f"{module}:{line} imports {imported} from the layer above "
            f"({LAYERS[own][0]} -> {LAYERS[theirs][0]})"
        )
        if LAYERS[own][0] == "edges" and module not in EDGE_EXCEPTIONS:
            assert any(within(imported, p) for p in EDGE_MAY_USE), (
                f"{module}:{line} reaches past the API into {imported}"
            )


def test_no_import_cycle() -> None:
    graph = {m: {i for i, _ in imports_of(m) if i != m} for m in MODULES}
    # A package's __init__ is imported with each of its modules; an edge to it is no cycle.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_walk_sees_imports_in_functions_and_relative_ones(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from virtaddr.errors import AddressError\n"
        "def f():\n    from virtaddr import api\n    from .. import cli\n"
        "    import virtaddr.xmldoc.splice\n"
    )
    found = [name for name, _ in imports_of("virtaddr.passes.planted", planted)]
    assert found == ["virtaddr.errors", "virtaddr.api", "virtaddr.cli", "virtaddr.xmldoc.splice"]
    assert layer_of("virtaddr.api") > layer_of("virtaddr.passes.pipeline")
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("virtaddr.unplaced")


def test_readme_names_the_layers() -> None:
    text = " ".join(README.read_text().split())
    names = [name for name, _ in LAYERS]
    arrows = " → ".join(f"`{n}`" for n in names)
    match = re.search(r"Layers, each importing only from those before it: (.*?)\.(?:\s|$)", text)
    assert match, "README's Developing section lists the layers"
    listed = re.findall(r"`([a-z_]+)`(?: \([^)]*\))?(?: →|$)", match.group(1) + " →")
    assert listed == names, f"README lists {listed}; the test checks {arrows}"

"""``virtaddr`` re-exports the API by name, and ``import virtaddr`` alone loads no lxml."""

from __future__ import annotations

import subprocess
import sys

import pytest

import virtaddr
from virtaddr import api


@pytest.mark.parametrize("name", [n for n in virtaddr.__all__ if n != "__version__"])
def test_each_public_name_is_the_api_s(name: str) -> None:
    assert name in api.__all__
    assert getattr(virtaddr, name) is getattr(api, name)


def test_every_api_name_is_public() -> None:
    assert set(api.__all__) <= set(virtaddr.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'assign_everything'"):
        virtaddr.assign_everything  # noqa: B018


def test_importing_the_package_loads_no_lxml() -> None:
    code = "import sys, virtaddr; print('lxml' in sys.modules, 'virtaddr.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_each_tool_name_loads_from_its_module() -> None:
    import importlib

    for name, module in api._TOOL_MODULES.items():
        assert getattr(api, name) is getattr(importlib.import_module(module), name), name


def test_the_type_checker_sees_every_tool_name() -> None:
    """The ``TYPE_CHECKING`` re-exports (what mypy knows) name exactly the lazily loaded ones."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(api.__file__).read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.dump(n))
    seen = {
        (node.module, alias.name)
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module != "lxml"
        for alias in node.names
    }
    assert seen == {(module, name) for name, module in api._TOOL_MODULES.items()}

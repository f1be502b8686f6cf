"""The examples in the allocator's and the kinds' docstrings are true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import virtaddr.alloc
import virtaddr.kinds

MODULES = ["virtaddr.alloc"] + [
    f"{pkg.__name__}.{m.name}"
    for pkg in (virtaddr.alloc, virtaddr.kinds)
    for m in pkgutil.iter_modules(pkg.__path__)
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"

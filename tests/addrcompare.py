"""Compare the device addresses of two domain XMLs (EXPECTED: libvirt's, ACTUAL: ours).

Two implementations behind one call, :func:`compare_files`:

* the oracle's ``compare-addresses`` script (``../shared/oracle``), loaded with importlib from its
  path (never copied here) and preferred whenever it is present;
* our own, :func:`virtaddr.compare.address_differences` (here ``own_problems``), so that a
  fresh clone without ``../shared`` still checks the golden fixtures offline. It follows the
  oracle README's pairing rules:
  controllers by ``(type, index)`` (USB companions also by ``ich9-uhciN`` model or
  ``<master startport>``), disks by ``<target dev>``, every other device by element name + its
  order among the elements of that name and kind (kind: ``type`` attribute; type + bus for
  ``<input>``; target type for chardevs; nothing for sound/video/rng/...). Addresses compare as
  numbers (any base, absent = 0, ``multifunction='off'`` = absent, USB port paths numerically);
  controllers also by model, ``<model name>`` and ``<target>`` attributes.

Both return a list of human-readable problems; empty means the addresses match.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
from functools import cache
from pathlib import Path
from types import ModuleType

from lxml import etree

from virtaddr.compare import address_differences

__all__ = ["compare_files", "load_oracle_compare", "own_problems", "problem_keys"]

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


# ---------------------------------------------------------------------------- the oracle's


@cache
def load_oracle_compare(script: Path | None) -> ModuleType | None:
    """The oracle's compare-addresses script as a module (it has no .py suffix), or None."""
    if script is None or not script.is_file():
        return None
    loader = importlib.machinery.SourceFileLoader("oracle_compare_addresses", str(script))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def oracle_problems(module: ModuleType, expected: Path, actual: Path) -> list[str]:
    rows = module.compare(module.parse(str(expected)), module.parse(str(actual)), None, True, True)
    _matched, _total, problems = module.summarise(rows)
    return [module.describe(r) for r in problems]


def compare_files(expected: Path, actual: Path, script: Path | None = None) -> list[str]:
    """Problems comparing ``actual`` against ``expected`` (controller details included).

    Uses the oracle's compare-addresses when ``script`` exists, else :func:`own_problems`.
    """
    module = load_oracle_compare(script)
    if module is not None:
        return oracle_problems(module, expected, actual)
    return own_problems(_parse(expected), _parse(actual))


# ---------------------------------------------------------------------------- our own

# The offline comparison lives in the package (the pytest plugin uses it too).
own_problems = address_differences


def _parse(path: Path) -> etree._Element:
    return etree.parse(str(path), _PARSER).getroot()


_PROBLEM = re.compile(r"(\S+)\s+(.*?)(?::| \(|$)")


def problem_keys(problems: list[str]) -> list[tuple[str, str]]:
    """(kind, device) of each problem, sorted: what both comparisons must agree on, whatever
    their wording (``missing    controller pci index=0 (...)`` and ``missing controller pci
    index=0: ...`` are both ``("missing", "controller pci index=0")``)."""
    keys = []
    for problem in problems:
        m = _PROBLEM.match(problem)
        keys.append((m.group(1), m.group(2)) if m else ("?", problem))
    return sorted(keys)

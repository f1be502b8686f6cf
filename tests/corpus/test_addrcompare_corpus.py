"""The offline comparison (``tests/addrcompare.py``) finds what the oracle's compare-addresses
finds on the whole corpus, not only on ``fixtures/``: without ``../shared`` the parity and
fixture tests rely on it.

For every case of every set with libvirt's answer: libvirt's XML against the input, the input
against libvirt's XML, and libvirt's XML against itself; both must name the same problems (kind
and device). Needs the corpus and the oracle's script (not its daemon).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from addrcompare import _parse, load_oracle_compare, oracle_problems, own_problems, problem_keys
from parity import OTHER_SETS, SETS, V113, compare_script, corpus_dir, corpus_missing_reason

pytestmark = pytest.mark.corpus

ALL_SETS = (
    *SETS,
    *OTHER_SETS,
    f"{V113}/libvirt-tests",
    f"{V113}/libvirt-xml2xml",
    f"{V113}/generated",
    f"{V113}/other-arches/libvirt-tests",
    f"{V113}/other-arches/libvirt-xml2xml",
)


def _cases(set_name: str) -> list[Path]:
    base = corpus_dir() / set_name
    return sorted(c for c in base.iterdir() if (c / "libvirt.xml").is_file())


@pytest.mark.parametrize("set_name", ALL_SETS)
def test_own_comparison_agrees_with_oracle_on_the_corpus(set_name: str) -> None:
    if corpus_missing_reason() or not (corpus_dir() / set_name).is_dir():
        pytest.skip(f"{set_name} not in the corpus at {corpus_dir()}")
    module = load_oracle_compare(compare_script())
    if module is None:
        pytest.skip("oracle compare-addresses not found: set VIRTADDR_ORACLE")
    disagreements = []
    for case in _cases(set_name):
        expected, given = case / "libvirt.xml", case / "input.xml"
        for a, b in ((expected, given), (given, expected), (expected, expected)):
            theirs = problem_keys(oracle_problems(module, a, b))
            ours = problem_keys(own_problems(_parse(a), _parse(b)))
            if ours != theirs:
                disagreements.append(f"{case.name} {a.name} vs {b.name}:\n  {theirs}\n  {ours}")
    assert not disagreements, f"{len(disagreements)} disagree:\n" + "\n".join(disagreements[:10])

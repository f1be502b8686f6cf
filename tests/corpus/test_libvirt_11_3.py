"""Corpus parity for libvirt 11.3: ``assign --libvirt 11.3`` must give libvirt 11.3's answers.

The cases are ``$CORPUS/libvirt-11.3/`` (its README): libvirt 11.3's own tests
(``libvirt-tests``, ``libvirt-xml2xml``, ``other-arches/...``), the generated set, the 9.0 cases
listed in ``SAME-AS-9.0.tsv`` (held to their 9.0 answer) and the ``libvirt-errors`` sets (exit 1
with 11.3's message, nothing written). The whole batch runs once per session through
``parity.run_parity`` (each set with the version whose answers it holds); each case is one test.
The same report from the command line: ``tests/parity.py --libvirt 11.3``.

Every case passes: the machines of libvirt's tests that virtaddr once refused (isapc,
versatilepb, realview, powernv, mac99) are handled as libvirt 11.3 handles them.
"""

from __future__ import annotations

import pytest

from parity import (
    V113,
    V113_ERROR_SETS,
    V113_SETS,
    CaseResult,
    corpus_cases,
    corpus_dir,
    corpus_missing_reason,
    run_parity,
    set_present,
)

pytestmark = pytest.mark.corpus

SETS = V113_SETS + V113_ERROR_SETS


def _present() -> list[str]:
    if corpus_missing_reason():
        return []
    return [s for s in SETS if set_present(corpus_dir(), s)]


def _case_ids() -> list[str]:
    ids = [f"{s}/{name}" for s in _present() for name, _ in corpus_cases(corpus_dir(), s)]
    return ids or ["no-corpus"]


@pytest.fixture(scope="session")
def parity_11_3(corpus) -> dict[str, CaseResult]:  # type: ignore[no-untyped-def]
    import virtaddr.cli  # noqa: F401 -- a missing pass is an error here, not 1,200 failures

    return {r.case_id: r for r in run_parity(corpus, sets=_present())}


@pytest.mark.parametrize("case_id", _case_ids())
def test_parity_libvirt_11_3(case_id: str, parity_11_3: dict[str, CaseResult]) -> None:
    if case_id == "no-corpus":
        pytest.skip(f"{V113} not in the corpus at {corpus_dir()}")
    result = parity_11_3[case_id]
    assert result.ok, f"{case_id} [{result.family}]:\n{result.explain()}"

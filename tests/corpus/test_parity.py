"""Corpus parity: our assign must give libvirt's addresses for every corpus case.

The whole batch (both sets, ~566 cases) runs once per session through ``parity.run_parity``
(our CLI in-process, then the oracle's compare-addresses once per set); each case is one test.
The same report from the command line: ``.venv/bin/python tests/parity.py``.
"""

from __future__ import annotations

import pytest

from parity import SETS, CaseResult, corpus_cases, corpus_dir, corpus_missing_reason, run_parity

pytestmark = pytest.mark.corpus


def _case_ids() -> list[str]:
    if corpus_missing_reason():
        return ["no-corpus"]  # a single item, skipped by conftest with the reason
    return [f"{s}/{name}" for s in SETS for name, _ in corpus_cases(corpus_dir(), s)]


@pytest.fixture(scope="session")
def parity_results(corpus) -> dict[str, CaseResult]:
    import virtaddr.cli  # noqa: F401 -- a missing pass is an error here, not 566 failures

    return {r.case_id: r for r in run_parity(corpus)}


@pytest.mark.parametrize("case_id", _case_ids())
def test_parity(case_id: str, parity_results: dict[str, CaseResult]) -> None:
    result = parity_results[case_id]
    assert result.ok, f"{case_id} [{result.family}]:\n{result.explain()}"

"""Other guest architectures (aarch64/armv7l/riscv64 virt, vexpress-a9, ppc64 pseries, s390x):
corpus parity, libvirt's rejections, and the fixpoint on libvirt's own output.

The cases are ``$CORPUS/other-arches/{libvirt-tests,libvirt-xml2xml,libvirt-errors}``. Parity runs
once per session through ``parity.run_parity`` (our CLI in-process, then compare-addresses
--controller-details once per set); each case is one test. The same report from the command
line: ``.venv/bin/python tests/parity.py --set other-arches/libvirt-tests
--set other-arches/libvirt-xml2xml``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from addrcompare import compare_files
from parity import (
    OTHER_SETS,
    CaseResult,
    compare_script,
    corpus_cases,
    corpus_dir,
    corpus_missing_reason,
    run_parity,
)

pytestmark = pytest.mark.corpus

ERRORS = "other-arches/libvirt-errors"
# libvirt itself is no fixpoint here: defining its libvirt.xml again gives the pci-bridge it had
# auto-added (and left without zPCI ids) uid 0x0002 fid 0x00000001, as ours does (checked with
# the oracle's libvirt-assign on libvirt.xml).
NOT_A_FIXPOINT = {"hostdev-vfio-zpci-boundaries"}


def _present(set_name: str) -> bool:
    return not corpus_missing_reason() and (corpus_dir() / set_name).is_dir()


def _case_ids() -> list[str]:
    ids = [
        f"{s}/{name}"
        for s in OTHER_SETS
        if _present(s)
        for name, _ in corpus_cases(corpus_dir(), s)
    ]
    return ids or ["no-corpus"]


def _names(set_name: str, file: str) -> list[str]:
    if not _present(set_name):
        return ["no-corpus"]
    base = corpus_dir() / set_name
    return sorted(p.name for p in base.iterdir() if (p / file).is_file())


def _skip_if_absent(set_name: str) -> None:
    if not _present(set_name):
        pytest.skip(f"{set_name} not in the corpus at {corpus_dir()}")


@pytest.fixture(scope="session")
def other_parity(corpus: Path) -> dict[str, CaseResult]:
    import virtaddr.cli  # noqa: F401 -- a missing pass is an error here, not 144 failures

    sets = [s for s in OTHER_SETS if _present(s)]
    return {r.case_id: r for r in run_parity(corpus, sets=sets)}


@pytest.mark.parametrize("case_id", _case_ids())
def test_parity_other_arches(case_id: str, other_parity: dict[str, CaseResult]) -> None:
    if case_id == "no-corpus":
        pytest.skip("other-arches sets not in the corpus")
    result = other_parity[case_id]
    assert result.ok, f"{case_id} [{result.family}]:\n{result.explain()}"


@pytest.mark.parametrize("name", _names(ERRORS, "input.xml"))
def test_rejected_like_libvirt_other_arches(name: str, corpus: Path, tmp_path: Path) -> None:
    from virtaddr.cli import main

    _skip_if_absent(ERRORS)
    case = corpus / ERRORS / name
    out = tmp_path / "out.xml"
    message = (case / "libvirt-error.txt").read_text().strip()
    code = main(["assign", "--libvirt", "9.0", str(case / "input.xml"), "-o", str(out)])
    assert code == 1, f"exit {code}, expected 1; libvirt says: {message}"
    assert not out.exists(), "a rejected domain must not be written out"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="libvirt is no fixpoint here"))
        if n in NOT_A_FIXPOINT
        else n
        for n in _names("other-arches/libvirt-tests", "libvirt.xml")
    ],
)
def test_libvirt_output_is_a_fixpoint_other_arches(name: str, corpus: Path, tmp_path: Path) -> None:
    from virtaddr.cli import main

    _skip_if_absent("other-arches/libvirt-tests")
    src = corpus / "other-arches/libvirt-tests" / name / "libvirt.xml"
    out = tmp_path / f"{name}.xml"
    code = main(["assign", "--libvirt", "9.0", str(src), "-o", str(out)])
    assert code == 0, f"assign rejected libvirt's own output (exit {code})"
    problems = compare_files(src, out, compare_script())
    assert not problems, "assign changed libvirt's output:\n" + "\n".join(problems)

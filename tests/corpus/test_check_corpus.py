"""``virtaddr check`` against libvirt's verdicts: every rejected case is an error, no accepted
case has one (warnings are allowed), and the recorded fixtures agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity import FIXTURES_DIR, corpus_dir, corpus_missing_reason
from virtaddr.checker import CheckResult, check_tree
from virtaddr.passes.versions import LIBVIRT_9_0
from virtaddr.xmldoc import xmlio


def _check(path: Path) -> CheckResult:
    doc = xmlio.read_document(str(path))
    return check_tree(doc.tree, source=str(path), rules=LIBVIRT_9_0)


def _cases(family: str) -> list[str]:
    base = corpus_dir() / family
    if corpus_missing_reason() or not base.is_dir():
        return ["no-corpus"]
    return sorted(p.name for p in base.iterdir() if (p / "input.xml").is_file())


@pytest.mark.corpus
@pytest.mark.parametrize("name", _cases("libvirt-errors"))
def test_rejected_case_is_an_error(name: str, corpus: Path) -> None:
    case = corpus / "libvirt-errors" / name
    result = _check(case / "input.xml")
    message = (case / "libvirt-error.txt").read_text().strip()
    assert result.errors, f"no error reported; libvirt says: {message}"


@pytest.mark.corpus
@pytest.mark.parametrize("family", ["libvirt-tests", "libvirt-xml2xml"])
def test_accepted_cases_have_no_error(family: str, corpus: Path) -> None:
    found = []
    for case in sorted((corpus / family).iterdir()):
        for name in ("input.xml", "libvirt.xml"):  # what libvirt accepted, and what it stored
            if (case / name).is_file():
                found += [p.format() for p in _check(case / name).errors]
    assert not found, "\n".join(found)


def _fixtures() -> list[str]:
    return sorted(p.name[: -len(".in.xml")] for p in FIXTURES_DIR.glob("*.in.xml"))


@pytest.mark.parametrize("name", _fixtures())
def test_fixture_verdict(name: str) -> None:
    result = _check(FIXTURES_DIR / f"{name}.in.xml")
    rejected = (FIXTURES_DIR / f"{name}.err").is_file()
    if rejected:
        assert result.errors, (
            f"libvirt rejects {name}: {(FIXTURES_DIR / f'{name}.err').read_text()}"
        )
    else:
        assert not result.errors, "\n".join(p.format() for p in result.errors)

"""Rejections: every ``libvirt-errors`` case must make our assign exit 1 with libvirt's message
(less virsh's category) and write nothing.

Exit 1 means "libvirt would reject this domain for an address reason"; 0 (accepted) and 2
(unusable input) are both wrong, and so is an exception escaping ``main``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from parity import corpus_dir, corpus_missing_reason, libvirt_text

pytestmark = pytest.mark.corpus


def _cases() -> list[str]:
    base = corpus_dir() / "libvirt-errors"
    if corpus_missing_reason() or not base.is_dir():
        return ["no-corpus"]
    return sorted(p.name for p in base.iterdir() if (p / "input.xml").is_file())


@pytest.mark.parametrize("name", _cases())
def test_rejected_like_libvirt(
    name: str, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from virtaddr.cli import main

    case = corpus / "libvirt-errors" / name
    out = tmp_path / "out.xml"
    message = (case / "libvirt-error.txt").read_text().strip()
    code = main(["assign", "--libvirt", "9.0", str(case / "input.xml"), "-o", str(out)])
    assert code == 1, f"exit {code}, expected 1; libvirt says: {message}"
    assert not out.exists(), "a rejected domain must not be written out"
    assert libvirt_text(message) in capsys.readouterr().err

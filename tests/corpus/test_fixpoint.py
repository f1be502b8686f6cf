"""Fixpoint: assign on libvirt's own output (``libvirt-tests/NAME/libvirt.xml``) changes nothing.

libvirt is a fixpoint on its own output; ours must be too: every address and controller of
libvirt.xml survives our assign unchanged (compare-addresses with --controller-details passes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from addrcompare import compare_files
from parity import compare_script, corpus_dir, corpus_missing_reason

pytestmark = pytest.mark.corpus


def _cases() -> list[str]:
    if corpus_missing_reason():
        return ["no-corpus"]
    base = corpus_dir() / "libvirt-tests"
    return sorted(p.name for p in base.iterdir() if (p / "libvirt.xml").is_file())


@pytest.mark.parametrize("name", _cases())
def test_libvirt_output_is_a_fixpoint(name: str, corpus: Path, tmp_path: Path) -> None:
    from virtaddr.cli import main

    src = corpus / "libvirt-tests" / name / "libvirt.xml"
    out = tmp_path / f"{name}.xml"
    code = main(["assign", "--libvirt", "9.0", str(src), "-o", str(out)])
    assert code == 0, f"assign rejected libvirt's own output (exit {code})"
    problems = compare_files(src, out, compare_script())
    assert not problems, "assign changed libvirt's output:\n" + "\n".join(problems)

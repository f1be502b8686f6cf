"""``assign`` rejects what libvirt's device validation rejects, with libvirt's message.

The cases are golden fixtures recorded from the live libvirt by ``tests/oracle/record_fixtures.py``
(``pc-reject-fit-*``: an address type that does not fit its device; two smartcards at ccid 0:0;
two that pin the stage: a USB misfit is a parse error, before a PCI double use, the others come
after it). ``tests/test_fixtures.py`` checks the exit status; this checks the message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from virtaddr.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CASES = sorted(
    p.name[: -len(".err")]
    for pattern in ("pc-reject-fit-*.err", "pc-reject-two-smartcards-*.err")
    for p in FIXTURES.glob(pattern)
)


def test_the_cases_are_there() -> None:
    assert len(CASES) == 16, CASES


@pytest.mark.parametrize("name", CASES)
def test_assign_gives_libvirts_message(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    category, _, libvirt_says = (FIXTURES / f"{name}.err").read_text().strip().partition(": ")
    assert category in ("XML error", "internal error", "unsupported configuration")
    out = tmp_path / "out.xml"
    assert (
        main(["assign", "--libvirt", "9.0", str(FIXTURES / f"{name}.in.xml"), "-o", str(out)]) == 1
    )
    assert not out.exists()
    lines = capsys.readouterr().err.splitlines()
    assert lines and lines[0].endswith(f": {libvirt_says}"), lines

"""Golden fixtures ``fixtures/NAME.in.xml``, recorded from libvirt by oracle/record_fixtures.py.

``NAME.out.xml`` is libvirt's answer: our assign must give the same addresses and controllers.
``NAME.err`` holds libvirt's rejection: our assign must exit 1 with libvirt's message as its first
problem and write nothing.
No libvirt is needed: the comparison uses the oracle's compare-addresses when ``../shared`` is
present and ``tests/addrcompare.py`` otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from addrcompare import _parse, compare_files, load_oracle_compare, oracle_problems, own_problems
from parity import FIXTURES_DIR, compare_script, libvirt_text


def _names() -> list[str]:
    return sorted(p.name[: -len(".in.xml")] for p in FIXTURES_DIR.glob("*.in.xml"))


NAMES = _names()


def test_every_fixture_has_one_answer() -> None:
    assert NAMES, f"no fixtures in {FIXTURES_DIR}"
    for name in NAMES:
        answers = [p.name for p in (FIXTURES_DIR / f"{name}.out.xml", FIXTURES_DIR / f"{name}.err")
                   if p.is_file()]  # fmt: skip
        assert len(answers) == 1, f"{name}: want exactly one of .out.xml/.err, found {answers}"


@pytest.mark.parametrize("name", NAMES)
def test_fixture(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from virtaddr.cli import main

    src = FIXTURES_DIR / f"{name}.in.xml"
    out = tmp_path / f"{name}.xml"
    err = FIXTURES_DIR / f"{name}.err"
    code = main(["assign", "--libvirt", "9.0", str(src), "-o", str(out)])
    if err.is_file():
        message = err.read_text().strip()
        assert code == 1, f"exit {code}, expected 1; libvirt says: {message}"
        assert not out.exists(), "a rejected domain must not be written out"
        first = (capsys.readouterr().err.splitlines() or [""])[0]
        assert libvirt_text(message) in first, "libvirt stops at its first problem: ours too"
        return
    assert code == 0, f"assign exited {code}; libvirt accepts {name}"
    problems = compare_files(FIXTURES_DIR / f"{name}.out.xml", out, compare_script())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", [n for n in NAMES if (FIXTURES_DIR / f"{n}.out.xml").is_file()])
def test_own_comparison_agrees_with_oracle(name: str) -> None:
    """addrcompare's offline comparison finds what the oracle's finds (input vs libvirt)."""
    module = load_oracle_compare(compare_script())
    if module is None:
        pytest.skip("oracle compare-addresses not found: set VIRTADDR_ORACLE")
    expected, given = FIXTURES_DIR / f"{name}.out.xml", FIXTURES_DIR / f"{name}.in.xml"
    for a, b in ((expected, given), (given, expected), (expected, expected)):
        theirs = oracle_problems(module, a, b)
        ours = own_problems(_parse(a), _parse(b))
        assert len(ours) == len(theirs), f"{a.name} vs {b.name}:\n{theirs}\n---\n{ours}"

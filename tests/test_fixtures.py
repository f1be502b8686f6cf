"""Golden fixtures ``NAME.in.xml``, recorded from libvirt by oracle/record_fixtures.py.

Each answer is held to the libvirt version that gave it (``fixtures/README.md``): ``fixtures/``
holds libvirt 9.0's answers, ``fixtures/libvirt-11.3/`` libvirt 11.3's; our assign runs with
that version's ``--libvirt``.
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
from parity import ORACLE_VERSIONS, compare_script, fixture_param, fixtures_dir, libvirt_text


def _names(libvirt: str) -> list[str]:
    return sorted(p.name[: -len(".in.xml")] for p in fixtures_dir(libvirt).glob("*.in.xml"))


CASES = [(v, n) for v in ORACLE_VERSIONS for n in _names(v)]

# Recorded answers ours does not give yet, each with why; strict: a fix makes the test fail
# until its line is removed.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}


def test_known_differences_are_fixtures() -> None:
    assert not set(KNOWN_DIFFERENCES) - set(CASES)


@pytest.mark.parametrize("libvirt", ORACLE_VERSIONS)
def test_every_fixture_has_one_answer(libvirt: str) -> None:
    folder = fixtures_dir(libvirt)
    names = _names(libvirt)
    assert names, f"no fixtures in {folder}"
    for name in names:
        answers = [p.name for p in (folder / f"{name}.out.xml", folder / f"{name}.err")
                   if p.is_file()]  # fmt: skip
        assert len(answers) == 1, f"{name}: want exactly one of .out.xml/.err, found {answers}"
    strays = [p.name for p in folder.glob("*.out.xml") if not (folder / p.name.replace(
        ".out.xml", ".in.xml")).is_file()]  # fmt: skip
    assert not strays, f"answers without an input in {folder}: {strays}"


@pytest.mark.parametrize(
    ("libvirt", "name"), [fixture_param(v, n, KNOWN_DIFFERENCES) for v, n in CASES]
)
def test_fixture(
    libvirt: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from virtaddr.cli import main

    folder = fixtures_dir(libvirt)
    src = folder / f"{name}.in.xml"
    out = tmp_path / f"{name}.xml"
    err = folder / f"{name}.err"
    code = main(["assign", "--libvirt", libvirt, str(src), "-o", str(out)])
    if err.is_file():
        message = err.read_text().strip()
        assert code == 1, f"exit {code}, expected 1; libvirt {libvirt} says: {message}"
        assert not out.exists(), "a rejected domain must not be written out"
        first = (capsys.readouterr().err.splitlines() or [""])[0]
        assert libvirt_text(message) in first, "libvirt stops at its first problem: ours too"
        return
    assert code == 0, f"assign exited {code}; libvirt {libvirt} accepts {name}"
    problems = compare_files(folder / f"{name}.out.xml", out, compare_script())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("libvirt", "name"),
    [
        pytest.param(v, n, id=str(fixtures_dir(v).relative_to(fixtures_dir("9.0")) / n))
        for v, n in CASES
        if (fixtures_dir(v) / f"{n}.out.xml").is_file()
    ],
)
def test_own_comparison_agrees_with_oracle(libvirt: str, name: str) -> None:
    """addrcompare's offline comparison finds what the oracle's finds (input vs libvirt)."""
    module = load_oracle_compare(compare_script())
    if module is None:
        pytest.skip("oracle compare-addresses not found: set VIRTADDR_ORACLE")
    folder = fixtures_dir(libvirt)
    expected, given = folder / f"{name}.out.xml", folder / f"{name}.in.xml"
    for a, b in ((expected, given), (given, expected), (expected, expected)):
        theirs = oracle_problems(module, a, b)
        ours = own_problems(_parse(a), _parse(b))
        assert len(ours) == len(theirs), f"{a.name} vs {b.name}:\n{theirs}\n---\n{ours}"
